"""An actor's state as a stream subscriber sees it, kept with the kind's own pure ``evolve``.

The server sends a ``snapshot`` (the state at ``seq``) and then each ``event``; applying
the events with the same ``evolve`` the actor runs gives the browser exactly the state the
server holds, with no reload and no second request per event.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol

from actors.behavior import Behavior


class Live(Protocol):
    """What a page keeps of a stream (``LiveActor``, or a kind's own, as the strategy page's projected game)."""

    def apply(self, message: dict[str, Any]) -> bool: ...

    def take_events(self) -> list[Any]: ...


@dataclass
class LiveActor:
    behavior: Behavior[Any]
    state: Any = None
    seq: int = 0
    events: list[Any] = field(default_factory=list)  # applied since the last call to take_events
    keep_changes: bool = False  # also keep (state before, event, state after) for take_changes
    changes: list[tuple[Any, Any, Any]] = field(default_factory=list)

    def apply(self, message: dict[str, Any]) -> bool:
        """Take one stream message; True when the state changed (a snapshot or an event)."""
        kind = message.get("type")
        if kind == "snapshot":
            self.state = self.behavior.State.model_validate(message["state"])
            self.seq = message["seq"]
            self.events.clear()
            return True
        if kind == "event" and self.state is not None:
            if message["seq"] <= self.seq:
                return False  # already folded into the snapshot
            body = message["event"]
            event = self.behavior.load_event({"t": body["type"], "v": body["version"], "d": body["data"]})
            before, self.state = self.state, self.behavior.evolve(self.state, event)
            if self.keep_changes:
                self.changes.append((before, event, self.state))
            self.seq = message["seq"]
            self.events.append(event)
            return True
        return False

    def take_events(self) -> list[Any]:
        events, self.events = self.events, []
        return events

    def take_changes(self) -> list[tuple[Any, Any, Any]]:
        """(state before, event, state after) of each event since the last call (with ``keep_changes``)."""
        changes, self.changes = self.changes, []
        return changes
