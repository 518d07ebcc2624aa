"""The lean websocket edge (``server.edge``): which connections it takes, which it hands to
hypercorn, and what it does at the ends of a connection. The protocol itself is tested in
test_ws.py and test_ws_abuse.py, through the edge."""
from __future__ import annotations

import struct
from functools import partial
from typing import Any

import pytest
import trio

import server.edge
from server.edge import Closing, is_upgrade

from .conftest import WAIT, WsClient, operator_token
from .test_ws_abuse import CLOSE, PING, PONG, TEXT, RawWs

UPGRADE = (b"GET /ws HTTP/1.1\r\nHost: t\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
           b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n")


async def refuse(*args: Any, **kwargs: Any) -> None:
    raise AssertionError("the lean edge took a connection it must leave to quart")


async def connect(running: Any) -> trio.SocketStream:
    host, port = running.url.removeprefix("http://").rsplit(":", 1)
    with trio.fail_after(WAIT):
        return await trio.open_tcp_stream(host, int(port))


async def http_on(stream: trio.SocketStream, request: bytes) -> bytes:
    """Send ``request``; the response head and body (read until the body's length is in)."""
    await stream.send_all(request)
    data = b""
    with trio.fail_after(WAIT):
        while b"\r\n\r\n" not in data:
            data += await stream.receive_some(65536)
        head, _, body = data.partition(b"\r\n\r\n")
        length = next(int(line.split(b":")[1]) for line in head.split(b"\r\n")
                      if line.lower().startswith(b"content-length"))
        while len(body) < length:
            body += await stream.receive_some(65536)
    return head + b"\r\n\r\n" + body


@pytest.mark.parametrize("head, upgrade", [
    (UPGRADE, True),
    (UPGRADE.replace(b"GET /ws ", b"GET /ws?v=1 "), True),
    (UPGRADE.replace(b"Upgrade: websocket", b"upgrade:WebSocket"), True),
    (UPGRADE.replace(b"GET /ws ", b"GET /wsx "), False),                  # another path
    (UPGRADE.replace(b"GET /ws ", b"POST /ws "), False),
    (UPGRADE.replace(b"Upgrade: websocket\r\n", b""), False),             # a plain GET of /ws
    (UPGRADE.replace(b"Upgrade: websocket", b"X-Upgrade: websocket"), False),
    (UPGRADE[:-2], False),                                                 # the head has not ended
])
def test_only_a_complete_upgrade_to_ws_is_the_edges(head: bytes, upgrade: bool) -> None:
    assert is_upgrade(head) is upgrade


async def test_http_requests_still_reach_hypercorn_even_a_byte_at_a_time(server):
    stream = await connect(server)
    request = b"GET /health/live HTTP/1.1\r\nHost: t\r\n\r\n"
    for i in range(len(request)):  # the edge must not hold a head that is not /ws
        await stream.send_all(request[i:i + 1])
    data = b""
    with trio.fail_after(WAIT):
        while b'"ok"' not in data:
            data += await stream.receive_some(65536)
    assert data.startswith(b"HTTP/1.1 200")
    await stream.aclose()


async def test_a_websocket_opened_on_a_kept_alive_http_connection_takes_the_quart_route(launch, monkeypatch):
    monkeypatch.setattr(server.edge, "serve", refuse)
    running = await launch()
    stream = await connect(running)
    first = await http_on(stream, b"GET /health/live HTTP/1.1\r\nHost: t\r\n\r\n")
    assert first.startswith(b"HTTP/1.1 200")
    client = RawWs(stream)
    await stream.send_all(UPGRADE)
    with trio.fail_after(WAIT):
        head = await client.read_until(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 101")
    welcome = await client.hello(operator_token(running))
    assert welcome["protocol"] == 1
    await client.aclose()


async def test_a_hello_sent_right_behind_the_upgrade_is_answered(server):
    stream = await connect(server)
    client = RawWs(stream)
    hello = b'{"type":"hello","token":"%s"}' % operator_token(server).encode()
    mask = b"\x01\x02\x03\x04"
    frame = bytes([0x80 | TEXT, 0x80 | len(hello)]) + mask + bytes(b ^ mask[i % 4] for i, b in enumerate(hello))
    await stream.send_all(UPGRADE + frame)  # one write: the edge reads both at once
    with trio.fail_after(WAIT):
        assert (await client.read_until(b"\r\n\r\n")).startswith(b"HTTP/1.1 101")
    assert (await client.expect())["type"] == "welcome"
    await client.aclose()


async def test_a_broken_handshake_is_refused_with_400_and_closed(server):
    stream = await connect(server)
    await stream.send_all(UPGRADE.replace(b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n", b""))
    data = b""
    with trio.fail_after(WAIT):
        while chunk := await stream.receive_some(65536):
            data += chunk
    assert data.startswith(b"HTTP/1.1 400"), data
    assert b"Sec-WebSocket-Key" in data  # says what is missing
    await stream.aclose()


async def test_pings_are_answered_and_a_close_is_echoed(server):
    client = await RawWs.connect(server)
    await client.hello(operator_token(server))
    await client.send_frame(b"are you there", opcode=PING)
    with trio.fail_after(WAIT):
        while True:
            opcode, payload = await client.recv_frame()
            if opcode == PONG:
                break
    assert payload == b"are you there"
    await client.send_frame(struct.pack("!H", 1000) + b"bye", opcode=CLOSE)
    assert await client.close_code() == 1000
    with trio.fail_after(WAIT):
        assert await client.stream.receive_some(1024) == b""  # and the server ends the TCP connection
    await client.stream.aclose()


async def test_shutting_down_closes_each_websocket_with_1001(launch):
    running = await launch()
    client = await RawWs.connect(running)
    await client.hello(operator_token(running))
    running.stop.set()
    assert await client.close_code() == 1001
    await client.stream.aclose()


async def test_many_frames_queued_at_once_arrive_whole_and_in_order(server):
    client = await RawWs.connect(server)
    await client.hello(operator_token(server))
    for n in range(300):  # more than one write's batch of answers
        await client.send_json({"type": "ping", "id": str(n)})
    with trio.fail_after(WAIT):
        pongs = [await client.expect() for _ in range(300)]
    assert [p["type"] for p in pongs] == ["pong"] * 300
    await client.aclose()


async def test_with_the_edge_off_every_websocket_takes_the_quart_route(launch, monkeypatch):
    monkeypatch.setattr(server.edge, "serve", refuse)
    running = await launch(lean_ws=False)
    client = await WsClient.open(running, operator_token(running))
    await client.send({"type": "ping"})
    assert (await client.recv())["type"] == "pong"
    await client.close()


async def test_an_upgrade_that_arrives_while_the_server_shuts_down_is_refused_with_503():
    server_side, client_side = (trio.SocketStream(s) for s in trio.socket.socketpair())
    closing = Closing()
    closing.closing = True
    async with trio.open_nursery() as nursery:
        nursery.start_soon(partial(server.edge.serve, server_side, UPGRADE, session=refuse, max_bytes=1024,
                                   closing=closing))
        data = b""
        with trio.fail_after(WAIT):
            while chunk := await client_side.receive_some(65536):
                data += chunk
    assert data.startswith(b"HTTP/1.1 503"), data
    await client_side.aclose()


async def test_a_connection_that_says_nothing_is_closed_once_hypercorn_would_close_it(launch, monkeypatch):
    monkeypatch.setattr(server.edge, "HEAD_TIMEOUT_S", 0.2)  # hypercorn's keep-alive timeout is 5 s
    running = await launch()
    stream = await connect(running)
    with trio.fail_after(3):  # not hypercorn's 5 s on top
        assert await stream.receive_some(1024) == b""  # closed without a word
    await stream.aclose()
