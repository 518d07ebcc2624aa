"""The floor of our websocket stack: a bare echo and broadcast on hypercorn's trio worker.

Two forms of one app, both configured as ``server.serve.run_server`` configures hypercorn:

- :func:`bare_app`, raw ASGI (``everturn bench server`` serves it in its own process);
- :func:`quart_app`, the same on quart-trio, the framework ``/ws`` runs on (``everturn bench
  peers`` runs it as a process of its own: ``python -m server.bench.floor``, which prints
  ``{"url": ...}`` once listening and serves until SIGTERM or SIGINT).

Every text frame is echoed back, except that a frame starting ``{"type":"broadcast"`` goes
to every other open connection instead, through a per-connection outbound queue drained by
one writer task (as our connections have).
"""
from __future__ import annotations

import json
import signal
import sys
from functools import partial
from typing import Any

BROADCAST = '{"type":"broadcast"'
QUEUE = 1024


def hypercorn_config(max_frame_bytes: int, port: int = 0) -> Any:
    """The same settings ``server.serve.run_server`` gives hypercorn (loopback only)."""
    from hypercorn.config import Config

    config = Config()
    config.bind = [f"127.0.0.1:{port}"]
    config.websocket_max_message_size = max_frame_bytes
    config.graceful_timeout = 5
    config.accesslog = None
    return config


def bare_app(queue: int = QUEUE) -> Any:
    """A raw ASGI websocket app: echoes every text frame, except that a frame starting
    ``{"type":"broadcast"`` goes to every other open connection instead."""
    import trio

    outboxes: dict[int, trio.MemorySendChannel[str]] = {}

    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "lifespan":
            while True:
                message = await receive()
                if message["type"] == "lifespan.startup":
                    await send({"type": "lifespan.startup.complete"})
                elif message["type"] == "lifespan.shutdown":
                    await send({"type": "lifespan.shutdown.complete"})
                    return
        if scope["type"] != "websocket":
            await send({"type": "http.response.start", "status": 404, "headers": []})
            await send({"type": "http.response.body", "body": b""})
            return
        await receive()  # websocket.connect
        await send({"type": "websocket.accept"})
        outbox_send, outbox = trio.open_memory_channel[str](queue)

        async def writer() -> None:
            async for text in outbox:
                await send({"type": "websocket.send", "text": text})

        me = id(outbox_send)
        async with trio.open_nursery() as nursery:
            nursery.start_soon(writer)
            outboxes[me] = outbox_send
            try:
                while True:
                    message = await receive()
                    if message["type"] == "websocket.disconnect":
                        break
                    text = message.get("text") or (message.get("bytes") or b"").decode()
                    if text.startswith(BROADCAST):
                        _broadcast(outboxes, me, text)
                    else:
                        await send({"type": "websocket.send", "text": text})
            finally:
                del outboxes[me]
                nursery.cancel_scope.cancel()

    return app


def _broadcast(outboxes: dict[int, Any], me: int, text: str) -> None:
    import trio

    for who, other in list(outboxes.items()):
        if who != me:
            try:
                other.send_nowait(text)
            except trio.WouldBlock:
                pass  # a slow reader misses it, as ours would resync it


def quart_app(queue: int = QUEUE) -> Any:
    """:func:`bare_app` as a quart-trio app with one websocket route, ``/ws``."""
    import trio
    from quart import websocket
    from quart_trio import QuartTrio

    app = QuartTrio("everturn-floor")
    outboxes: dict[int, trio.MemorySendChannel[str]] = {}

    @app.websocket("/ws")
    async def ws() -> None:
        await websocket.accept()
        outbox_send, outbox = trio.open_memory_channel[str](queue)
        me = id(outbox_send)

        async def writer() -> None:
            async for text in outbox:
                await websocket.send(text)

        async with trio.open_nursery() as nursery:
            nursery.start_soon(writer)
            outboxes[me] = outbox_send
            try:
                while True:
                    text = await websocket.receive()
                    if isinstance(text, bytes):
                        text = text.decode()
                    if text.startswith(BROADCAST):
                        _broadcast(outboxes, me, text)
                    else:
                        await websocket.send(text)
            finally:
                del outboxes[me]
                nursery.cancel_scope.cancel()

    return app


async def _serve_floor(port: int) -> None:
    import trio
    from hypercorn.trio import serve

    from server.context import ServerSettings
    from server.serve import tune_collector

    stop = trio.Event()
    config = hypercorn_config(ServerSettings().max_frame_bytes, port)
    config.errorlog = None
    with trio.open_signal_receiver(signal.SIGINT, signal.SIGTERM) as signals:
        async with trio.open_nursery() as nursery:
            binds = await nursery.start(partial(serve, quart_app(), config, shutdown_trigger=stop.wait))
            tune_collector()  # as ``everturn serve`` does, so both run under the same collector settings
            print(json.dumps({"url": binds[0]}), flush=True)
            async for _ in signals:
                stop.set()
                break


if __name__ == "__main__":
    import trio

    trio.run(_serve_floor, int(sys.argv[1]) if sys.argv[1:] else 0)
