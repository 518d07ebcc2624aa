"""Campaign commands (what clients ask) and events (what happened, stored forever)."""
from __future__ import annotations

from datetime import datetime

from pydantic import Field, model_validator

from ..messages import Command, Event
from .state import Character, Player, Post, Settings

ID = r"^[A-Za-z0-9_-]{1,64}$"
TEXT = Field(min_length=1, max_length=8000)


# -- commands --------------------------------------------------------------------------

class CreateCampaign(Command):
    title: str = Field(min_length=1, max_length=200)
    ruleset: str = Field("pf2e-remaster", pattern="^pf2e-remaster$")
    settings: Settings = Settings()


class JoinCampaign(Command):
    """Join with a character; ``player_id`` defaults to the token's character."""

    character: Character
    player_id: str | None = Field(None, pattern=ID)


class PostAction(Command):
    text: str = TEXT
    player_id: str | None = Field(None, pattern=ID, description="for GM and operator tokens acting for a player")


class PostNarration(Command):
    text: str = TEXT


class SetDeadline(Command):
    """A ticking clock: when ``due`` passes, ``consequence`` is narrated and the deadline cleared."""

    deadline_id: str = Field(pattern=ID)
    due: datetime | None = None
    in_hours: float | None = Field(None, gt=0, le=24 * 365)
    consequence: str = TEXT

    @model_validator(mode="after")
    def _one_time(self) -> "SetDeadline":
        if (self.due is None) == (self.in_hours is None):
            raise ValueError("give exactly one of due (a time) or in_hours")
        if self.due is not None and self.due.tzinfo is None:
            raise ValueError("due needs a timezone (e.g. 2026-02-28T12:00:00Z)")
        return self


class ClearDeadline(Command):
    deadline_id: str = Field(pattern=ID)


class UpdateSettings(Command):
    settings: Settings


# -- events ----------------------------------------------------------------------------

class CampaignCreated(Event):
    title: str
    ruleset: str
    gm: str | None
    settings: Settings
    at: float


class PlayerJoined(Event):
    player: Player


class Posted(Event):
    """An action, a narration or a notice entered the post log."""

    post: Post


class PlayerStatusChanged(Event):
    player_id: str
    status: str
    at: float


class DeadlineSet(Event):
    deadline_id: str
    due: float
    consequence: str
    at: float


class DeadlineCleared(Event):
    deadline_id: str
    passed: bool  # True: it ran out and its consequence was posted


class SettingsUpdated(Event):
    settings: Settings
