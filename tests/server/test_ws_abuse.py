"""The websocket endpoint against hostile clients (issue 18): broken and oversized frames,
fragments, floods, readers that never read, hundreds of connections. Each abuse costs the
abuser its own connection at most; the server stays ready for everyone else.

The clients here speak RFC 6455 frame by frame on a trio socket (:class:`RawWs`), so a
test can send what no well-behaved library would.
"""
from __future__ import annotations

import os
import struct
from typing import Any

import orjson
import trio

from .conftest import WAIT, bearer, command, http_client, operator_token

CLOSE, TEXT, CONTINUATION, PING, PONG = 0x8, 0x1, 0x0, 0x9, 0xA


class RawWs:
    """A websocket client that sends frames exactly as told (masked, as clients must)."""

    def __init__(self, stream: trio.SocketStream) -> None:
        self.stream = stream
        self.buffer = b""

    @classmethod
    async def connect(cls, running: Any, rcvbuf: int | None = None) -> "RawWs":
        host, port = running.url.removeprefix("http://").rsplit(":", 1)
        sock = trio.socket.socket()
        if rcvbuf is not None:  # a small receive window makes a reader that never reads felt at once
            sock.setsockopt(trio.socket.SOL_SOCKET, trio.socket.SO_RCVBUF, rcvbuf)
        with trio.fail_after(WAIT):
            await sock.connect((host, int(port)))
            client = cls(trio.SocketStream(sock))
            await client.stream.send_all(
                b"GET /ws HTTP/1.1\r\nHost: t\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n")
            head = await client.read_until(b"\r\n\r\n")
        assert head.startswith(b"HTTP/1.1 101"), head
        return client

    async def read_until(self, mark: bytes) -> bytes:
        while mark not in self.buffer:
            chunk = await self.stream.receive_some(65536)
            if not chunk:
                raise EOFError("the server closed the connection")
            self.buffer += chunk
        head, _, self.buffer = self.buffer.partition(mark)
        return head

    async def read_exactly(self, n: int) -> bytes:
        while len(self.buffer) < n:
            chunk = await self.stream.receive_some(65536)
            if not chunk:
                raise EOFError("the server closed the connection")
            self.buffer += chunk
        data, self.buffer = self.buffer[:n], self.buffer[n:]
        return data

    async def send_frame(self, payload: bytes, opcode: int = TEXT, fin: bool = True,
                         declared: int | None = None) -> None:
        """One frame; ``declared`` claims another payload length than the one sent."""
        length = len(payload) if declared is None else declared
        head = bytes([(0x80 if fin else 0) | opcode])
        if length < 126:
            head += bytes([0x80 | length])
        elif length < 1 << 16:
            head += bytes([0x80 | 126]) + struct.pack("!H", length)
        else:
            head += bytes([0x80 | 127]) + struct.pack("!Q", length)
        mask = os.urandom(4)
        masked = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
        await self.stream.send_all(head + mask + masked)

    async def send_json(self, message: Any) -> None:
        await self.send_frame(orjson.dumps(message))

    async def recv_frame(self) -> tuple[int, bytes]:
        first, second = await self.read_exactly(2)
        length = second & 0x7F
        if length == 126:
            (length,) = struct.unpack("!H", await self.read_exactly(2))
        elif length == 127:
            (length,) = struct.unpack("!Q", await self.read_exactly(8))
        return first & 0x0F, await self.read_exactly(length)

    async def expect(self, skip: tuple[str, ...] = ("heartbeat",)) -> dict[str, Any]:
        """The next JSON frame (not a heartbeat)."""
        with trio.fail_after(WAIT):
            while True:
                opcode, payload = await self.recv_frame()
                assert opcode == TEXT, (opcode, payload)
                message = orjson.loads(payload)
                if message["type"] not in skip:
                    return message

    async def close_code(self) -> int | None:
        """Read until the server's close frame: its code (None: the connection ended without one)."""
        with trio.fail_after(WAIT):
            for _ in range(100_000):
                try:
                    opcode, payload = await self.recv_frame()
                except (EOFError, trio.BrokenResourceError):
                    return None
                if opcode == CLOSE:
                    return struct.unpack("!H", payload[:2])[0] if len(payload) >= 2 else None
        raise AssertionError("no close frame")

    async def hello(self, token: str) -> dict[str, Any]:
        await self.send_json({"type": "hello", "token": token, "client": "abuse/1"})
        welcome = await self.expect()
        assert welcome["type"] == "welcome", welcome
        return welcome

    async def aclose(self) -> None:
        with trio.move_on_after(2) as scope:
            scope.shield = True
            try:
                await self.send_frame(struct.pack("!H", 1000), opcode=CLOSE)
            except (trio.BrokenResourceError, trio.ClosedResourceError):
                pass
            await self.stream.aclose()


async def created(running: Any, *addresses: str) -> None:
    """Each ledger exists (one Add each): subscriptions name actors that exist."""
    async with http_client(running) as http:
        for address in addresses:
            response = await http.post(f"/api/v1/actors/{address}/commands", json=command("Add", amount=1),
                                       headers=bearer(operator_token(running)))
            assert response.status_code == 200, response.text


async def ready(running: Any) -> None:
    """The server answers /health/ready with 200."""
    async with http_client(running) as http:
        response = await http.get("/health/ready")
    assert response.status_code == 200 and response.json()["status"] == "ok", response.text


async def still_serving(running: Any) -> None:
    """A fresh client says hello and gets a command acked: the abuse cost only its connection."""
    await ready(running)
    client = await RawWs.connect(running)
    try:
        await client.hello(operator_token(running))
        await client.send_json({"type": "command", "id": "after", "topic": "ledger/ok",
                                "command": {"type": "Add", "data": {"amount": 1}}})
        assert (await client.expect())["type"] == "ack"
    finally:
        await client.aclose()


# -- frames ------------------------------------------------------------------------------------


async def test_invalid_utf8_in_a_text_frame_is_closed_with_1007(server):
    client = await RawWs.connect(server)
    await client.hello(operator_token(server))
    await client.send_frame(b'{"type": "ping", "x": "\xff\xfe"}')
    assert await client.close_code() == 1007
    await client.aclose()
    await still_serving(server)


async def test_invalid_utf8_split_across_fragments_is_closed_with_1007(server):
    client = await RawWs.connect(server)
    await client.send_frame(b'{"type": "ping", "x": "\xe2\x82', fin=False)  # a euro sign begun...
    await client.send_frame(b'(x"}', opcode=CONTINUATION)                      # ...and not finished
    assert await client.close_code() == 1007
    await client.aclose()
    await still_serving(server)


async def test_an_unmasked_frame_is_a_protocol_error_closed_with_1002(server):
    client = await RawWs.connect(server)
    payload = b'{"type": "ping"}'
    await client.stream.send_all(bytes([0x80 | TEXT, len(payload)]) + payload)  # clients must mask
    assert await client.close_code() == 1002
    await client.aclose()
    await still_serving(server)


async def test_a_fragmented_message_with_a_ping_between_its_fragments_is_served(server):
    client = await RawWs.connect(server)
    hello = orjson.dumps({"type": "hello", "token": operator_token(server), "client": "abuse/1"})
    thirds = [hello[:10], hello[10:20], hello[20:]]
    await client.send_frame(thirds[0], fin=False)
    await client.send_frame(b"are you there", opcode=PING)  # control frames may come between fragments
    await client.send_frame(thirds[1], opcode=CONTINUATION, fin=False)
    await client.send_frame(thirds[2], opcode=CONTINUATION)
    with trio.fail_after(WAIT):
        assert await client.recv_frame() == (PONG, b"are you there")
    assert (await client.expect())["type"] == "welcome"
    await client.aclose()


async def test_fragments_adding_up_past_the_frame_limit_close_with_1009(launch):
    server = await launch(max_frame_bytes=1024)
    client = await RawWs.connect(server)
    await client.send_frame(b'{"type": "ping", "pad": "', fin=False)
    for _ in range(3):
        await client.send_frame(b"x" * 400, opcode=CONTINUATION, fin=False)
    await client.send_frame(b'"}', opcode=CONTINUATION)
    assert await client.close_code() == 1009
    await client.aclose()
    await still_serving(server)


async def test_a_frame_claiming_a_terabyte_is_closed_with_1009_once_past_the_limit(launch):
    server = await launch(max_frame_bytes=1024)
    client = await RawWs.connect(server)
    mask = os.urandom(4)
    payload = bytes(b ^ mask[i % 4] for i, b in enumerate(b'{"pad": "' + b"x" * 4096))
    await client.stream.send_all(bytes([0x80 | TEXT, 0x80 | 127]) + struct.pack("!Q", 1 << 40) + mask + payload)
    assert await client.close_code() == 1009  # without waiting for the terabyte
    await client.aclose()
    await still_serving(server)


async def test_too_deep_and_malformed_frames_are_answered_and_the_connection_kept(server):
    client = await RawWs.connect(server)
    await client.hello(operator_token(server))
    for depth in (500, 5000):
        await client.send_frame(b"[" * depth + b"]" * depth)
        assert (await client.expect())["code"] == "json/too_deep"
    await client.send_frame(b"{not json")
    assert (await client.expect())["code"] == "bad_json"
    await client.send_json({"type": "ping"})
    assert (await client.expect())["type"] == "pong"
    await client.aclose()


# -- floods ------------------------------------------------------------------------------------


async def test_a_subscription_flood_on_one_connection_leaves_it_sane(server):
    await created(server, "ledger/c1")
    client = await RawWs.connect(server)
    await client.hello(operator_token(server))
    for n in range(500):  # the same topic over and over: each subscribe replaces the last
        await client.send_json({"type": "subscribe", "topic": "ledger/c1", "since": 1, "id": f"s{n}"})
        if n % 50 == 0:
            await client.send_json({"type": "unsubscribe", "topic": "ledger/c1"})
    for _ in range(500):  # garbage between them
        await client.send_frame(b"\x00garbage")
    await client.send_json({"type": "ping"})
    for _ in range(10_000):
        message = await client.expect()
        if message["type"] == "pong":
            break
        assert message["type"] in ("error", "unsubscribed"), message
    else:
        raise AssertionError("no pong")
    await client.send_json({"type": "command", "id": "one", "topic": "ledger/c1",
                            "command": {"type": "Add", "data": {"amount": 1}}})
    seen = [await client.expect(), await client.expect()]
    assert sorted(m["type"] for m in seen) == ["ack", "event"]  # one live subscription: one event
    await client.send_json({"type": "ping"})
    assert (await client.expect())["type"] == "pong"  # and no second copy of the event before it
    assert server.runtime.state_of("ledger/c1")[1] == 2
    await client.aclose()
    await still_serving(server)


async def test_readers_that_never_read_are_cut_loose_and_never_stall_the_actor(launch):
    server = await launch(ws_queue=8)
    token = operator_token(server)
    await created(server, "ledger/c1")
    stalled = []
    for _ in range(10):
        reader = await RawWs.connect(server, rcvbuf=2048)
        await reader.hello(token)
        await reader.send_json({"type": "subscribe", "topic": "ledger/c1"})
        assert (await reader.expect())["type"] == "snapshot"
        stalled.append(reader)  # from here on, none of them reads
    writer = await RawWs.connect(server)
    await writer.hello(token)
    for batch in range(6):  # 600 events while ten readers never read
        for n in range(100):
            await writer.send_json({"type": "command", "id": f"{batch}-{n}", "topic": "ledger/c1",
                                    "command": {"type": "Add", "data": {"amount": 1}}})
        acked = [await writer.expect() for _ in range(100)]
        assert {m["type"] for m in acked} == {"ack"}
        await ready(server)
    assert server.runtime.state_of("ledger/c1")[1] == 601

    reader = stalled[0]  # wakes up: what it missed ends in a resync and a fresh snapshot (or several)
    kinds, at = [], 1
    for _ in range(10_000):
        message = await reader.expect()
        kinds.append(message["type"])
        if message["type"] == "event":
            assert message["seq"] == at + 1  # no gap, no duplicate between resyncs
        elif message["type"] == "snapshot":
            assert kinds[-2] == "resync" and message["state"]["total"] == message["seq"] >= at
        if message["type"] != "resync":
            at = message["seq"]
        if at == 601:
            break
    assert "resync" in kinds and set(kinds) <= {"event", "resync", "snapshot"} and len(kinds) < 600
    for client in [*stalled, writer]:
        await client.aclose()
    await still_serving(server)


async def test_500_concurrent_connections_are_served_while_the_server_stays_ready(server):
    token = operator_token(server)
    await created(server, *(f"ledger/c{n}" for n in range(10)))
    clients: list[RawWs] = []
    listeners: list[RawWs] = []  # the subscribers of ledger/c0
    connecting = trio.CapacityLimiter(50)  # a connect storm, but inside the listen backlog

    async def join(n: int) -> None:
        async with connecting:
            client = await RawWs.connect(server)
            clients.append(client)
            await client.hello(token)
        if n % 10 == 0:
            listeners.append(client)
        await client.send_json({"type": "subscribe", "topic": f"ledger/c{n % 10}"})
        assert (await client.expect())["type"] == "snapshot"

    async def watch(joined: trio.Event) -> None:  # readiness asked again and again while they connect
        for _ in range(1000):
            await ready(server)
            if joined.is_set():
                return

    try:
        joined = trio.Event()
        async with trio.open_nursery() as watching:
            watching.start_soon(watch, joined)
            async with trio.open_nursery() as nursery:
                for n in range(500):
                    nursery.start_soon(join, n)
            joined.set()
        async with http_client(server) as http:
            figures = (await http.get("/api/v1/admin/runtime",
                                      headers={"Authorization": f"Bearer {token}"})).json()
        assert figures["websocket_clients"] == 500

        await listeners[0].send_json({"type": "command", "id": "fanout", "topic": "ledger/c0",
                                    "command": {"type": "Add", "data": {"amount": 1}}})

        async def heard(client: RawWs) -> None:
            message = await client.expect(skip=("heartbeat", "ack"))
            assert (message["type"], message["topic"], message["seq"]) == ("event", "ledger/c0", 2)

        assert len(listeners) == 50
        async with trio.open_nursery() as nursery:  # every subscriber of ledger/c0 gets the event
            for client in listeners:
                nursery.start_soon(heard, client)
        await ready(server)
    finally:
        async with trio.open_nursery() as nursery:
            for client in clients:
                nursery.start_soon(client.aclose)
    await still_serving(server)
