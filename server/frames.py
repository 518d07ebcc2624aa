"""What the websocket sends about events, made once and shared by every subscriber."""
from __future__ import annotations

from collections import OrderedDict
from typing import Any

import orjson


def event_body(event: Any) -> dict[str, Any]:
    """An event as clients see it: ``{"type", "version", "data"}``."""
    return {"type": type(event).__name__, "version": type(event).version, "data": event.model_dump(mode="json")}


class EventFrames:
    """Encoded ``event`` frames of the latest events, shared by every subscriber.

    An event fanned out to a thousand subscribers is turned into JSON once, not a thousand
    times; ``(topic, seq)`` names one journal entry for good, so a cached frame never goes
    stale.
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
