"""What a training job remembers: its spec, where it stands, its figures."""
from __future__ import annotations

from typing import Any, Literal

from pydantic import Field

from ..messages import State

Status = Literal["new", "running", "paused", "evaluating", "finished", "cancelled", "failed"]
HISTORY = 500  # progress points kept for the plots (the journal has them all)


class Training(State):
    status: Status = "new"
    spec: dict[str, Any] = Field(default_factory=dict)
    name: str = ""
    eval_games: int = 20
    step: int = 0
    total: int = 0
    checkpoint: str | None = None      # the newest checkpoint's blob name
    sha256: str | None = None
    run: int = 0                       # the work in flight: its results count only while run matches
    attempts: int = 0                  # failures in a row
    history: list[dict[str, Any]] = Field(default_factory=list)   # step, loss, lr, samples/s, self-play wins
    model_version: int | None = None   # the registry's version of the trained model
    evaluation: dict[str, Any] | None = None
    error: str | None = None
    started_at: float = 0.0
    updated_at: float = 0.0

    @property
    def active(self) -> bool:
        return self.status in ("running", "evaluating")
