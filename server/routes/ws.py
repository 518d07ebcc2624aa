"""The websocket route: protocol v1 (docs/protocol.md, ``server.ws``); not in the OpenAPI document."""
from __future__ import annotations

from quart import websocket

from ..requests import everturn
from ..ws import serve_connection
from .table import Resource

sockets = Resource("websocket", tag="websocket")


@sockets.websocket("/ws")
async def ws() -> None:
    await serve_connection(everturn(), websocket)
