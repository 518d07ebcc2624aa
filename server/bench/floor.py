"""The floor of our websocket stack: a bare echo and broadcast on the lean edge ``/ws`` runs on.

:func:`serve_floor` listens with trio and hands each connection to ``server.edge`` exactly
as ``everturn serve`` does (``read_head``, ``is_upgrade``, ``serve`` with the server's frame
limit); only the session differs: :func:`echo` instead of the protocol's. ``everturn bench
server`` serves it in its own process's run; ``everturn bench peers`` runs it as a process of
its own: ``python -m server.bench.floor``, which prints ``{"url": ...}`` once listening and
serves until SIGTERM or SIGINT.

Every text frame is echoed back, except that a frame starting ``{"type":"broadcast"`` goes
to every other open connection instead. Both go through a per-connection outbound queue
drained by one writer task, a write at a time as ours are (``server.ws.one_write``).
"""
from __future__ import annotations

import json
import signal
import sys
from functools import partial
from typing import Any

import trio

from server import edge
from server.context import ServerSettings
from server.ws import one_write

BROADCAST = '{"type":"broadcast"'
QUEUE = 1024


async def echo(outboxes: dict[int, trio.MemorySendChannel[str]], socket: edge.EdgeSocket, queue: int = QUEUE) -> None:
    """The floor's session: echo or broadcast each text frame, through an outbound queue."""
    await socket.accept()
    outbox_send, outbox = trio.open_memory_channel[str](queue)
    me = id(outbox_send)

    async def writer() -> None:
        async for text in outbox:
            await socket.send_many(one_write(text, outbox))

    async with trio.open_nursery() as nursery:
        nursery.start_soon(writer)
        outboxes[me] = outbox_send
        try:
            while True:
                text = await socket.receive()
                if isinstance(text, bytes):
                    text = text.decode()
                if text.startswith(BROADCAST):
                    _broadcast(outboxes, me, text)
                else:
                    await outbox_send.send(text)
        finally:
            del outboxes[me]
            nursery.cancel_scope.cancel()


def _broadcast(outboxes: dict[int, Any], me: int, text: str) -> None:
    for who, other in list(outboxes.items()):
        if who != me:
            try:
                other.send_nowait(text)
            except trio.WouldBlock:
                pass  # a slow reader misses it, as ours would resync it


async def serve_floor(port: int = 0, queue: int = QUEUE, *, stop: trio.Event,
                      task_status: trio.TaskStatus[str] = trio.TASK_STATUS_IGNORED) -> None:
    """Serve the floor on 127.0.0.1:``port`` until ``stop`` is set; ``task_status`` gets its http url."""
    outboxes: dict[int, trio.MemorySendChannel[str]] = {}
    session = partial(echo, outboxes, queue=queue)
    max_bytes = ServerSettings().max_frame_bytes

    closing = edge.Closing()

    async def connection(stream: trio.SocketStream) -> None:
        head = await edge.read_head(stream)
        if edge.is_upgrade(head):
            await edge.serve(stream, head, session=session, max_bytes=max_bytes, closing=closing)
        else:
            await stream.aclose()

    async with trio.open_nursery() as nursery:
        listeners = await nursery.start(partial(trio.serve_tcp, connection, port, host="127.0.0.1"))
        task_status.started(f"http://127.0.0.1:{listeners[0].socket.getsockname()[1]}")
        await closing.run(stop)  # each connection closes with 1001
        nursery.cancel_scope.cancel()


async def _main(port: int) -> None:
    from server.serve import tune_collector

    stop = trio.Event()
    with trio.open_signal_receiver(signal.SIGINT, signal.SIGTERM) as signals:
        async with trio.open_nursery() as nursery:
            url = await nursery.start(partial(serve_floor, port, stop=stop))
            tune_collector()  # as ``everturn serve`` does, so both run under the same collector settings
            print(json.dumps({"url": url}), flush=True)
            async for _ in signals:
                stop.set()
                break


if __name__ == "__main__":
    trio.run(_main, int(sys.argv[1]) if sys.argv[1:] else 0)
