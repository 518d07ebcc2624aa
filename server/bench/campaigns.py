"""``everturn bench campaigns``: thousands of campaigns on durable timers, mostly passivated.

A shard holds its share of ``campaigns`` campaigns (10,000 by default) on a real RocksDB store and a
virtual clock, keeps only 5% of them in memory (the runtime's LRU passivation,
``max_active``) and moves game time forward ``days`` simulated days in steps of one hour
with ``TimerService.advance``, so every enforcement timer fires in due order while
scripted players and GMs post in a seeded few of the campaigns each hour:

- ``sim_days_per_s``: simulated days per second of wall time over the advance phase
  (timers fired, the scripted commands, every activation and passivation they cause).
- ``timer_lag_ms_p50`` / ``timer_lag_ms_p99``: per fired timer, the wall time from the
  moment the virtual clock reached its due time (or the timer was scheduled, when that was
  later) to the moment its actor had handled it (``TimerFired``'s events durable, or the
  delivery found stale).  In virtual time the lag is
  zero by construction; this is what a timer would wait in a real-time server under the
  same load.
- ``rss_mb``: the peak resident set size (``ru_maxrss``), summed over the shards.

With ``--shards N`` (default: one per core, as ``everturn serve`` runs) the campaigns are
placed as the server places them (``snapshots.layout.shard_of``), and each shard is a
process with its own store, runtime and virtual clock. Every shard plans the whole world
from the seed and plays its own campaigns' part of it, so what the campaigns do does not
depend on the shard count (the same events, the same timers). The shards start playing
together; a run takes as long as its slowest shard.

Campaigns are created in waves of ``WAVE`` at one virtual instant, the waves spread over
the first ``CREATION_HOURS`` of game time, so up to a wave's campaigns share a due time
(a burst the timer service delivers at once). Everything the players and GMs do comes
from one ``random.Random(seed)``, planned before the clock starts moving.
"""
from __future__ import annotations

import gc
import multiprocessing
import os
import random
import resource
import shutil
import sys
import tempfile
import time
from array import array
from bisect import bisect_left
from collections.abc import Callable, Iterator
from concurrent.futures import ProcessPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

import orjson
import trio

from snapshots import Store, Timer
from snapshots.layout import default_shards, shard_of

from actors.runtime import VirtualClock, to_ms
from actors.kinds import game_kinds
from actors.messages import Command
from actors.runtime import Runtime, RuntimeConfig, open_runtime
from actors.campaign.messages import CreateCampaign, FollowUp, JoinCampaign, PostAction, PostNarration, ScheduleOrder, SetDeadline
from actors.campaign.state import HOUR, Character, Saves
from server.serve import tune_collector

WAVE = 25                # campaigns created concurrently, at one virtual instant
CREATION_HOURS = 11.0    # waves spread over this much game time: less than the first enforcement (12 h)
ACTIVITY = 0.04          # chance per campaign per simulated hour that someone posts (about once a day)
ACTIVE_SHARE = 0.05      # default max_active: this share of the campaigns stays in memory
NAMES = ("ayla", "bram", "cora", "dax")
STORY = ("I search the shrine", "I keep watch", "I ask the ferryman", "I follow the tracks")
NARRATION = ("The fog lifts from the marsh.", "A bell tolls across the water.", "The door gives way.")

Step = tuple[str, Command, dict[str, Any]]  # address, command, principal


# -- the script: every command the players and GMs send, planned from the seed --------------

def _character(name: str, perception: int) -> Character:
    return Character(name=name.title(), level=3, max_hp=40, hp=40, ac=19,
                     saves=Saves(fortitude=8, reflex=9, will=6), perception=perception, skills={"athletics": 9})


CHARACTERS = {name: _character(name, 7 + i) for i, name in enumerate(NAMES)}


def _gm(cid: str) -> dict[str, Any]:
    return {"token_id": f"gm-{cid}", "role": "gm", "campaign": cid}


def _player(cid: str, name: str) -> dict[str, Any]:
    return {"token_id": f"tok-{cid}-{name}", "role": "player", "campaign": cid, "character": name}


@dataclass
class _Table:
    """One campaign as the script sees it: who plays, and the ids it has used."""

    cid: str
    players: tuple[str, ...]
    deadlines: int = 0
    orders: int = 0

    @property
    def address(self) -> str:
        return f"campaign/{self.cid}"

    def deadline(self, rng: random.Random, low: float, high: float) -> Step:
        self.deadlines += 1
        return (self.address, SetDeadline(deadline_id=f"d{self.deadlines}", in_hours=_minutes(rng, low, high),
                                          consequence="The ritual completes."), _gm(self.cid))

    def order(self, rng: random.Random, low: float, high: float) -> Step:
        self.orders += 1
        follow_ups = tuple(FollowUp(after_hours=6.0 * k, text=f"Word spreads ({k}).")
                           for k in range(1, rng.randint(0, 2) + 1))
        return (self.address, ScheduleOrder(order_id=f"o{self.orders}", in_hours=_minutes(rng, low, high),
                                            text="The caravan leaves at dawn.", follow_ups=follow_ups), _gm(self.cid))

    def action(self, rng: random.Random) -> Step:
        name = rng.choice(self.players)
        return self.address, PostAction(text=rng.choice(STORY)), _player(self.cid, name)

    def narration(self, rng: random.Random) -> Step:
        return self.address, PostNarration(text=rng.choice(NARRATION)), _gm(self.cid)


def _minutes(rng: random.Random, low: float, high: float) -> float:
    """Hours between ``low`` and ``high``, in whole minutes."""
    return round(rng.uniform(low, high) * 60) / 60


def _opening(table: _Table, rng: random.Random) -> list[Step]:
    """Create, join, and maybe a deadline, an order and a first action: all in order."""
    steps: list[Step] = [(table.address, CreateCampaign(title=f"Campaign {table.cid}"), _gm(table.cid))]
    steps += [(table.address, JoinCampaign(character=CHARACTERS[name]), _player(table.cid, name))
              for name in table.players]
    if rng.random() < 0.5:
        steps.append(table.deadline(rng, 12, 72))  # nothing falls due while the waves are created
    if rng.random() < 0.3:
        steps.append(table.order(rng, 12, 96))
    if rng.random() < 0.5:
        steps.append(table.action(rng))
    return steps


def _hour(tables: list[_Table], rng: random.Random) -> list[tuple[int, list[Step]]]:
    """One simulated hour of play: (minute, commands to different campaigns), by minute."""
    acting = rng.sample(range(len(tables)), min(len(tables), int(len(tables) * ACTIVITY + rng.random())))
    minutes: dict[int, list[Step]] = {}
    for n in acting:
        table, roll = tables[n], rng.random()
        if roll < 0.6:
            step = table.action(rng)
        elif roll < 0.85:
            step = table.narration(rng)
        elif roll < 0.95:
            step = table.deadline(rng, 6, 48)
        else:
            step = table.order(rng, 6, 48)
        minutes.setdefault(rng.randrange(60), []).append(step)
    return sorted(minutes.items())


# -- measuring -------------------------------------------------------------------------

class _WatchedClock(VirtualClock):
    """A virtual clock that notes the wall time (perf_counter) at which each reading was reached."""

    def __init__(self) -> None:
        super().__init__()
        self.reached_ms = array("q")
        self.reached_at = array("d")

    def set(self, when: float) -> float:
        now = super().set(when)
        ms = to_ms(now)
        if not self.reached_ms or ms > self.reached_ms[-1]:
            self.reached_ms.append(ms)
            self.reached_at.append(time.perf_counter())
        return now

    def reached(self, due_ms: int) -> float:
        """Wall time at which the clock first read ``due_ms`` or later."""
        return self.reached_at[bisect_left(self.reached_ms, due_ms)]


@dataclass
class _FireLag:
    """Wall-clock lag of each handled timer, measured from outside the timer service.

    ``TimerService.done`` is what an actor calls once a delivered timer is handled (after
    its write is durable); the service keeps no wall times of its own, so this wraps
    ``done`` on the one runtime instance under test. A timer scheduled at a due time already
    past (a campaign found quiet for three days only once its last player went inactive) is
    due the moment it is scheduled: its lag counts from then (``put_timer`` is wrapped too).
    """

    clock: _WatchedClock
    lags_ms: array = field(default_factory=lambda: array("d"))
    recording: bool = False

    def attach(self, runtime: Runtime) -> None:
        done, put_timer = runtime.timers.done, runtime.store.put_timer
        scheduled_ms: dict[str, int] = {}  # timer id -> virtual time it was scheduled at, while stored

        def timed_put(batch: Any, timer: Timer) -> None:
            scheduled_ms[timer.id] = to_ms(self.clock.now())
            put_timer(batch, timer)

        def timed_done(timer: Timer, redeliver: bool = False) -> None:
            if not redeliver:
                due_ms = max(timer.due_ms, scheduled_ms.pop(timer.id, timer.due_ms))
                if self.recording:
                    self.lags_ms.append((time.perf_counter() - self.clock.reached(due_ms)) * 1000.0)
            done(timer, redeliver)

        runtime.timers.done = timed_done  # type: ignore[method-assign]
        runtime.store.put_timer = timed_put  # type: ignore[method-assign]


def _rss_now_mb() -> float:
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def _peak_rss_mb() -> float:
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / 2**20 if sys.platform == "darwin" else peak / 1024  # bytes on macOS, KiB on Linux


def _dir_bytes(path: Path) -> int:
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file())


def _events(store: Store, tables: list[_Table]) -> int:
    return sum(store.last_seq(table.address) for table in tables)


async def _send(runtime: Runtime, steps: list[Step]) -> None:
    """Each step in order, one at a time (one campaign's commands)."""
    for address, command, by in steps:
        await runtime.ask(address, command, by=by)


async def _create(runtime: Runtime, clock: _WatchedClock, waves: list[list[list[Step]]]) -> None:
    """Each wave's campaigns at one virtual instant, the waves spread over ``CREATION_HOURS``."""
    for wave in waves:
        async with trio.open_nursery() as nursery:
            for steps in wave:
                nursery.start_soon(_send, runtime, steps)
        await runtime.timers.advance(clock, CREATION_HOURS * HOUR / len(waves))


async def _play(runtime: Runtime, clock: _WatchedClock, script: list[list[tuple[int, list[Step]]]]) -> int:
    """Move the clock through every scripted hour, posting at each scripted minute; commands sent."""
    start, sent = clock.now(), 0

    async def advance_to(when: float) -> None:
        await runtime.timers.advance(clock, max(0.0, when - clock.now()))

    for hour, minutes in enumerate(script):
        for minute, steps in minutes:
            await advance_to(start + hour * HOUR + minute * 60)
            async with trio.open_nursery() as nursery:
                for step in steps:
                    nursery.start_soon(_send, runtime, [step])
            sent += len(steps)
        await advance_to(start + (hour + 1) * HOUR)
    return sent


@dataclass
class _Shard:
    """What one shard (one process, its own store and clock) measured."""

    campaigns: int
    max_active: int
    creation_s: float
    creation_commands: int
    play_s: float
    lags_ms: array
    timers_fired: int
    scripted_commands: int
    events_written: int
    events_total: int
    activations: int
    commit_writes: int
    active_at_end: int
    loop_lag_ms_max: float
    loop_lag_ms_p99: float
    rss_mb_peak: float
    rss_mb_after_creation: float
    rss_mb_now: float
    disk_bytes: int


async def play_shard(campaigns: int, hours: int, root: Path, seed: int, shard: int = 0, shards: int = 1,
                     max_active: int | None = None, go: Callable[[], object] | None = None) -> _Shard:
    """Create shard ``shard``'s share of ``campaigns`` (``shard_of``, as ``everturn serve --shards``
    places them) in a store at ``root``, then play ``hours`` simulated hours.

    Every shard plans the whole world from ``seed`` and keeps its own campaigns' commands, so
    the commands do not depend on the shard count. ``go`` (blocking; run in a thread) is
    called between creation and play: the shards of one run start playing together.
    """
    rng = random.Random(seed)
    tables = [_Table(f"b{n:05d}", tuple(NAMES[:rng.randint(2, 4)])) for n in range(campaigns)]
    openings = [_opening(table, rng) for table in tables]
    script = [_hour(tables, rng) for _ in range(hours)]
    waves = [openings[w:w + WAVE] for w in range(0, len(openings), WAVE)]  # the world's, whatever the shards
    if shards > 1:
        tables = [table for table in tables if shard_of(table.address, shards) == shard]
        ours = {table.address for table in tables}
        waves = [[steps for steps in wave if steps[0][0] in ours] for wave in waves]
        script = [[(minute, kept) for minute, steps in hour if (kept := [s for s in steps if s[0] in ours])]
                  for hour in script]
    max_active = max_active or max(10, int(len(tables) * ACTIVE_SHARE))

    clock = _WatchedClock()
    lag = _FireLag(clock)
    thresholds = gc.get_threshold()
    tune_collector()  # as ``everturn serve`` runs (the script, planned above, is frozen with the modules)
    try:
        store = Store.open(root)
        try:
            async with open_runtime(store, game_kinds(), clock=clock, config=RuntimeConfig(max_active=max_active)) as rt:
                lag.attach(rt)
                started = time.perf_counter()
                await _create(rt, clock, waves)
                creation_s = time.perf_counter() - started
                events_created = _events(store, tables)
                rss_created = _rss_now_mb()
                fired, activations = rt.timers.fired, rt.activations
                writes, rt.lag.max_ms = rt.commits.stats.writes, 0.0
                if go is not None:
                    await trio.to_thread.run_sync(go)

                lag.recording = True
                started = time.perf_counter()
                commands = await _play(rt, clock, script)
                play_s = time.perf_counter() - started
                lag.recording = False

                active = sum(1 for address in rt.cells if address.startswith("campaign/"))
                figures = rt.figures()
                rss_end = _rss_now_mb()
                loop_lag_max, loop_lag_p99 = rt.lag.max_ms, rt.lag.p99_ms()
            events = _events(store, tables)
            store.flush()  # what lives on disk, not the write-ahead log of every write
        finally:
            store.close()
    finally:
        gc.unfreeze()  # the caller's process collects as before
        gc.set_threshold(*thresholds)
    return _Shard(
        campaigns=len(tables), max_active=max_active, creation_s=creation_s,
        creation_commands=sum(len(steps) for wave in waves for steps in wave), play_s=play_s, lags_ms=lag.lags_ms,
        timers_fired=figures["timers_fired"] - fired, scripted_commands=commands,
        events_written=events - events_created, events_total=events,
        activations=figures["activations"] - activations, commit_writes=figures["commit_writes"] - writes,
        active_at_end=active, loop_lag_ms_max=loop_lag_max, loop_lag_ms_p99=loop_lag_p99,
        rss_mb_peak=_peak_rss_mb(), rss_mb_after_creation=rss_created, rss_mb_now=rss_end, disk_bytes=_dir_bytes(root))


def _percentile(values: list[float], q: float) -> float:
    return values[min(len(values) - 1, int(q * len(values)))] if values else 0.0


def report(parts: list[_Shard], hours: int, seed: int) -> dict[str, Any]:
    """The figures of a run from its shards' measurements (each shard played the same hours
    from a common start, so the run took as long as its slowest shard)."""
    lags = sorted(lag for part in parts for lag in part.lags_ms)
    play_s = max(part.play_s for part in parts)
    campaigns = sum(part.campaigns for part in parts)
    total = {key: sum(getattr(part, key) for part in parts)
             for key in ("max_active", "creation_commands", "timers_fired", "scripted_commands", "events_written",
                         "events_total", "activations", "commit_writes", "active_at_end")}
    return {
        "sim_days_per_s": round(hours / 24 / play_s, 3),
        "timer_lag_ms_p50": round(_percentile(lags, 0.50), 3),
        "timer_lag_ms_p99": round(_percentile(lags, 0.99), 3),
        "rss_mb": round(sum(part.rss_mb_peak for part in parts), 1),
        "details": {
            "campaigns": campaigns,
            "days": hours / 24,
            "seed": seed,
            "shards": len(parts),
            "max_active": total["max_active"],
            "active_at_end": total["active_at_end"],
            "passivated_at_end": campaigns - total["active_at_end"],
            "creation_s": round(max(part.creation_s for part in parts), 2),
            "creation_commands": total["creation_commands"],
            "play_s": round(play_s, 2),
            "play_s_by_shard": [round(part.play_s, 2) for part in parts],
            "timers_fired": total["timers_fired"],
            "timer_lag_samples": len(lags),
            "timer_lag_ms_max": round(lags[-1] if lags else 0.0, 3),
            "scripted_commands": total["scripted_commands"],
            "events_written": total["events_written"],
            "events_total": total["events_total"],
            "activations": total["activations"],
            "commit_writes": total["commit_writes"],
            "loop_lag_ms_max": round(max(part.loop_lag_ms_max for part in parts), 2),
            "loop_lag_ms_p99": round(max(part.loop_lag_ms_p99 for part in parts), 2),
            "rss_mb_after_creation": round(sum(part.rss_mb_after_creation for part in parts), 1),
            "rss_mb_now": round(sum(part.rss_mb_now for part in parts), 1),
            "disk_bytes_per_campaign": round(sum(part.disk_bytes for part in parts) / campaigns),
            "python": sys.version.split()[0],
            "cpus": os.cpu_count(),
        },
    }


@contextmanager
def _data_root(data_dir: Path | None) -> Iterator[Path]:
    """``data_dir`` (kept), or a temporary directory removed afterwards."""
    if data_dir is not None:
        yield Path(data_dir)
        return
    root = Path(tempfile.mkdtemp(prefix="everturn-bench-campaigns-"))
    try:
        yield root
    finally:
        shutil.rmtree(root, ignore_errors=True)


def _hours(days: float) -> int:
    return max(1, round(days * 24))


async def run(campaigns: int = 10_000, days: float = 7.0, data_dir: Path | None = None, seed: int = 1,
              max_active: int | None = None) -> dict[str, Any]:
    """Create ``campaigns`` campaigns in this process (one shard), then play ``days`` simulated days; the figures.

    ``data_dir``: a fresh directory for the store (kept); default a temporary one (removed).
    ``max_active``: campaigns kept in memory (default 5% of them, at least 10). Days are
    rounded to whole simulated hours (at least one). Raises whatever a command raises:
    the script is valid, so a rejection is a bug.
    """
    if campaigns < 1:
        raise ValueError("campaigns must be at least 1")
    with _data_root(data_dir) as root:
        part = await play_shard(campaigns, _hours(days), root, seed, max_active=max_active)
    return report([part], _hours(days), seed)


def _shard_process(campaigns: int, hours: int, root: Path, seed: int, shard: int, shards: int,
                   go: Callable[[], object]) -> _Shard:
    return trio.run(partial(play_shard, campaigns, hours, root, seed, shard, shards, go=go))


def measure(campaigns: int = 10_000, days: float = 7.0, data_dir: Path | None = None, seed: int = 1,
            shards: int = 1) -> dict[str, Any]:
    """:func:`run` in its own ``trio.run``; with ``shards`` > 1, one process a shard (each its own
    store under ``DATA/shards/<k>``, as the server lays them out), playing together."""
    if campaigns < 1 or shards < 1:
        raise ValueError("campaigns and shards must be at least 1")
    if shards == 1:
        return trio.run(partial(run, campaigns, days, data_dir, seed))
    context = multiprocessing.get_context("spawn")  # a fresh interpreter each, as ``serve`` starts its shards
    with _data_root(data_dir) as root, context.Manager() as manager, \
            ProcessPoolExecutor(shards, mp_context=context) as pool:
        barrier = manager.Barrier(shards)
        futures = [pool.submit(_shard_process, campaigns, _hours(days), root / "shards" / str(k), seed, k, shards,
                               barrier.wait) for k in range(shards)]
        parts = [future.result() for future in futures]
    return report(parts, _hours(days), seed)


def format_report(result: dict[str, Any]) -> str:
    """The human table: headline figures, then the details, indented."""
    d = result["details"]
    lines = [f"everturn bench campaigns ({d['campaigns']} campaigns, {d['days']:g} simulated days, "
             f"at most {d['max_active']} in memory, seed {d['seed']})"]
    lines += [f"  {key:<22} {value}" for key, value in result.items() if key != "details"]
    lines += [f"    {key:<28} {value}" for key, value in d.items()]
    return "\n".join(lines)


def run_campaign_bench(json_output: bool = False, campaigns: int = 10_000, days: float = 7.0, seed: int = 1,
                       shards: int | None = None) -> int:
    result = measure(campaigns, days, seed=seed, shards=default_shards() if shards is None else shards)
    print(orjson.dumps(result).decode() if json_output else format_report(result))
    return 0
