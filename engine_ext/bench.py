"""``everturn bench combat``: simulated 4-vs-4 fights per second, compiled beside the reference.

Both play the same roster from the same seed in one process on one core: the reference
for ``REFERENCE_FIGHTS`` fights, the compiled build for ``COMPILED_FIGHTS``, each timed
after a warm-up; the first ``REFERENCE_FIGHTS`` fights of both must sum to the same
figures (the same fights, die for die) or the run fails.

- ``fights_per_s``: compiled fights per second (target above 15,600/s).
- ``cython_ratio``: compiled fights/s over reference fights/s (target >= 30).
"""
from __future__ import annotations

import os
import platform
import time

import orjson

from . import combat_ref
from .combat_ref import FOES, PARTY, SimFighter, SimStrike

REFERENCE_FIGHTS = 3_000
COMPILED_FIGHTS = 300_000
TARGETS = {"cython_ratio": 30.0, "fights_per_s": 15_600.0}


def roster() -> tuple[SimFighter, ...]:
    """Four level-3 characters (sword and agile dagger, one with a shield) against four moderate foes."""
    party = [SimFighter(PARTY, 45, 19, 9, (SimStrike(11, ((1, 8),), 4), SimStrike(11, ((1, 4),), 4, True)),
                        shield=i == 0, character=True) for i in range(4)]
    foes = [SimFighter(FOES, 35, 18, 8, (SimStrike(11, ((1, 10),), 5),), cowardly=i == 3) for i in range(4)]
    return tuple(party + foes)


def timed(simulate, fights: int, seed: int) -> tuple[float, tuple[int, ...]]:
    simulate(roster(), max(1, fights // 20), seed + 1)  # warm-up
    started = time.perf_counter()
    result = simulate(roster(), fights, seed)
    return fights / (time.perf_counter() - started), result


def measure(seed: int = 1) -> dict[str, object]:
    from . import _combat  # the bench compares the compiled build; without it there is nothing to measure

    reference_rate, reference = timed(combat_ref.simulate, REFERENCE_FIGHTS, seed)
    compiled_rate, _ = timed(_combat.simulate, COMPILED_FIGHTS, seed)
    same = _combat.simulate(roster(), REFERENCE_FIGHTS, seed)
    if same != reference:
        raise AssertionError(f"compiled and reference fights differ: {same} != {reference}")
    return {
        "cython_ratio": round(compiled_rate / reference_rate, 1),
        "fights_per_s": round(compiled_rate),
        "details": {"reference_fights_per_s": round(reference_rate), "reference_fights": REFERENCE_FIGHTS,
                    "compiled_fights": COMPILED_FIGHTS, "party_win_rate": round(reference[0] / REFERENCE_FIGHTS, 3),
                    "mean_rounds": round(reference[1] / REFERENCE_FIGHTS, 2), "seed": seed,
                    "python": platform.python_version(), "cpus": os.cpu_count()},
    }


def run_combat_bench(json_output: bool = False, seed: int = 1) -> int:
    try:
        result = measure(seed)
    except ImportError:
        print("everturn: engine_ext._combat is not built (pip install -e . without EVERTURN_NO_EXTENSIONS)")
        return 2
    if json_output:
        print(orjson.dumps(result).decode())
        return 0
    print("everturn bench combat (4 vs 4, one core, compiled beside the reference)")
    for key in ("cython_ratio", "fights_per_s"):
        value, target = result[key], TARGETS[key]
        print(f"  {key:<16} {value}  (target >= {target}: {'met' if value >= target else 'NOT MET'})")
    for key, value in result["details"].items():
        print(f"    {key:<24} {value}")
    return 0
