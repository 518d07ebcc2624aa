"""``everturn bench narrator``: the local model in real campaigns, and the trio loop beside it.

A runtime on a temporary RocksDB hosts campaigns that each ask the narrator to voice an
NPC (``NarrateNpc``, ``narrator_max_tokens`` = ``TOKENS``); a narration's latency runs
from the command to its ``PostNarrated`` event, queue included.  Measured side by side in
one run:

- ``one``: one campaign, ``ROUNDS`` narrations one after another;
- ``four``: four other campaigns at once, ``ROUNDS`` narrations each, on the narrator's
  ``slots`` (with fewer slots than campaigns the others wait, which is what the p95 shows).
  Every campaign starts empty, so prompts (which carry the recent posts) grow alike in both;
- ``training``: four more campaigns at once while a training job (``train/bench``, on
  records of ``TRAINING_GAMES`` simulated games) trains in its worker process;
- the loop's lag: a task asking to wake every ``TICK_S`` records how late it wakes,
  while idle, while generating (``loop_lag_ms_max``, the worst of the first two phases)
  and while generating beside training (``loop_lag_ms_max_during_training``; target
  <= 50 ms);
- ``worker_restart_ms``: from a SIGKILL of the narrator's worker processes to the next
  narration a new worker wrote (the request that met the dead worker, if any, is settled
  with its template and counted in ``restart_attempts``).

``tokens_per_s`` counts the completion tokens of the first two phases over the time spent
generating them (the third shares the cores with training).  Generation happens in the
narrator's worker processes; these figures include the process boundary.
"""
from __future__ import annotations

import os
import platform
import signal
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import orjson
import trio

TOKENS = 60
ROUNDS = 8
TICK_S = 0.005
RESTART_ATTEMPTS = 5  # narrations asked after the worker is killed before the bench gives up
TRAINING_GAMES = 20  # short two-house games simulated for the training job that runs beside the narrations


class LagProbe:
    """How late the loop wakes a task that sleeps ``TICK_S`` at a time."""

    def __init__(self) -> None:
        self.worst = 0.0
        self.samples: list[float] = []

    async def run(self, scope: trio.CancelScope) -> None:
        with scope:
            while True:
                start = trio.current_time()
                await trio.sleep(TICK_S)
                late = trio.current_time() - start - TICK_S
                self.samples.append(late)
                self.worst = max(self.worst, late)


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


async def _measure(slots: int, threads: int, rounds: int, say: Any) -> dict[str, Any]:
    from actors import Published, RuntimeConfig, TrioClock, open_runtime
    from actors.campaign.messages import CreateCampaign, NarrateNpc, PostNarrated
    from actors.campaign.state import Settings
    from actors.kinds import game_kinds
    from actors.train.messages import CancelTraining, StartTraining
    from snapshots import Store
    from .training import simulate  # the training bench's records, fewer and shorter (no torch here)

    from actors.narration.service import configured

    narrator = configured([], slots=slots, threads=threads)
    gm = {"token_id": "bench-gm", "role": "gm"}
    operator = {"token_id": "bench-op", "role": "operator"}
    results: dict[str, Any] = {}
    with tempfile.TemporaryDirectory(prefix="everturn-bench-narrator-") as tmp:
        runs = Path(tmp) / "runs.jsonl"
        simulate(runs, workers=1, games=TRAINING_GAMES, turns=30, seed=5_000)
        store = Store.open(Path(tmp) / "data")
        try:
            async with narrator.serving(), open_runtime(
                    store, game_kinds(Path(tmp) / "data", Path(tmp) / "models", narrator=narrator),
                    clock=TrioClock(), config=RuntimeConfig(lag_interval=None)) as rt:
                narrator.attach(rt.publish_transient)
                settings = Settings(narrator_max_tokens=TOKENS, narrator_deadline_s=120)
                # bench0 alone, bench1-4 at once, bench5-8 at once beside training: prompts grow alike in each
                for i in range(9):
                    await rt.ask(f"campaign/bench{i}", CreateCampaign(title=f"Bench {i}", settings=settings),
                                 by={**gm, "campaign": f"bench{i}"})

                async def narrate(i: int, round_: int) -> PostNarrated:
                    address = f"campaign/bench{i}"
                    async with rt.subscribe(address) as items:
                        await items.__anext__()
                        await rt.ask(address, NarrateNpc(npc="Old Bren", hint=HINTS[round_ % len(HINTS)]),
                                     by={**gm, "campaign": f"bench{i}"})
                        async for item in items:
                            if isinstance(item, Published) and isinstance(item.event, PostNarrated):
                                return item.event
                    raise AssertionError("the campaign's stream ended")

                async def play(i: int, latencies: list[float], tokens: list[int]) -> None:
                    for r in range(rounds):
                        started = time.perf_counter()
                        event = await narrate(i, r)
                        latencies.append((time.perf_counter() - started) * 1000)
                        tokens.append(event.meta.completion_tokens or 0)

                async def phase(name: str, campaigns: list[int], probe: LagProbe) -> None:
                    latencies: list[float] = []
                    tokens: list[int] = []
                    say(f"{name}: {len(campaigns)} campaign(s) x {rounds} narrations")
                    started = time.perf_counter()
                    scope = trio.CancelScope()
                    async with trio.open_nursery() as nursery:
                        nursery.start_soon(probe.run, scope)
                        async with trio.open_nursery() as work:
                            for i in campaigns:
                                work.start_soon(play, i, latencies, tokens)
                        scope.cancel()
                    wall = time.perf_counter() - started
                    results[name] = {"campaigns": len(campaigns), "narrations": len(latencies),
                                     "p50_ms": round(percentile(latencies, 0.5), 1),
                                     "p95_ms": round(percentile(latencies, 0.95), 1),
                                     "mean_tokens": round(statistics.fmean(tokens), 1),
                                     "narrations_per_s": round(len(latencies) / wall, 2)}

                idle = LagProbe()
                scope = trio.CancelScope()
                async with trio.open_nursery() as nursery:
                    nursery.start_soon(idle.run, scope)
                    await trio.sleep(1.0)
                    scope.cancel()
                busy = LagProbe()
                gen_before = narrator.figures.generation_s
                tokens_before = narrator.figures.completion_tokens
                await phase("one", [0], busy)
                await phase("four", [1, 2, 3, 4], busy)
                generated = narrator.figures.generation_s - gen_before
                results["tokens_per_s"] = round((narrator.figures.completion_tokens - tokens_before) / generated, 1)

                say("training: a job trains in its worker process beside four narrating campaigns")
                job = "train/bench"
                await rt.ask(job, StartTraining(data=str(runs), name="bench", steps=10_000_000, batch=256,
                                                checkpoint_every=2000, eval_games=2), by=operator)
                await _until(rt, job, lambda state: state.step > 0 or state.status != "running")
                trained_from = rt.state_of(job)[0].step
                beside = LagProbe()
                await phase("training", [5, 6, 7, 8], beside)
                job_state = rt.state_of(job)[0]
                results["training"]["job_steps"] = job_state.step - trained_from
                results["training"]["job_status"] = job_state.status
                await rt.ask(job, CancelTraining(reason="bench over"), by=operator)

                say("restart: the narrator's worker is killed (SIGKILL) and the next narration timed")
                killed = time.perf_counter()
                for pid in narrator.pool.pids():
                    os.kill(pid, signal.SIGKILL)
                for attempts in range(1, RESTART_ATTEMPTS + 1):
                    event = await narrate(0, attempts)
                    if event.meta.completion_tokens:  # written by a new worker (a template came from the dead one)
                        break
                else:
                    raise RuntimeError(f"no narration written within {RESTART_ATTEMPTS} attempts of killing the "
                                       f"worker: {event.meta.outcome} ({event.meta.error})")
                results["worker_restart_ms"] = round((time.perf_counter() - killed) * 1000, 1)
                results["restart_attempts"] = attempts
                status = narrator.status()
                results["loop_lag_idle_ms_max"] = round(idle.worst * 1000, 2)
                results["loop_lag_ms_max"] = round(busy.worst * 1000, 2)
                results["loop_lag_ms_p99"] = round(percentile(busy.samples, 0.99) * 1000, 2)
                results["loop_lag_ms_max_during_training"] = round(beside.worst * 1000, 2)
                results["loop_lag_ms_p99_during_training"] = round(percentile(beside.samples, 0.99) * 1000, 2)
                results["outcomes"] = {k: v for k, v in status["outcomes"].items() if v}
                results["worker_crashes"] = status["worker_crashes"]
        finally:
            store.close()
    return results


async def _until(rt: Any, address: str, predicate: Any) -> None:
    from actors import Published

    if predicate(rt.state_of(address)[0]):
        return
    async with rt.subscribe(address) as items:
        async for item in items:
            if isinstance(item, Published) and predicate(rt.state_of(address)[0]):
                return


HINTS = ("the bridge is out; take the ford", "the mayor lies about the wolves", "pay the toll or turn back",
         "the mine has been quiet since the cave-in", "a stranger asked about you last night")


def measure(slots: int = 1, threads: int = 2, rounds: int = ROUNDS, say: Any = print) -> dict[str, Any]:
    details = trio.run(_measure, slots, threads, rounds, say)
    one, four = details["one"], details["four"]
    return {
        "tokens_per_s": details["tokens_per_s"],
        "p50_ms": one["p50_ms"], "p95_ms": one["p95_ms"],
        "p50_ms_4": four["p50_ms"], "p95_ms_4": four["p95_ms"],
        "loop_lag_ms_max": details["loop_lag_ms_max"],
        "loop_lag_ms_max_during_training": details["loop_lag_ms_max_during_training"],
        "worker_restart_ms": details["worker_restart_ms"],
        "ratios": {"throughput_4_vs_1": round(four["narrations_per_s"] / one["narrations_per_s"], 2),
                   "p95_4_vs_1": round(four["p95_ms"] / one["p95_ms"], 2),
                   "loop_lag_busy_vs_idle": round(details["loop_lag_ms_max"] / max(details["loop_lag_idle_ms_max"],
                                                                                      0.01), 2)},
        "details": {**details, "slots": slots, "threads": threads, "max_tokens": TOKENS,
                    "machine": f"{platform.machine()}, {platform.python_version()}"},
    }


def run_narrator_bench(json_output: bool = False, slots: int = 1, threads: int = 2, rounds: int = ROUNDS) -> int:
    result = measure(slots, threads, rounds, say=lambda line: print(f"  {line}", file=sys.stderr, flush=True))
    if json_output:
        print(orjson.dumps(result).decode())
        return 0
    print(f"everturn bench narrator (SmolLM2-135M Q4_1, {TOKENS}-token narrations, {slots} slot(s), "
          f"{threads} thread(s) each)")
    for key in ("tokens_per_s", "p50_ms", "p95_ms", "p50_ms_4", "p95_ms_4", "loop_lag_ms_max",
                "loop_lag_ms_max_during_training", "worker_restart_ms"):
        print(f"  {key:<18} {result[key]}")
    for key, value in result["ratios"].items():
        print(f"  ratio {key:<22} {value}")
    for key, value in result["details"].items():
        print(f"    {key:<24} {value}")
    return 0
