"""Training-job commands and events."""
from __future__ import annotations

import re
from pathlib import Path
from typing import Any, Literal

from pydantic import Field, field_validator

from ..messages import Command, Event, Internal

MODEL_NAME = re.compile(r"^[a-z0-9][a-z0-9_-]{0,39}$")


class ModelSpecIn(Command):
    hidden: int = Field(64, ge=4, le=1024)
    layers: int = Field(2, ge=1, le=6)


class StartTraining(Command):
    """Operator: train a strategy policy on ``everturn sim`` records and register it as ``name``."""

    data: str = Field(min_length=1, max_length=4096, description="path of a runs.jsonl on the server")
    name: str = Field(description="the model's name in the registry (a-z, 0-9, '-', '_')")
    steps: int = Field(2000, ge=1, le=10_000_000, description="behaviour-cloning steps")
    selfplay: int = Field(0, ge=0, le=1_000_000, description="self-play policy-gradient updates after cloning")
    minutes: float | None = Field(None, gt=0, le=7 * 24 * 60, description="or stop after this much training")
    batch: int = Field(256, ge=1, le=65_536)
    lr: float = Field(3e-3, gt=0, le=1)
    seed: int = Field(0, ge=0, le=2**31 - 1)
    checkpoint_every: int = Field(200, ge=1, le=1_000_000)
    imitate: Literal["winners", "all"] = "winners"
    games_per_update: int = Field(8, ge=1, le=1024)
    turns: int = Field(60, ge=1, le=1000, description="length of self-play duels")
    model: ModelSpecIn = Field(default_factory=ModelSpecIn)
    eval_games: int = Field(20, ge=2, le=10_000, description="duels against each personality at the end")

    @field_validator("name")
    @classmethod
    def _name(cls, name: str) -> str:
        if not MODEL_NAME.match(name):
            raise ValueError("a model name is 1-40 of a-z, 0-9, '-', '_', starting with a letter or digit")
        return name

    @field_validator("data")
    @classmethod
    def _data(cls, data: str) -> str:
        if not Path(data).is_file():  # checked where the command arrives; a job that loses it later fails plainly
            raise ValueError(f"no records file at {data}")
        return data


class PauseTraining(Command):
    """Stop after the chunk in progress (its checkpoint is kept); ``ResumeTraining`` goes on from it."""


class ResumeTraining(Command):
    """Go on from the last checkpoint."""


class CancelTraining(Command):
    """End the job for good; the chunk in progress is discarded."""

    reason: str = Field("", max_length=500)


class ChunkDone(Internal):
    run: int
    step: int
    checkpoint: str
    sha256: str
    figures: dict[str, Any]
    done: bool


class WorkFailed(Internal):
    run: int
    error: str


class Registered(Internal):
    run: int
    model_version: int
    evaluation: dict[str, Any]


class TrainingStarted(Event):
    spec: dict[str, Any]
    name: str
    eval_games: int
    at: float


class ChunkStarted(Event):
    run: int
    step: int
    at: float


class Checkpointed(Event):
    step: int
    checkpoint: str
    sha256: str
    figures: dict[str, Any]
    at: float


class Evaluating(Event):
    run: int
    at: float


class TrainingPaused(Event):
    at: float


class TrainingResumed(Event):
    at: float


class TrainingCancelled(Event):
    reason: str
    at: float


class WorkRetried(Event):
    error: str
    attempt: int
    at: float


class TrainingFailed(Event):
    error: str
    at: float


class TrainingFinished(Event):
    model_version: int
    evaluation: dict[str, Any]
    at: float
