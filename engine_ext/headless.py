"""Headless strategy games: many complete games played by the AI, as training records.

``play(job)`` plays one game and returns its records; ``run`` fans games out over local
worker processes (or Ray tasks) and yields each game's result as it finishes.  A record is
one house-turn:

- ``state``: a fixed-size numeric vector of what the house sees of itself (``STATE_FIELDS``),
- ``mask``: which kinds of order were open to it that turn (``ACTIONS``; 1 open, 0 closed),
- ``chosen``: how many orders of each kind it gave, and the orders themselves,
- ``outcome``: 1 if the house won the game, 0 if not (known once the game has ended),

with the game's metadata (engine version, seed, houses, rings, and the seats' players when a
learned one plays).  Same seed, same records.

A seat is a personality (``strategy_ai.PERSONALITIES``) or a learned player such as
``policy:NAME@VERSION``.  engine_ext knows nothing of torch nor of who trains players: the
caller gives ``jobs`` the ``sources`` (prefix -> the module that resolves such players, e.g.
``training.registry.LEARNED_PLAYERS``), each imported only when one sits at a table (in each
worker process, which loads a model once).  ``jobs`` asks the module to ``pin`` each
one before any game starts (fixing its version; a missing or unplayable model raises
``ValueError``), and ``play`` asks it for the ``player``.
"""
from __future__ import annotations

import importlib
import os
import time
from collections.abc import Callable, Iterator, Mapping
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass
from typing import Any, BinaryIO

import orjson

from . import strategy_rules as rules
from .strategy_ai import PERSONALITIES, orders
from .strategy_orders import Order, compact, validate
from .strategy_state import Game, new_game
from .strategy_turn import resolve

ENGINE_VERSION = "strategy/2"  # the rules' version: the compiled and reference resolvers play the same games
STATE_FIELDS = ("turn_share", "treasury", "prestige", "tax", "weapons", "construction", "detection", "colonies",
                "population", "industry", "fleets", "warships", "enemies", "houses_alive", "free_systems",
                "rank")
ACTIONS = ("set_tax", "declare_war", "research", "build_colony_ship", "build_warship", "build_transport",
           "build_starbase", "colonize", "attack", "move")
# ``sources``: prefix of a learned player's name -> the module resolving it (given by the caller): pin(name, models)
# -> name with its version fixed (ValueError if it cannot play), player(name, models, turns) -> a (game, house) ->
# orders callable


@dataclass(frozen=True, slots=True)
class Job:
    game: int
    seed: int
    rings: int
    houses: int
    turns: int
    personalities: tuple[str, ...]   # one player per house: a personality or a pinned learned player
    models: str | None = None        # where learned players are found (their registry's root)
    sources: tuple[tuple[str, str], ...] = ()  # prefix -> module resolving learned players (``jobs``' sources)


def state_vector(game: Game, hid: int, turns: int) -> list[float]:
    house = game.houses[hid]
    mine = [c for c in game.colonies.values() if c.owner == hid]
    fleets = [f for f in game.fleets.values() if f.owner == hid]
    warships = sum(f.ships[i] for f in fleets for i in rules.WARSHIPS)
    ranking = sorted((h.prestige for h in game.houses if h.alive), reverse=True)
    return [round(game.turn / turns, 4), house.treasury, house.prestige, house.tax, *house.tech, len(mine),
            sum(c.population for c in mine), sum(c.industry for c in mine), len(fleets), warships,
            sum(1 for other in range(len(game.houses)) if game.diplomacy[hid][other] == rules.ENEMY),
            sum(h.alive for h in game.houses), game.galaxy.systems - len(game.colonies),
            ranking.index(house.prestige) + 1 if house.alive else len(game.houses)]


def category(order: Order) -> str:
    if order.kind == "build":
        ship = order.ship or ""
        if ship == "colony_ship":
            return "build_colony_ship"
        if ship in ("transport", "starbase"):
            return f"build_{ship}"
        return "build_warship"
    if order.kind == "diplomacy":
        return "declare_war"
    if order.kind in ("blockade", "bombard", "invade"):
        return "attack"
    if order.kind in ("move", "patrol", "hold"):
        return "move"
    return order.kind


def action_mask(game: Game, hid: int) -> list[int]:
    """Which kinds of order this house could give now (one probe order each, validated)."""
    docks = [(-c.docks, c.system) for c in game.colonies.values() if c.owner == hid]
    home = min(docks)[1] if docks else None  # the colony with the most docks
    fleets = sorted(f.fid for f in game.fleets.values() if f.owner == hid)
    settler = next((f.fid for f in game.fleets.values() if f.owner == hid
                    and f.ships[rules.SHIP_INDEX["colony_ship"]]), None)
    free = next((s for s in range(game.galaxy.systems) if s not in game.colonies), None)
    enemy_colony = next((c.system for c in game.colonies.values()
                         if c.owner != hid and game.diplomacy[hid][c.owner] == rules.ENEMY), None)
    other = next((h.hid for h in game.houses if h.alive and h.hid != hid), None)
    probes = {
        "set_tax": Order("set_tax", amount=40),
        "declare_war": Order("diplomacy", house=other, stance="enemy") if other is not None else None,
        "research": Order("research", field="weapons", amount=10),
        "build_colony_ship": Order("build", system=home, ship="colony_ship"),
        "build_warship": Order("build", system=home, ship="corvette"),
        "build_transport": Order("build", system=home, ship="transport"),
        "build_starbase": Order("build", system=home, ship="starbase"),
        "colonize": Order("colonize", fleet=settler, system=free) if settler and free is not None else None,
        "attack": Order("blockade", fleet=fleets[0], system=enemy_colony) if fleets and enemy_colony else None,
        "move": Order("move", fleet=fleets[0], system=0) if fleets else None,
    }
    return [int(probes[a] is not None and not validate(game, hid, [probes[a]])) for a in ACTIONS]


def source(name: str, sources: Mapping[str, str]) -> Any | None:
    """The module resolving a learned player's ``name`` (None for a personality)."""
    prefix = name.partition(":")[0] if ":" in name else None
    if prefix is None:
        return None
    if prefix not in sources:
        kinds = ", ".join(p + ":NAME" for p in sources) or "none here"
        raise ValueError(f"no kind of player {prefix!r}; a personality or a learned one ({kinds})")
    return importlib.import_module(sources[prefix])


def seat(name: str, job: Job) -> Callable[[Game, int], list[Order]]:
    learned = source(name, dict(job.sources))
    if learned is None:
        return lambda game, hid: orders(game, hid, name)
    return learned.player(name, job.models, job.turns)


def play(job: Job) -> dict[str, Any]:
    """One whole game: its records, winner, length and the time each turn took."""
    game = new_game(job.rings, job.houses, job.seed)
    players = [seat(name, job) for name in job.personalities]
    records: list[dict[str, Any]] = []
    turn_ms: list[float] = []
    winner = None
    for _ in range(job.turns):
        started = time.perf_counter()
        given: dict[int, list[Order]] = {}
        for house in game.houses:
            if not house.alive:
                continue
            chosen = players[house.hid](game, house.hid)
            given[house.hid] = chosen
            counts = [0] * len(ACTIONS)
            for order in chosen:
                counts[ACTIONS.index(category(order))] += 1
            records.append({"game": job.game, "turn": game.turn, "house": house.hid,
                            "personality": job.personalities[house.hid],
                            "state": state_vector(game, house.hid, job.turns), "mask": action_mask(game, house.hid),
                            "chosen": counts, "orders": [compact(o) for o in chosen]})
        game, report = resolve(game, given, turn_limit=job.turns)
        turn_ms.append((time.perf_counter() - started) * 1000)
        if report.winner is not None:
            winner = report.winner
            break
    meta = {"engine": ENGINE_VERSION, "seed": job.seed, "houses": job.houses, "rings": job.rings}
    if any(name not in PERSONALITIES for name in job.personalities):
        meta["players"] = list(job.personalities)
    for record in records:
        record["outcome"] = int(record["house"] == winner)
        record["meta"] = meta
    return {"game": job.game, "seed": job.seed, "winner": winner, "personalities": list(job.personalities),
            "winner_personality": None if winner is None else job.personalities[winner],
            "turns": game.turn - 1, "turn_ms": turn_ms, "records": records}


def write_records(result: dict[str, Any], sink: BinaryIO) -> dict[str, Any]:
    """Write a game's records to ``sink`` as JSON lines; the result without them (for ``summarize``)."""
    for record in result["records"]:
        sink.write(orjson.dumps(record) + b"\n")
    return {**result, "records": []}


def jobs(games: int, seed: int, rings: int, houses: int, turns: int, ai: list[str],
         models: str | None = None, sources: Mapping[str, str] | None = None) -> list[Job]:
    """Game i plays seed + i; players go round the ``ai`` list, turned by one each game.

    Learned players (``policy:NAME[@VERSION]``) are looked up in ``models`` now and pinned to
    a version, so every game of the batch seats the same one; raises ``ValueError`` for an
    unknown personality, a missing model or one that may not play."""
    sources = dict(sources or {})
    pinned = []
    for name in ai:
        learned = source(name, sources)
        if learned is None and name not in PERSONALITIES:
            learned_ones = f" (or {', '.join(p + ':NAME[@VERSION]' for p in sources)})" if sources else ""
            raise ValueError(f"no AI personality {name!r}; one of {', '.join(PERSONALITIES)}{learned_ones}")
        pinned.append(name if learned is None else learned.pin(name, models))
    return [Job(i, seed + i, rings, houses, turns, tuple(pinned[(i + h) % len(pinned)] for h in range(houses)), models,
                tuple(sorted(sources.items()))) for i in range(games)]


def run(batch: list[Job], workers: int = 1, backend: str = "local", ordered: bool = False) -> Iterator[dict[str, Any]]:
    """Each game's result as it finishes, on local processes or Ray tasks (on the cluster that
    ``RAY_ADDRESS`` names, else on a Ray started here); the same games either way.  ``ordered``:
    in the batch's order instead, so the records written are the same bytes whatever the workers."""
    if backend == "ray":
        try:
            import ray
        except ImportError as exc:
            raise RuntimeError("--backend ray needs Ray: pip install 'everturn[ray]' (or run with --backend local)") \
                from exc
        if os.environ.get("RAY_ADDRESS"):  # a cluster's: it has its own CPUs
            ray.init(ignore_reinit_error=True)
        else:  # a Ray of our own on this machine, ``workers`` CPUs wide
            ray.init(ignore_reinit_error=True, num_cpus=workers or None)
        remote = ray.remote(play)
        pending = [remote.remote(job) for job in batch]
        if ordered:
            yield from (ray.get(ref) for ref in pending)
            return
        while pending:
            done, pending = ray.wait(pending)
            yield from ray.get(done)
        return
    if workers <= 1:
        yield from (play(job) for job in batch)
        return
    with ProcessPoolExecutor(max_workers=min(workers, os.cpu_count() or 1)) as pool:
        futures = [pool.submit(play, job) for job in batch]
        for future in futures if ordered else as_completed(futures):
            yield future.result()


def summarize(results: list[dict[str, Any]]) -> dict[str, Any]:
    """Wins by personality (share of the games it played, with a Wilson 95% interval), game
    length, and turn time percentiles."""
    from .combat import wilson

    played: dict[str, int] = {}
    won: dict[str, int] = {}
    for result in results:
        for name in set(result["personalities"]):
            played[name] = played.get(name, 0) + 1
        if result["winner_personality"] is not None:
            won[result["winner_personality"]] = won.get(result["winner_personality"], 0) + 1
    times = sorted(ms for result in results for ms in result["turn_ms"])
    lengths = [result["turns"] for result in results]

    def percentile(q: float) -> float:
        return round(times[min(len(times) - 1, int(q * len(times)))], 2) if times else 0.0

    return {
        "games": len(results),
        "wins": {name: {"won": won.get(name, 0), "played": played[name],
                        "share": round(won.get(name, 0) / played[name], 3),
                        "ci95": wilson(won.get(name, 0), played[name])} for name in sorted(played)},
        "game_turns": {"mean": round(sum(lengths) / len(lengths), 2) if lengths else 0.0,
                       "min": min(lengths, default=0), "max": max(lengths, default=0)},
        "turn_ms": {"p50": percentile(0.5), "p90": percentile(0.9), "p99": percentile(0.99)},
    }
