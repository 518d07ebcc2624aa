"""What the training kind knows of training: the ``Jobs`` it is given at composition.

The kind never imports torch or the trainer: the composition root (the CLI) passes
``training.worker.JOBS``; without one, ``StartTraining`` is refused.
"""
from __future__ import annotations

from typing import Any, Callable, Protocol


class Jobs(Protocol):
    preload: tuple[str, ...]  # modules the training worker process imports once (torch, the trainer)
    evaluation_turns: int     # the length of one evaluation duel, for the evaluation's time limit

    @property
    def run_chunk(self) -> Callable[..., dict[str, Any]]:
        """A module-level function run in the ``training`` worker: one chunk, from a checkpoint to the next."""

    @property
    def finish(self) -> Callable[..., dict[str, Any]]:
        """A module-level function run in the ``training`` worker: evaluate the model and register it."""
