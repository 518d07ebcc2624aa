"""The websocket route: protocol v1 (docs/protocol.md, ``server.ws``); not in the OpenAPI document.

Connections that open with the upgrade are served by the lean edge (``server.edge``) and
never reach this route; it serves a websocket opened on a kept-alive HTTP connection, and
every one when the edge is off (``ServerSettings.lean_ws``).
"""
from __future__ import annotations

from typing import Any

from quart import websocket

from ..requests import everturn
from ..ws import serve_connection
from .table import Resource

sockets = Resource("websocket", tag="websocket")


class QuartSocket:
    """quart's websocket as a session's ``server.ws.Socket``."""

    def __init__(self, socket: Any) -> None:
        self.socket = socket
        self.remote_addr: str | None = socket.remote_addr

    async def accept(self) -> None:
        await self.socket.accept()

    async def receive(self) -> str | bytes:
        return await self.socket.receive()  # type: ignore[no-any-return]

    async def send_many(self, texts: list[str]) -> None:
        for text in texts:
            await self.socket.send(text)


@sockets.websocket("/ws")
async def ws() -> None:
    await serve_connection(everturn(), QuartSocket(websocket._get_current_object()))
