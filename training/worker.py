"""Training jobs as the server's ``train`` kind runs them: in the ``training`` worker process, niced.

``JOBS`` is what the composition root gives ``actors.train.TrainKind(jobs=...)``; its
functions run in the runtime's ``training`` process pool (torch loads there, never in the
server), each at the lowest CPU priority: training is batch work, and on a busy machine
the server's loop and the narrator (which players wait on) come first.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any, Callable

from .evaluate import TURNS

TRAINING_NICE = 10  # the training worker's CPU priority: below everything interactive


def _batch_priority() -> None:
    """Set, not added: the same worker runs chunk after chunk."""
    os.setpriority(os.PRIO_PROCESS, 0, TRAINING_NICE)


def run_chunk(*args: Any) -> dict[str, Any]:
    from .jobs import run_chunk as chunk  # in the training worker process: torch never loads in the server

    _batch_priority()
    return chunk(*args)


def finish(*args: Any) -> dict[str, Any]:
    from .jobs import finish as evaluated

    _batch_priority()
    return evaluated(*args)


@dataclass(frozen=True)
class WorkerJobs:
    preload: tuple[str, ...] = ("training.jobs",)  # torch and the trainer, loaded once by the forkserver
    evaluation_turns: int = TURNS

    @property
    def run_chunk(self) -> Callable[..., dict[str, Any]]:
        return run_chunk

    @property
    def finish(self) -> Callable[..., dict[str, Any]]:
        return finish


JOBS = WorkerJobs()
