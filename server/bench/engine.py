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
from collections.abc import Callable
from typing import Any

import orjson

from engine_ext import combat_ref
from engine_ext.combat_ref import FOES, PARTY, SimFighter, SimStrike

REFERENCE_FIGHTS = 3_000
COMPILED_FIGHTS = 300_000
TARGETS = {"cython_ratio": (">=", 30.0), "fights_per_s": (">=", 15_600.0)}


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
    from engine_ext import _combat  # the bench compares the compiled build; without it there is nothing to measure

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
    return report("everturn bench combat (4 vs 4, one core, compiled beside the reference)", "_combat",
                  lambda: measure(seed), TARGETS, json_output)


def report(title: str, compiled: str, measured: Callable[[], dict[str, Any]],
           targets: dict[str, tuple[str, float] | None], json_output: bool) -> int:
    """Run a bench and print it: one JSON object, or a table with each target met or NOT MET."""
    try:
        result = measured()
    except ImportError:
        print(f"everturn: engine_ext.{compiled} is not built (pip install -e . without EVERTURN_NO_EXTENSIONS)")
        return 2
    if json_output:
        print(orjson.dumps(result).decode())
        return 0
    print(title)
    for key, target in targets.items():
        value, verdict = result[key], ""
        if target is not None:
            op, bound = target
            met = value < bound if op == "<" else value >= bound
            verdict = f"  (target {op} {bound}: {'met' if met else 'NOT MET'})"
        print(f"  {key:<18} {value}{verdict}")
    for key, value in result["details"].items():
        print(f"    {key:<26} {value}")
    return 0


# -- everturn bench strategy -------------------------------------------------------------------

STRATEGY_TARGETS = {"cython_ratio": (">=", 30.0), "game_100_turns_s": ("<", 1.0), "battles_per_s": (">=", 15_600.0),
                    "games_per_s": None}
PERSONAS = ["aggressive", "economic", "turtle", "expansionist"]


def standard_battle() -> tuple[list[tuple], list[tuple]]:
    """Three fleets a side of destroyers, cruisers and corvettes."""
    from engine_ext import strategy_rules as rules

    def side(first: int) -> list[tuple]:
        ships = [0] * len(rules.SHIPS)
        for name, count in (("destroyer", 3), ("cruiser", 2), ("corvette", 2)):
            ships[rules.SHIP_INDEX[name]] = count
        return [(first + 2 * k, 1, 5, list(ships), [0] * len(rules.SHIPS)) for k in range(3)]

    return side(1), side(2)


def battles_per_s(fight, battles: int) -> float:
    a, b = standard_battle()
    counter = 0
    started = time.perf_counter()
    for _ in range(battles):
        counter = fight(a, b, 7, counter)[5]
    return battles / (time.perf_counter() - started)


def recorded_turns(seed: int, turns: int = 100) -> list[tuple[Any, dict]]:
    """One 4-house game played by the AI: each turn's state and the orders ``screen`` accepted."""
    from engine_ext import strategy_ref
    from engine_ext.strategy_ai import orders
    from engine_ext.strategy_state import new_game

    game, recorded = new_game(4, 4, seed), []
    for _ in range(turns):
        accepted, _ = strategy_ref.screen(game, {h.hid: orders(game, h.hid, PERSONAS[h.hid])
                                                 for h in game.houses if h.alive})
        recorded.append((game, accepted))
        game, report = strategy_ref.settle(game, accepted, turn_limit=turns)
        if report.winner is not None:
            break
    return recorded


def settle_rates(recorded: list[tuple[Any, dict]]) -> dict[str, float]:
    """Seconds to settle every recorded turn: the reference on games, the compiled resolver on flat
    boards (packed beforehand, as a game kept in arrays would be; each turn copies its arrays), and
    the compiled resolver end to end from and back to games (order checks, packing, unpacking)."""
    from array import array

    from engine_ext import _strategy, strategy_flat, strategy_ref, strategy_turn

    routes = strategy_flat.routes(recorded[0][0].galaxy)
    boards = [strategy_flat.board(game, accepted, 100) for game, accepted in recorded]

    def settle_boards() -> None:
        for board, rows in boards:
            _strategy.settle(board.seed, array("q", board.meta), board.houses[:], board.colonies[:],
                             board.fleets[:], board.diplomacy[:], board.events[:], rows, routes)

    def compiled_resolve(game: Any, given: dict) -> tuple:
        accepted, refused = strategy_ref.screen(game, given)
        return strategy_turn.settle_compiled(game, accepted, 100, _strategy)

    for game, accepted in recorded:  # the same games, or the figures mean nothing
        if compiled_resolve(game, accepted) != strategy_ref.settle(game, accepted, 100):
            raise AssertionError(f"compiled and reference turns differ at turn {game.turn}")
    timings = {
        "reference": lambda: [strategy_ref.settle(game, accepted, 100) for game, accepted in recorded],
        "compiled": settle_boards,
        "reference_resolve": lambda: [strategy_ref.resolve(game, accepted, 100) for game, accepted in recorded],
        "compiled_resolve": lambda: [compiled_resolve(game, accepted) for game, accepted in recorded],
    }
    settle_boards()  # warm-up: fills the map's route table once
    out = {}
    for name, run_all in timings.items():
        best = float("inf")
        for _ in range(3):  # the best of three: the machine is shared
            started = time.perf_counter()
            run_all()
            best = min(best, time.perf_counter() - started)
        out[name] = best
    return out


def measure_strategy(seed: int = 1, workers: int = 2, games: int = 8) -> dict[str, object]:
    from engine_ext import _strategy, strategy_ref
    from engine_ext.headless import jobs, play, run

    # one 100-turn game with the AI, start to end
    job = jobs(1, seed, 4, 4, 100, PERSONAS)[0]
    started = time.perf_counter()
    play(job)
    game_s = time.perf_counter() - started

    # turn resolution alone, on the same recorded turns
    recorded = recorded_turns(seed)
    took = settle_rates(recorded)

    # headless games on worker processes
    batch = jobs(games, seed, 4, 4, 100, PERSONAS)
    started = time.perf_counter()
    for _ in run(batch, workers=workers):
        pass
    games_s = time.perf_counter() - started
    per_turn = {name: round(seconds / len(recorded) * 1e6, 1) for name, seconds in took.items()}
    return {
        "cython_ratio": round(took["reference"] / took["compiled"], 1),
        "game_100_turns_s": round(game_s, 3),
        "battles_per_s": round(battles_per_s(_strategy.fight, 100_000)),
        "games_per_s": round(games / games_s, 2),
        "details": {"turns_resolved": len(recorded), "settle_reference_us_per_turn": per_turn["reference"],
                    "settle_compiled_us_per_turn": per_turn["compiled"],
                    "resolve_end_to_end_ratio": round(took["reference_resolve"] / took["compiled_resolve"], 2),
                    "resolve_reference_us_per_turn": per_turn["reference_resolve"],
                    "resolve_compiled_us_per_turn": per_turn["compiled_resolve"],
                    "battles_per_s_reference": round(battles_per_s(strategy_ref.fight, 3_000)),
                    "headless_games": games, "workers": workers, "seed": seed,
                    "python": platform.python_version(), "cpus": os.cpu_count()},
    }


def run_strategy_bench(json_output: bool = False, seed: int = 1, workers: int = 2) -> int:
    return report(f"everturn bench strategy (4 houses, 4 rings, 100 turns; headless on {workers} workers)",
                  "_strategy", lambda: measure_strategy(seed, workers), STRATEGY_TARGETS, json_output)
