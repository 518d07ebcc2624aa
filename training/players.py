"""Learned players at headless tables: ``policy:NAME[@VERSION]`` from a model registry.

``engine_ext.headless`` is given this module's name (``training.registry.LEARNED_PLAYERS``,
by the CLI) and imports it only when a game seats a learned player.  ``pin`` runs once, before any game: it checks the model
exists and passed the deployment gate, and fixes its version (``policy:NAME`` is the
deployed one at that moment), so a batch plays one model however the registry moves
meanwhile.  ``player`` runs in each game (in worker processes too): a process loads each
model once.
"""
from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from engine_ext.strategy_ai import Policy

from .policy import Player, PolicyNet
from .registry import SPEC, Registry, RegistryError


def pin(name: str, models: str | Path | None) -> str:
    """``name`` with its version fixed (``policy:duke@3``); raises ``RegistryError`` (a ``ValueError``)
    for a bad name, a missing model or one that never passed the gate (``Registry.pin``)."""
    if models is None:
        raise RegistryError(f"{name}: no models directory to find it in")
    model, version = Registry(models).pin(name)
    return f"policy:{model}@{version}"


def player(name: str, models: str | Path | None, turns: int) -> Policy:
    """The pinned learned player ``name`` for games ``turns`` long (its state vectors count turns of those)."""
    found = SPEC.match(name)
    if not found or not found["version"] or models is None:
        raise RegistryError(f"{name!r} is not pinned to a version (headless.jobs pins it)")
    return Player(network(str(Path(models).resolve()), found["name"], int(found["version"])), turns=turns)


@lru_cache(maxsize=16)
def network(root: str, name: str, version: int) -> PolicyNet:
    return Registry(root).model(name, version)
