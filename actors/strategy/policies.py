"""What the strategy kind knows of learned players: the ``Policies`` it is given at composition.

The kind never imports a model registry or torch: the composition root (the CLI) passes one
(``training.hosted.RegistryPolicies``); without one a game seating ``policy:NAME`` is refused.
"""
from __future__ import annotations

from typing import Any, Callable, Protocol

from .state import Strategy


class Policies(Protocol):
    preload: tuple[str, ...]  # modules the policy worker process imports once

    def pin(self, spec: str) -> str:
        """``spec`` pinned to a version now; ``ValueError`` when it cannot play."""

    @property
    def orders(self) -> Callable[[str, dict[int, str], Strategy], dict[int, list[dict[str, Any]]]]:
        """A module-level function (run in the ``policy`` worker): each asking house's orders."""
