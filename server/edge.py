"""The lean websocket edge: ``/ws`` on trio streams, framed by the ``websockets`` package's sans-I/O protocol.

hypercorn serves HTTP. Its websocket path (wsproto, then ASGI messages, then quart's
websocket object) cost more CPU per frame than the commands behind it, so a connection that
opens with a websocket upgrade to ``/ws`` skips it: hypercorn's per-connection handler
(``server.serve.GuardedTCPServer``) shows each new connection's first request head to
:func:`read_head`; an upgrade to ``/ws`` is served here by :func:`serve`, with the same
session as the quart route (``server.ws``), and anything else goes on to hypercorn with the
bytes already read (:class:`Replayed`). The floor of ``everturn bench peers`` serves its
echo on this same edge (``server.bench.floor``). A websocket opened later on a kept-alive HTTP
connection still takes the quart route, which stays.

The protocol's limits are the route's: a message (fragments added up) past
``max_frame_bytes`` closes with 1009 before its payload is read, invalid UTF-8 in a text
message with 1007, a protocol error (an unmasked frame, a stray continuation) with 1002.
Pings are answered, a close is echoed, and when the server shuts down each connection is
closed with 1001.
"""
from __future__ import annotations

import logging
import re
from collections import deque
from collections.abc import Awaitable, Callable
from typing import Any

import trio
from websockets.exceptions import InvalidState
from websockets.frames import CloseCode, Frame, Opcode
from websockets.http11 import Request, Response
from websockets.protocol import Protocol, Side, State
from websockets.server import ServerProtocol

# The protocol logs each connection's opening and closing at INFO: thousands of lines when a
# crowd arrives. Its warnings and errors stay; setLevel(logging.INFO) on it brings the rest back.
protocol_log = logging.getLogger("everturn.edge.protocol")
protocol_log.setLevel(logging.WARNING)

HEAD_LIMIT = 16 * 1024  # a request head longer than this is hypercorn's to refuse
HEAD_TIMEOUT_S = 5.0  # hypercorn's keep-alive timeout: a client that sends nothing is its to close
RECEIVE_BYTES = 1 << 16
CLOSE_TIMEOUT_S = 2.0  # a closing socket's last bytes may take this long to leave
_PATH = b"GET /ws"
_UPGRADE = re.compile(rb"\r\nupgrade:[ \t]*websocket[ \t]*\r\n", re.IGNORECASE)


def _may_be_upgrade(data: bytes) -> bool:
    """Whether ``data`` (so far) may still be the head of ``GET /ws`` (or ``/ws?...``)."""
    if len(data) <= len(_PATH):
        return _PATH.startswith(data)
    return data.startswith(_PATH) and data[len(_PATH):len(_PATH) + 1] in (b" ", b"?")


def is_upgrade(head: bytes) -> bool:
    """A complete request head asking for a websocket on ``/ws``."""
    end = head.find(b"\r\n\r\n")
    return end >= 0 and _may_be_upgrade(head) and _UPGRADE.search(head, 0, end + 2) is not None


async def read_head(stream: trio.abc.ReceiveStream) -> bytes:
    """What the client sent first: read on only while it may be a ``/ws`` upgrade whose head has
    not ended (at most :data:`HEAD_LIMIT` bytes and :data:`HEAD_TIMEOUT_S`); b"" if it left."""
    data = b""
    with trio.move_on_after(HEAD_TIMEOUT_S):
        while _may_be_upgrade(data) and b"\r\n\r\n" not in data and len(data) <= HEAD_LIMIT:
            try:
                chunk = await stream.receive_some(RECEIVE_BYTES)
            except trio.BrokenResourceError:  # reset: hypercorn finds it closed
                break
            if not chunk:
                break
            data += chunk
    return data


class Replayed(trio.abc.Stream):
    """A socket stream whose first bytes were read already: hypercorn reads them again first."""

    def __init__(self, stream: trio.SocketStream, first: bytes) -> None:
        self.stream, self.first = stream, first
        self.socket = stream.socket  # hypercorn reads the peer's address from it

    async def receive_some(self, max_bytes: int | None = None) -> bytes:
        if self.first:
            data, self.first = self.first, b""
            return data
        return await self.stream.receive_some(max_bytes)

    async def send_all(self, data: bytes | bytearray | memoryview) -> None:
        await self.stream.send_all(data)

    async def wait_send_all_might_not_block(self) -> None:
        await self.stream.wait_send_all_might_not_block()

    async def send_eof(self) -> None:
        await self.stream.send_eof()

    async def aclose(self) -> None:
        await self.stream.aclose()


class Closed(Exception):
    """The connection is over (the peer left or closed, or the protocol failed it)."""


class EdgeSocket:
    """One websocket connection as ``server.ws.Session`` uses it (a ``server.ws.Socket``), on a
    trio stream and a ``ServerProtocol`` whose handshake ``response`` (a 101) ``accept`` sends."""

    def __init__(self, stream: trio.SocketStream, protocol: ServerProtocol, response: Response | None) -> None:
        self.stream, self.protocol, self.response = stream, protocol, response
        self.remote_addr: str | None = _peer(stream)
        self._lock = trio.StrictFIFOLock()  # the writer and the reader's pongs share the stream
        self._messages: deque[str | bytes] = deque()  # whole messages received, not yet taken
        self._fragments: list[bytes] = []
        self._fragmented: Opcode | None = None
        self.closed = False
        self.unframed = 0  # bytes received that no whole frame has accounted for yet (a frame on its way)

    async def accept(self) -> None:
        if self.response is not None:
            self.protocol.send_response(self.response)
            self.response = None
        await self._flush()

    async def receive(self) -> str | bytes:
        """The next whole message; raises :class:`Closed` once the connection is over."""
        while not self._messages:
            if self.closed:
                raise Closed()
            try:
                data = await self.stream.receive_some(RECEIVE_BYTES)
            except (trio.BrokenResourceError, trio.ClosedResourceError):
                data = b""
            if data:
                self.unframed += len(data)
                self.protocol.receive_data(data)
            else:
                self.protocol.receive_eof()
            self._take(self.protocol.events_received())
            await self._flush()  # pongs, the close echoed or sent
            if not data or self.protocol.close_expected():
                self.closed = True
        return self._messages.popleft()

    def _take(self, events: list[Any]) -> None:
        for frame in events:
            if not isinstance(frame, Frame):
                continue
            self.unframed -= _wire_size(frame)
            if frame.opcode in (Opcode.TEXT, Opcode.BINARY):
                self._fragmented, self._fragments = frame.opcode, [frame.data]
            elif frame.opcode is Opcode.CONT and self._fragmented is not None:
                self._fragments.append(frame.data)
            else:
                continue  # control frames: the protocol answered them
            if frame.fin:
                data, kind = b"".join(self._fragments), self._fragmented
                self._fragmented, self._fragments = None, []
                if kind is Opcode.BINARY:
                    self._messages.append(data)
                    continue
                try:
                    self._messages.append(data.decode())
                except UnicodeDecodeError:
                    self.protocol.fail(CloseCode.INVALID_DATA, "invalid UTF-8 in a text message")
                    return  # nothing after it is read

    async def send_many(self, texts: list[str]) -> None:
        """Send these text messages in one write; raises :class:`Closed` once the connection is over."""
        try:
            for text in texts:
                self.protocol.send_text(text.encode())
        except InvalidState:  # closing or closed: what is left to send goes nowhere
            self.closed = True
            raise Closed() from None
        await self._flush()

    async def release(self) -> tuple[int, list[str | bytes]] | None:
        """Give up the connection at a frame boundary: its socket's file descriptor (this process's
        copy, now the caller's) and the whole messages received and not taken; None, and the
        connection goes on here, when a frame is half received or a message half assembled.
        Nothing is sent: the peer sees no change (``server.shards.handoff`` moves it to another
        process)."""
        async with self._lock:  # no write is half done
            if self.closed or self.unframed or self._fragmented is not None:
                return None
            self.closed = True
            messages, self._messages = list(self._messages), deque()
            return self.stream.socket.detach(), messages

    async def close(self, code: CloseCode, reason: str = "") -> None:
        """Start the closing handshake (the peer's echo ends ``receive``)."""
        try:
            self.protocol.send_close(code, reason)
        except InvalidState:
            return
        await self._flush()

    async def _flush(self) -> None:
        async with self._lock:
            writes = self.protocol.data_to_send()
            data = b"".join(writes)
            try:
                if data:
                    await self.stream.send_all(data)
                if writes and not writes[-1]:  # b"": the protocol ends its half of the TCP connection
                    await self.stream.send_eof()
            except (trio.BrokenResourceError, trio.ClosedResourceError, trio.BusyResourceError):
                self.closed = True
                raise Closed() from None


def _wire_size(frame: Frame) -> int:
    """Bytes ``frame`` took on the wire from a client (masked; no extension changes a payload's length here)."""
    length = len(frame.data)
    return length + 6 + (0 if length < 126 else 2 if length < 1 << 16 else 8)


def _peer(stream: trio.SocketStream) -> str | None:
    try:
        peer = stream.socket.getpeername()
    except OSError:
        return None
    return str(peer[0]) if isinstance(peer, tuple) else None  # (host, port, ...); not a unix socket's path


class Closing:
    """The open connections of one server, each closed with 1001 once it shuts down: one task
    (:meth:`run`) for all of them, not a watcher a connection (a task costs 3 KB)."""

    def __init__(self) -> None:
        self.open: dict[EdgeSocket, trio.CancelScope] = {}
        self.closing = False

    async def run(self, stop: trio.Event) -> None:
        """Once ``stop`` is set: a close frame to every connection, a moment for the echoes, then end them."""
        await stop.wait()
        self.closing = True
        with trio.move_on_after(CLOSE_TIMEOUT_S):
            async with trio.open_nursery() as nursery:
                for socket in list(self.open):
                    nursery.start_soon(self._close, socket)
            while self.open:  # each peer's echo ends its connection
                await trio.sleep(0.05)
        for scope in list(self.open.values()):
            scope.cancel()

    @staticmethod
    async def _close(socket: EdgeSocket) -> None:
        try:
            await socket.close(CloseCode.GOING_AWAY, "the server is shutting down")
        except Closed:
            pass


async def serve(stream: trio.SocketStream, head: bytes, *, session: Callable[[EdgeSocket], Awaitable[None]],
                max_bytes: int, closing: Closing) -> None:
    """Serve a websocket whose request head (and perhaps first frames) ``head`` is: ``session``
    (the server's is ``server.ws.serve_connection``) runs on it until either side ends it or
    ``closing`` closes it (the server shuts down); then the stream is closed."""
    protocol = ServerProtocol(max_size=max_bytes, logger=protocol_log)
    protocol.receive_data(head)
    events = protocol.events_received()
    try:
        response = protocol.accept(events[0]) if events and isinstance(events[0], Request) else None
        if response is None or response.status_code != 101 or closing.closing:  # unparsable, refused, too late
            if response is not None and response.status_code != 101:
                protocol.send_response(response)
            elif response is not None:
                protocol.send_response(protocol.reject(503, "the server is shutting down\n"))
            await EdgeSocket(stream, protocol, None).accept()  # what the protocol answered (400, 426)
            return
        socket = EdgeSocket(stream, protocol, response)
        socket.unframed = len(head) - (head.index(b"\r\n\r\n") + 4)  # what came behind the request head
        socket._take(events[1:])  # frames sent right behind the request
        await hold(socket, session, closing)
    except Closed:
        pass
    finally:
        await _close(stream)


async def _close(stream: trio.SocketStream) -> None:
    """Close ``stream`` even while being cancelled (its last bytes get :data:`CLOSE_TIMEOUT_S`)."""
    with trio.move_on_after(CLOSE_TIMEOUT_S) as scope:
        scope.shield = True
        await stream.aclose()


async def hold(socket: EdgeSocket, session: Callable[[EdgeSocket], Awaitable[None]], closing: Closing) -> None:
    """Run ``session`` on an open ``socket`` until either side ends it or ``closing`` closes it."""
    with trio.CancelScope() as scope:
        closing.open[socket] = scope
        try:
            await session(socket)
        except* Closed:
            pass
        finally:
            del closing.open[socket]


async def serve_adopted(stream: trio.SocketStream, messages: list[str | bytes], *,
                        session: Callable[[EdgeSocket], Awaitable[None]], max_bytes: int, closing: Closing) -> None:
    """Serve an open websocket another process served until now (``EdgeSocket.release``): its next frame
    starts on ``stream``, ``messages`` came before it; as :func:`serve` does after the handshake."""
    protocol = Protocol(Side.SERVER, state=State.OPEN, max_size=max_bytes, logger=protocol_log)
    socket = EdgeSocket(stream, protocol, None)  # type: ignore[arg-type]  # a server protocol past its handshake
    socket._messages.extend(messages)
    try:
        if closing.closing:
            await socket.close(CloseCode.GOING_AWAY, "the server is shutting down")
            return
        await hold(socket, session, closing)
    except Closed:
        pass
    finally:
        await _close(stream)
