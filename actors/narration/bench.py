"""``everturn bench narrator``: the local model in real campaigns, and the trio loop beside it.

A runtime on a temporary RocksDB hosts campaigns that each ask the narrator to voice an
NPC (``NarrateNpc``, ``narrator_max_tokens`` = ``TOKENS``); a narration's latency runs
from the command to its ``PostNarrated`` event, queue included.  Measured side by side in
one run:

- ``one``: one campaign, ``ROUNDS`` narrations one after another;
- ``four``: four other campaigns at once, ``ROUNDS`` narrations each, on the narrator's
  ``slots`` (with fewer slots than campaigns the others wait, which is what the p95 shows).
  Every campaign starts empty, so prompts (which carry the recent posts) grow alike in both;
- the loop's lag: a task asking to wake every ``TICK_S`` records how late it wakes,
  while idle and while generating (``loop_lag_ms_max`` is the worst while generating).

``tokens_per_s`` counts the completion tokens of every narration over the time spent
generating them (both phases).
"""
from __future__ import annotations

import platform
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
    from snapshots import Store

    from .service import configured

    narrator = configured([], slots=slots, threads=threads)
    gm = {"token_id": "bench-gm", "role": "gm"}
    results: dict[str, Any] = {}
    with tempfile.TemporaryDirectory(prefix="everturn-bench-narrator-") as tmp:
        store = Store.open(Path(tmp) / "data")
        try:
            async with narrator.serving(), open_runtime(store, game_kinds(narrator=narrator), clock=TrioClock(),
                                    config=RuntimeConfig(lag_interval=None)) as rt:
                narrator.attach(rt.publish_transient)
                settings = Settings(narrator_max_tokens=TOKENS, narrator_deadline_s=120)
                for i in range(5):  # bench0 for one at a time, bench1-4 at once: prompts grow alike in both
                    await rt.ask(f"campaign/bench{i}", CreateCampaign(title=f"Bench {i}", settings=settings),
                                 by={**gm, "campaign": f"bench{i}"})

                async def narrate(i: int, round_: int, latencies: list[float], tokens: list[int]) -> None:
                    address = f"campaign/bench{i}"
                    async with rt.subscribe(address) as items:
                        await items.__anext__()
                        started = time.perf_counter()
                        await rt.ask(address, NarrateNpc(npc="Old Bren", hint=HINTS[round_ % len(HINTS)]),
                                     by={**gm, "campaign": f"bench{i}"})
                        async for item in items:
                            if isinstance(item, Published) and isinstance(item.event, PostNarrated):
                                latencies.append((time.perf_counter() - started) * 1000)
                                tokens.append(item.event.meta.completion_tokens or 0)
                                return

                async def play(i: int, latencies: list[float], tokens: list[int]) -> None:
                    for r in range(rounds):
                        await narrate(i, r, latencies, tokens)

                idle = LagProbe()
                scope = trio.CancelScope()
                async with trio.open_nursery() as nursery:
                    nursery.start_soon(idle.run, scope)
                    await trio.sleep(1.0)
                    scope.cancel()
                busy = LagProbe()
                gen_before = narrator.figures.generation_s
                for phase, campaigns in (("one", [0]), ("four", [1, 2, 3, 4])):
                    latencies: list[float] = []
                    tokens: list[int] = []
                    say(f"{phase}: {len(campaigns)} campaign(s) x {rounds} narrations")
                    started = time.perf_counter()
                    scope = trio.CancelScope()
                    async with trio.open_nursery() as nursery:
                        nursery.start_soon(busy.run, scope)
                        async with trio.open_nursery() as work:
                            for i in campaigns:
                                work.start_soon(play, i, latencies, tokens)
                        scope.cancel()
                    wall = time.perf_counter() - started
                    results[phase] = {"campaigns": len(campaigns), "narrations": len(latencies),
                                      "p50_ms": round(percentile(latencies, 0.5), 1),
                                      "p95_ms": round(percentile(latencies, 0.95), 1),
                                      "mean_tokens": round(statistics.fmean(tokens), 1),
                                      "narrations_per_s": round(len(latencies) / wall, 2)}
                generated = narrator.figures.generation_s - gen_before
                status = narrator.status()
                results["tokens_per_s"] = round(narrator.figures.completion_tokens / generated, 1)
                results["loop_lag_idle_ms_max"] = round(idle.worst * 1000, 2)
                results["loop_lag_ms_max"] = round(busy.worst * 1000, 2)
                results["loop_lag_ms_p99"] = round(percentile(busy.samples, 0.99) * 1000, 2)
                results["outcomes"] = {k: v for k, v in status["outcomes"].items() if v}
        finally:
            store.close()
    return results


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
    for key in ("tokens_per_s", "p50_ms", "p95_ms", "p50_ms_4", "p95_ms_4", "loop_lag_ms_max"):
        print(f"  {key:<18} {result[key]}")
    for key, value in result["ratios"].items():
        print(f"  ratio {key:<22} {value}")
    for key, value in result["details"].items():
        print(f"    {key:<24} {value}")
    return 0
