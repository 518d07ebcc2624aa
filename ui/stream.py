"""Following one actor's stream on a page: connect, subscribe, fold every message into a
:class:`~ui.live.Live` (a ``LiveActor``), show the connection's health, stop when the page goes away."""
from __future__ import annotations

import threading
from typing import Any, Callable

from nicegui import app, run, ui

from .link import Link, error_text
from .live import Live


class Follower:
    """``on_snapshot()`` after a (re)loaded state, ``on_events(events)`` after new events,
    ``on_transient(message)`` for live-only frames (a narration's tokens)."""

    def __init__(self, link: Link, address: str, live: Live, connection: ui.badge, problem: ui.label,
                 on_snapshot: Callable[[], None], on_events: Callable[[list[Any]], None],
                 on_transient: Callable[[dict[str, Any]], None] | None = None) -> None:
        self.link, self.address, self.live = link, address, live
        self.connection, self.problem = connection, problem
        self.on_snapshot, self.on_events, self.on_transient = on_snapshot, on_events, on_transient
        self.closed = False
        self.wanted = True

    async def run(self, page: Any) -> None:
        client = self.link.stream()
        page.on_delete(lambda: self.close(client))
        try:
            await run.io_bound(client.connect)
        except Exception as exc:  # noqa: BLE001 - anything that stops us following is shown, not raised
            self.connection.set_text("offline")
            self.problem.set_text(f"cannot follow {self.address}: {error_text(exc)}")
            return
        client.subscribe(self.address)
        while self.wanted and not self.closed and not app.is_stopping and not app.is_stopped:
            message = await run.io_bound(client.next_message, 0.5)
            if not self.wanted:
                break
            online = client.connected
            self.connection.set_text("live" if online else "reconnecting…")
            self.connection.props(f"color={'positive' if online else 'warning'}")
            if message is None or message.get("type") == "resync":  # after a resync a fresh snapshot follows
                continue
            if message.get("type") == "error":
                self.problem.set_text(f"{message.get('message')} ({message.get('code')})")
                continue
            if message.get("type") not in ("snapshot", "event"):
                if self.on_transient is not None:
                    self.on_transient(message)
                continue
            if not self.live.apply(message):
                continue
            if message["type"] == "snapshot":
                self.on_snapshot()
            else:
                self.on_events(self.live.take_events())
        self.close(client)

    def stop(self) -> None:
        """Stop following while the page stays (another actor is shown): the loop ends within half a second."""
        self.wanted = False

    def close(self, client: Any) -> None:
        if not self.closed:
            self.closed = True
            threading.Thread(target=client.close, name="everturn-ui-close", daemon=True).start()
