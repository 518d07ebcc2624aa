"""Learned players' orders, computed in the runtime's ``policy`` worker process.

A hosted game never runs a network on the trio loop: when a turn must resolve and houses
without orders are played by a ``policy:NAME[@VERSION]`` personality, the game journals
``PolicyAsked`` and hands :func:`orders` to the ``policy`` process pool
(``Work(where="process", pool="policy")``).  This module is what that worker runs: torch
loads there (with the first learned player), never in the server.  Each worker keeps the
players it loaded by pinned spec (``policy:duke@3``), so a model loads once per process;
``policy:NAME`` is pinned again on every call (a few small files), so a version deployed
meanwhile plays from the next turn on.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any, Callable

from engine_ext.strategy_orders import Order, compact
from engine_ext.strategy_state import Game
from training.registry import Registry

from .state import Strategy, from_board

_players: dict[tuple[str, str], Callable[[Game, int], list[Order]]] = {}  # (registry, pinned spec) -> player


def orders(models: str, players: dict[int, str], state: Strategy) -> dict[int, list[dict[str, Any]]]:
    """Each house's orders (compact, as ``TurnResolved`` journals them) from its learned player ``players[house]``,
    on the game ``state`` holds; raises ``RegistryError`` for a model that is gone or not playable."""
    game = from_board(state)
    return {house: [compact(order) for order in player(models, spec)(game, house)]
            for house, spec in sorted(players.items())}


def player(models: str | Path, spec: str) -> Callable[[Game, int], list[Order]]:
    """The learned player ``spec`` pinned to a version now, loaded once per process."""
    registry = Registry(models)
    name, version = registry.pin(spec)
    key = (str(registry.root.resolve()), f"policy:{name}@{version}")
    found = _players.get(key)
    if found is None:
        found = _players[key] = registry.player(key[1])  # torch loads here, in the worker
    return found
