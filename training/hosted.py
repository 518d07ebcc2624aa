"""Learned players in hosted games: what the strategy kind is given at composition (``RegistryPolicies``).

A hosted game never runs a network on the trio loop: when a turn must resolve and houses
without orders are played by a ``policy:NAME[@VERSION]`` personality, the game journals
``PolicyAsked`` and hands :func:`orders` to the ``policy`` process pool
(``Work(where="process", pool="policy")``).  This module is what that worker runs: torch
loads there (with the first learned player), never in the server.  The strategy kind
knows learned players only through the ``actors.strategy.policies.Policies`` it is given;
the CLI (the composition root) gives it a ``RegistryPolicies`` over ``--models``.  Each worker keeps the
players it loaded by pinned spec (``policy:duke@3``), so a model loads once per process;
``policy:NAME`` is pinned again on every call (a few small files), so a version deployed
meanwhile plays from the next turn on.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

from actors.strategy.state import Strategy, from_board
from engine_ext.strategy_orders import Order, compact
from engine_ext.strategy_state import Game

from .registry import Registry

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


@dataclass(frozen=True)
class RegistryPolicies:
    """The learned players of the model registry at ``models``, for ``StrategyKind(policies=...)``."""

    models: Path
    preload: tuple[str, ...] = ("training.hosted", "training.policy")  # the policy worker's imports, torch included

    def pin(self, spec: str) -> str:
        """``spec`` pinned to a version (``policy:duke@3``); ``ValueError`` (``RegistryError``) if it cannot play now
        (the registry's files say so: torch is not needed)."""
        name, version = Registry(self.models).pin(spec)
        return f"policy:{name}@{version}"

    @property
    def orders(self) -> Callable[[str, dict[int, str], Strategy], dict[int, list[dict[str, Any]]]]:
        return orders  # a module function: the worker pickles it by name
