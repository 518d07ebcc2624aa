"""How good a policy is: duels against each rule-based personality on fixed seeded maps.

A duel is a two-house game on a 3-ring map, ``turns`` long; the policy sits at house
``game % 2`` so both seats count alike, and wins when its house is the last one or has
the most prestige at the turn limit.  The seeds are fixed (``seed + game``), so two
models are judged on the very same games.  Win rates come with Wilson 95% intervals.
"""
from __future__ import annotations

from typing import Any, Callable

from engine_ext.combat import wilson
from engine_ext.strategy_ai import PERSONALITIES, orders
from engine_ext.strategy_orders import Order
from engine_ext.strategy_state import Game, new_game
from engine_ext.strategy_turn import resolve

Policy = Callable[[Game, int], list[Order]]
RINGS, TURNS = 3, 60


def rule_based(personality: str) -> Policy:
    return lambda game, hid: orders(game, hid, personality)


def duel(first: Policy, second: Policy, seed: int, turns: int = TURNS) -> int | None:
    """The house that won (0: ``first``), or None for a game nobody won."""
    game = new_game(RINGS, 2, seed)
    players = (first, second)
    for _ in range(turns):
        game, report = resolve(game, {h.hid: players[h.hid](game, h.hid) for h in game.houses if h.alive},
                               turn_limit=turns)
        if report.winner is not None:
            return report.winner
    return None


def series(player: Policy, opponent: Policy, games: int, seed: int, turns: int = TURNS) -> tuple[int, int]:
    """(won, lost) by ``player`` in ``games`` duels on seeds ``seed``, ``seed + 1``, ..., seats alternating."""
    won = lost = 0
    for g in range(games):
        seat = g % 2
        pair = (player, opponent) if seat == 0 else (opponent, player)
        winner = duel(*pair, seed=seed + g, turns=turns)
        won += winner == seat
        lost += winner is not None and winner != seat
    return won, lost


def win_rate(player: Policy, opponent: Policy, games: int, seed: int, turns: int = TURNS) -> dict[str, Any]:
    won, _ = series(player, opponent, games, seed, turns)
    return {"won": won, "played": games, "share": round(won / games, 4), "ci95": wilson(won, games)}


def evaluate(player: Policy, games: int = 20, seed: int = 9_000, turns: int = TURNS,
             opponents: tuple[str, ...] = tuple(PERSONALITIES)) -> dict[str, Any]:
    """The policy's win rate against each personality, on the same seeds for every model."""
    return {"games_each": games, "seed": seed, "turns": turns, "rings": RINGS,
            "vs": {name: win_rate(player, rule_based(name), games, seed, turns) for name in opponents}}
