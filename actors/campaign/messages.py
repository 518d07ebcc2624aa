"""Campaign commands (what clients ask) and events (what happened, stored forever)."""
from __future__ import annotations

import re
from datetime import datetime

from typing import Annotated, Literal

from pydantic import AfterValidator, Field, StrictBool, field_validator, model_validator

from ..combat.state import Stats
from ..dice import parse
from ..messages import Command, Event, Internal
from .state import (
    Character, EncounterView, FollowUp, Frozen, Invite, Order, Player, Post, Roll, Scene, Settings, TurnMeta,
)

ID = r"^[A-Za-z0-9_-]{1,64}$"
TEXT = Field(min_length=1, max_length=8000)


def _readable(expression: str) -> str:
    parse(expression)  # DiceError is a ValueError: a command/invalid answer that says why
    return expression


Dice = Annotated[str, Field(min_length=1, max_length=100, examples=["1d20+7"]), AfterValidator(_readable)]


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
    """A player's post: in character (an action the GM answers), or out of character (``ooc``: table
    talk, no action); ``roll`` rolls dice with it and puts the result in the post."""

    text: str = TEXT
    player_id: str | None = Field(None, pattern=ID, description="for GM and operator tokens acting for a player")
    ooc: StrictBool = Field(False, description="out of character: table talk, not an action the GM answers")
    roll: Dice | None = Field(None, description="dice rolled with the post (the result is part of it)")


class PostNarration(Command):
    """The GM's answer to the players' actions since the last narration (one turn of play)."""

    text: str = TEXT
    meta: TurnMeta | None = Field(None, description="model, tool calls, timing: stored with the turn")
    speaker: str | None = Field(None, min_length=1, max_length=80, description="a named NPC the GM speaks as")
    ooc: StrictBool = Field(False, description="the GM out of character: table talk, not a turn of the story")
    roll: Dice | None = Field(None, description="dice rolled with the post (the result is part of it)")


class Whisper(Command):
    """A private message: a player to the GM (and other players named), or the GM to players.
    Only its author, its recipients and the GM see it; it is not an action the GM must answer."""

    text: str = TEXT
    to: tuple[str, ...] = Field(("gm",), min_length=1, max_length=20, description='"gm" and player ids')
    player_id: str | None = Field(None, pattern=ID, description="for GM and operator tokens writing as a player")

    @field_validator("to")
    @classmethod
    def _recipients(cls, to: tuple[str, ...]) -> tuple[str, ...]:
        for name in to:
            if not re.fullmatch(ID, name):
                raise ValueError(f"{name!r} is not a player id or \"gm\"")
        return tuple(dict.fromkeys(to))


class EditPost(Command):
    """Change the text of one's own post (the GM: its own posts); the GM keeps seeing the earlier text."""

    n: int = Field(ge=1)
    text: str = TEXT


class DeletePost(Command):
    """Take back one's own post (the GM: any post); the GM keeps seeing what it said."""

    n: int = Field(ge=1)


class CreateInvite(Internal):
    """From ``POST /api/v1/campaigns/{id}/invites``: the GM invites a seat (the route holds the secret)."""

    invite_id: str
    player_id: str
    digest: str
    note: str = ""
    expires_at: float


class ClaimInvite(Internal):
    """From the invite's link: the token made for it (revoked again if this is refused)."""

    invite_id: str
    digest: str
    token_id: str


class RevokeInvite(Internal):
    invite_id: str


class RollDice(Command):
    """Roll dice on the server (the authority): ``2d6+3``, ``d20-1``, ``4d6+1d4``.

    Players roll for their own character; the GM rolls as the GM, or for a player
    named by ``player_id``.  Faces come from the campaign's seeded dice stream and are
    stored with the event, so everyone sees the same roll, forever.
    """

    expression: Dice
    reason: str = Field("", max_length=200, description="what the roll is for, e.g. 'Stealth'")
    player_id: str | None = Field(None, pattern=ID, description="GM: roll for this player")
    faces: tuple[int, ...] | None = Field(None, max_length=200, description="GM or VTT bridge: the faces rolled "
                                          "elsewhere, each die in the order written (trusted, not the stream's)")


class MarkFollowing(Command):
    """GM: this player's character follows the party without acting (exploration default)."""

    player_id: str = Field(pattern=ID)


class SetMode(Command):
    """GM: switch between exploration and downtime (encounters start and end their own way)."""

    mode: Literal["exploration", "downtime"]


class StartScene(Command):
    """GM: a new scene (a place, a time, a situation); later posts belong to it."""

    title: str = Field(min_length=1, max_length=200)
    description: str = Field("", max_length=4000)


class Npc(Frozen):
    name: str = Field(min_length=1, max_length=80)
    initiative: int | None = Field(None, ge=-100, le=200, description="the result; default: rolled, d20 + "
                                   "Perception (or initiative_skill) from its stats")
    initiative_skill: str | None = Field(None, max_length=40, description="a skill of its stats to roll instead")
    cid: str | None = Field(None, pattern=ID, description="defaults to npc-1, npc-2, ... in the order given")
    stats: Stats | None = Field(None, description="a stat block: the rules run this creature (else narrative only)")
    adjustment: Literal["normal", "elite", "weak"] = "normal"
    hp: int | None = Field(None, ge=0, le=5000, description="starting HP (default: its max_hp)")
    zone: str = Field("melee", min_length=1, max_length=40)
    agent: StrictBool = Field(False, description="an external agent runs it (else the built-in tactics, if it has stats)")


class StartEncounter(Command):
    """GM: start an encounter (``combat/{campaign}.{n}``) with the players and the creatures named.

    Initiative is rolled by the encounter (d20 + Perception, or the skill named) unless a
    result is given; on a tie creatures act before players.
    """

    npcs: tuple[Npc, ...] = Field(default=(), max_length=50)
    players: tuple[str, ...] | None = Field(None, max_length=20, description="default: every player not inactive")
    initiative: dict[str, int] = Field(default_factory=dict, max_length=20, description="player_id -> a result "
                                       "rolled elsewhere; the others roll d20 + Perception in the encounter")
    initiative_skills: dict[str, str] = Field(default_factory=dict, max_length=20, description="player_id -> a "
                                              "skill to roll initiative with instead of Perception (e.g. stealth)")
    zones: dict[str, str] = Field(default_factory=dict, max_length=20, description="player_id -> starting zone "
                                  "(default: melee)")
    max_rounds: int = Field(10, ge=1, le=1000, description="the encounter ends itself after this many rounds")


class EndEncounter(Command):
    """GM: end the running encounter; the campaign returns to exploration."""


class ScheduleOrder(Command):
    """Post ``text`` when due, then each follow-up ``after_hours`` later (layered press)."""

    order_id: str = Field(pattern=ID)
    due: datetime | None = None
    in_hours: float | None = Field(None, gt=0, le=24 * 365)
    text: str = TEXT
    kind: Literal["narration", "notice"] = Field("narration", description="narration: it moves the story like the "
                                                 "GM's own; notice: an announcement")
    follow_ups: tuple[FollowUp, ...] = Field(default=(), max_length=20)

    @model_validator(mode="after")
    def _valid(self) -> "ScheduleOrder":
        one_time(self.due, self.in_hours)
        hours = [f.after_hours for f in self.follow_ups]
        if hours != sorted(hours):
            raise ValueError("follow_ups must be in order of after_hours")
        return self


class CancelOrder(Command):
    order_id: str = Field(pattern=ID)


class CombatUpdate(Internal):
    """From the campaign's encounter: the turn now, actions taken, skips to narrate, the end."""

    n: int
    round: int
    turn: int
    current: str | None
    name: str | None
    player_id: str | None
    turn_started_at: float
    turn_due: float | None
    ended: bool
    reason: str | None
    acted: tuple[tuple[str, str], ...] = ()
    skipped: tuple[tuple[str, str], ...] = ()  # (reason: skip | auto_skip, the combatant's name)
    active: tuple[str, ...] = ()  # players whose own command this was (a button counts): activity
    summary: str | None = None  # at the end: what happened, for the campaign's feed (actors.combat.log)
    paused: bool = False  # every character out of the initiative: no turn runs until one returns
    at: float
    xp: int = 0  # on a victory: the XP each character earns
    characters: tuple[tuple[str, int, tuple[str, ...]], ...] = ()  # at the end: (player_id, hp, conditions)


class SetDeadline(Command):
    """A ticking clock: when ``due`` passes, ``consequence`` is narrated and the deadline cleared."""

    deadline_id: str = Field(pattern=ID)
    due: datetime | None = None
    in_hours: float | None = Field(None, gt=0, le=24 * 365)
    consequence: str = TEXT

    @model_validator(mode="after")
    def _one_time(self) -> "SetDeadline":
        one_time(self.due, self.in_hours)
        return self


def one_time(due: datetime | None, in_hours: float | None) -> None:
    if (due is None) == (in_hours is None):
        raise ValueError("give exactly one of due (a time) or in_hours")
    if due is not None and due.tzinfo is None:
        raise ValueError("due needs a timezone (e.g. 2026-02-28T12:00:00Z)")


class ClearDeadline(Command):
    deadline_id: str = Field(pattern=ID)


class NarrateNpc(Command):
    """GM: the narrator voices a non-player character saying what ``hint`` asks; posted as a
    narration (``{npc}: {hint}`` when the narrator is off, busy or fails)."""

    npc: str = Field(min_length=1, max_length=80)
    hint: str = Field(min_length=1, max_length=2000, description="what the character should say or convey")


class NarrationDone(Internal):
    """From the narrator: what to post for a pending narration, and how it went."""

    n: int
    text: str
    meta: TurnMeta


class UpdateSettings(Command):
    """GM: change settings. Only the fields given change (templates too, text by text);
    the rest keep their current values."""

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


class CharacterChanged(Event):
    """A fight left its mark on a character sheet: hit points and conditions."""

    player_id: str
    hp: int
    conditions: tuple[str, ...]


class Posted(Event):
    """An action, a narration or a notice entered the post log."""

    post: Post


class PostNarrated(Event):
    """The narrator finished a pending post: its text (the model's or the template) and how it was made."""

    n: int
    text: str
    meta: TurnMeta


class DiceRolled(Event):
    roll: Roll
    dice_used: int  # the dice stream's position after this roll


class PlayerStatusChanged(Event):
    player_id: str
    status: str
    at: float


class PlayerActive(Event):
    """A player's own command was accepted (a combat button, a reaction, a roll): activity, not a post."""

    player_id: str
    at: float
    what: str = ""  # the command, e.g. Act, EndTurn, RollDice


class DormancyChanged(Event):
    """Every player inactive for ``settings.dormant_after_s`` (and no GM post meanwhile): the campaign
    sleeps, its timers and narration stop; a player's return or a GM's post wakes it, and its story
    clocks (deadlines, orders) move on by ``slept_s``, the time it slept."""

    dormant: bool
    at: float
    slept_s: float = 0.0


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


class ModeChanged(Event):
    mode: str
    at: float


class SceneStarted(Event):
    scene: Scene


class EncounterStarted(Event):
    encounter: EncounterView


class EncounterUpdated(Event):
    encounter: EncounterView


class EncounterClosed(Event):
    n: int
    reason: str
    at: float
    xp: int = 0  # awarded to each character (a victory: the creatures' XP by the tables)


class OrderScheduled(Event):
    order: Order


class PostEdited(Event):
    n: int
    text: str
    at: float
    by: str
    to: tuple[str, ...] | None = None  # a whisper's recipients: only they, its author and the GM read the text


class PostDeleted(Event):
    n: int
    at: float
    by: str


class InviteCreated(Event):
    invite: Invite


class InviteClaimed(Event):
    invite_id: str
    token_id: str
    at: float


class InviteRevoked(Event):
    invite_id: str
    at: float


class OrderChanged(Event):
    """An order moved on: dispatched (active), a follow-up landed, completed or cancelled."""

    order_id: str
    status: str
    steps_done: int
    at: float
