"""What a VTT world tells Everturn, as campaign commands: pure mapping, no I/O.

Each event a bridge emits carries the VTT's own id; the route asks the campaign with that id as
the idempotency key, so an event sent again (after a reconnect, by a retry) is applied once.
So far: chat messages (a player's post, in or out of character; a whisper; the GM's narration
or an NPC's line) and scene changes.  Events the mapping does not know are refused by name.
"""
from __future__ import annotations

from typing import Any

from pydantic import ValidationError

from actors.campaign.messages import PostAction, PostNarration, StartScene, Whisper
from actors.messages import Command

EVENT_TYPES = ("chat", "scene")


class Unmapped(ValueError):
    """An event the bridge cannot turn into a command; ``code`` says which way."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


def command_of(event_type: str, data: dict[str, Any]) -> tuple[Command, bool]:
    """(the command, whether it is the GM's) for a VTT event; raises ``Unmapped``."""
    try:
        if event_type == "chat":
            text = data.get("content")
            player = data.get("player_id")
            if data.get("whisper_to"):
                return Whisper(text=text, to=tuple(data["whisper_to"]), player_id=player), player is None
            if player is not None:
                return PostAction(text=text, player_id=player, ooc=bool(data.get("ooc", False))), False
            return PostNarration(text=text, speaker=data.get("speaker") or None,
                                 ooc=bool(data.get("ooc", False))), True
        if event_type == "scene":
            return StartScene(title=data.get("title"), description=data.get("description") or ""), True
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(part) for part in first["loc"])
        raise Unmapped("command/invalid", f"{event_type}: {where}: {first['msg']}") from None
    raise Unmapped("bridge/unknown_event", f"no event type {event_type!r}; one of {', '.join(EVENT_TYPES)}")
