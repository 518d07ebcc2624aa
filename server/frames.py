"""What the websocket sends about events, made once and shared by every subscriber.

Only frames every reader may see are shared.  A reader who sees less (``Behavior.projects``:
a strategy game's players) gets frames made for it alone from the state after each event;
those states, not the frames, are what subscribers of one topic share (``StatesAfter``).
"""
from __future__ import annotations

from collections import OrderedDict
from typing import Any

import orjson


def event_body(event: Any, data: dict[str, Any] | None = None) -> dict[str, Any]:
    """An event as clients see it: ``{"type", "version", "data"}`` (``data``: a reader's projection of it)."""
    return {"type": type(event).__name__, "version": type(event).version,
            "data": event.model_dump(mode="json") if data is None else data}


class EventFrames:
    """Encoded ``event`` frames of the latest events, shared by every subscriber.

    An event fanned out to a thousand subscribers is turned into JSON once, not a thousand
    times; ``(topic, seq)`` names one journal entry for good, so a cached frame never goes
    stale.  Never holds a projected frame: those differ from reader to reader.
    """

    def __init__(self, size: int = 4096) -> None:
        self.size = size
        self._frames: OrderedDict[tuple[str, int], str] = OrderedDict()

    def get(self, topic: str, seq: int, event: Any) -> str:
        key = (topic, seq)
        frame = self._frames.get(key)
        if frame is None:
            frame = orjson.dumps({"type": "event", "topic": topic, "seq": seq, "event": event_body(event)}).decode()
            self._frames[key] = frame
            if len(self._frames) > self.size:
                self._frames.popitem(last=False)
        return frame


class StatesAfter:
    """The state right after each of the latest events, shared by the projected subscriptions of a topic.

    A projection needs the state after the event; folding it with the kind's ``evolve``
    (a strategy turn runs the resolver) once per event rather than once per subscriber.
    ``(topic, seq)`` names one journal entry for good, so the state after it never changes.
    """

    def __init__(self, size: int = 256) -> None:
        self.size = size
        self._states: OrderedDict[tuple[str, int], Any] = OrderedDict()

    def after(self, behavior: Any, topic: str, seq: int, before: Any, event: Any) -> Any:
        """The state after event ``seq`` of ``topic``; ``before`` is the state after event ``seq - 1``."""
        key = (topic, seq)
        state = self._states.get(key)
        if state is None:
            state = self._states[key] = behavior.evolve(before, event)
            if len(self._states) > self.size:
                self._states.popitem(last=False)
        return state
