"""``campaign/{id}``: commands validated against the state, enforcement on durable timers."""
from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

from ..behavior import Behavior
from ..errors import Rejected
from ..messages import Cancel, Command, Context, Decision, Event, Schedule, TimerFired
from . import enforcement
from .messages import (
    CampaignCreated, ClearDeadline, CreateCampaign, DeadlineCleared, DeadlineSet, JoinCampaign, PlayerJoined,
    PlayerStatusChanged, PostAction, Posted, PostNarration, SetDeadline, SettingsUpdated, UpdateSettings,
)
from .state import RECENT_POSTS, Campaign, Deadline, Player


class CampaignKind(Behavior[Campaign]):
    kind = "campaign"
    State = Campaign
    commands = (CreateCampaign, JoinCampaign, PostAction, PostNarration, SetDeadline, ClearDeadline,
                UpdateSettings, TimerFired)
    events = (CampaignCreated, PlayerJoined, Posted, PlayerStatusChanged, DeadlineSet, DeadlineCleared,
              SettingsUpdated)

    def decide(self, state: Campaign, command: Command, ctx: Context) -> Decision:
        now = ctx.now.timestamp()
        fired = command.name if isinstance(command, TimerFired) else None
        if isinstance(command, TimerFired):
            events = enforcement.enforce(state, now, self.evolve)
        else:
            events = self._handle(state, command, ctx, now)
        after = state
        for event in events:
            after = self.evolve(after, event)
        return Decision(events=events, timers=timer_changes(enforcement.plan(state), enforcement.plan(after), fired))

    def _handle(self, state: Campaign, command: Command, ctx: Context, now: float) -> list[Event]:
        by = ctx.by or {}
        if isinstance(command, CreateCampaign):
            require_gm(by)
            if state.created:
                raise Rejected("campaign/exists", "this campaign already exists")
            return [CampaignCreated(title=command.title, ruleset=command.ruleset, gm=by.get("token_id"),
                                    settings=command.settings, at=now)]
        if not state.created:
            raise Rejected("campaign/not_created", "create the campaign first (CreateCampaign)")
        match command:
            case JoinCampaign(character=character):
                player_id = acting_player(by, command.player_id)
                if player_id in state.players:
                    raise Rejected("campaign/already_joined", f"{player_id} already plays in this campaign")
                if character.hp > character.max_hp:
                    raise Rejected("campaign/invalid_character", "hp cannot exceed max_hp")
                return [PlayerJoined(player=Player(player_id=player_id, character=character, joined_at=now))]
            case PostAction(text=text):
                player_id = acting_player(by, command.player_id)
                player = state.players.get(player_id)
                if player is None:
                    raise Rejected("campaign/not_a_player", f"{player_id} has not joined this campaign")
                back = [PlayerStatusChanged(player_id=player_id, status="active", at=now)] if player.status != "active" else []
                return [*back, enforcement.post(state, "action", text, now, None, author=player_id)]
            case PostNarration(text=text):
                require_gm(by)
                return [enforcement.post(state, "narration", text, now, None, author=by.get("token_id") or "gm")]
            case SetDeadline(deadline_id=deadline_id, consequence=consequence):
                require_gm(by)
                due = command.due.timestamp() if command.due is not None else now + command.in_hours * 3600
                if due <= now:
                    raise Rejected("campaign/deadline_in_past", "a deadline must lie in the future")
                return [DeadlineSet(deadline_id=deadline_id, due=due, consequence=consequence, at=now)]
            case ClearDeadline(deadline_id=deadline_id):
                require_gm(by)
                if deadline_id not in state.deadlines:
                    raise Rejected("campaign/no_such_deadline", f"no deadline {deadline_id!r}")
                return [DeadlineCleared(deadline_id=deadline_id, passed=False)]
            case UpdateSettings(settings=settings):
                require_gm(by)
                return [SettingsUpdated(settings=settings)]
        raise AssertionError(f"unhandled command {command!r}")

    def evolve(self, state: Campaign, event: Event) -> Campaign:
        match event:
            case CampaignCreated():
                return state.model_copy(update={"created": True, "title": event.title, "ruleset": event.ruleset,
                                                "gm": event.gm, "settings": event.settings, "created_at": event.at})
            case PlayerJoined(player=player):
                return state.model_copy(update={"players": {**state.players, player.player_id: player}})
            case Posted(post=post):
                update: dict[str, Any] = {"posts": (*state.posts, post)[-RECENT_POSTS:], "post_count": post.n}
                if post.kind == "action":
                    player = state.players[post.author]
                    update["players"] = {**state.players,
                                         post.author: player.model_copy(update={"last_action_at": post.at})}
                    update["last_player_action_at"] = post.at
                    if state.awaiting_narration_since is None:
                        update["awaiting_narration_since"] = post.at
                elif post.kind == "narration":
                    update["last_narration_at"] = post.at
                    update["awaiting_narration_since"] = None
                return state.model_copy(update=update)
            case PlayerStatusChanged(player_id=player_id, status=status):
                player = state.players[player_id].model_copy(update={"status": status})
                return state.model_copy(update={"players": {**state.players, player_id: player}})
            case DeadlineSet():
                deadline = Deadline(deadline_id=event.deadline_id, due=event.due, consequence=event.consequence,
                                    set_at=event.at)
                return state.model_copy(update={"deadlines": {**state.deadlines, event.deadline_id: deadline}})
            case DeadlineCleared(deadline_id=deadline_id):
                return state.model_copy(update={"deadlines": {k: v for k, v in state.deadlines.items()
                                                              if k != deadline_id}})
            case SettingsUpdated(settings=settings):
                return state.model_copy(update={"settings": settings})
        raise AssertionError(f"unknown event {event!r}")


def timer_changes(before: dict[str, float], after: dict[str, float], fired: str | None) -> list[Schedule | Cancel]:
    """Schedule what is new or moved, cancel what is gone; ``fired`` is no longer stored."""
    changes: list[Schedule | Cancel] = []
    for name, due in sorted(after.items()):
        if name == fired or before.get(name) != due:
            changes.append(Schedule(name, at=datetime.fromtimestamp(due, tz=timezone.utc)))
    changes.extend(Cancel(name) for name in sorted(before) if name not in after and name != fired)
    return changes


def is_gm(by: dict[str, Any]) -> bool:
    return not by or by.get("role") in ("operator", "gm") or (by.get("role") == "bot" and by.get("acts_as") == "gm")


def require_gm(by: dict[str, Any]) -> None:
    if not is_gm(by):
        raise Rejected("campaign/gm_only", "only the campaign's GM (or an operator) may do this")


def acting_player(by: dict[str, Any], asked: str | None) -> str:
    """Whose action this is: a player token's own character, or the one a GM names."""
    own = by.get("character")
    if own and not is_gm(by):
        if asked is not None and asked != own:
            raise Rejected("campaign/not_your_character", f"this token plays {own}, not {asked}")
        return own
    if asked is None:
        raise Rejected("campaign/player_required", "name the player_id this is for")
    return asked
