"""Malformed bodies, headers, paths and websocket frames never produce a 500 or a crash.

Hypothesis runs in a worker thread with blocking clients while the real server runs in
the test's trio run; each fuzz run ends by checking that the server is still ready and
still acknowledges an ordinary command.

The ledger's ``Boom`` (crashes on purpose: 500 by design), ``Remind`` and ``Forward`` (the
test kind trusts their numbers and addresses) are left out: the fuzz aims at the server's
edge, not at the test kind's own rules.
"""
from __future__ import annotations

import contextlib
import json
import logging
import os
import socket
import urllib.parse
from typing import Any

import httpx
import orjson
import pytest
import trio
from hypothesis import HealthCheck, given, seed, settings
from hypothesis import strategies as st
from websockets.exceptions import ConnectionClosed

from .conftest import WAIT, add, bearer, command, http_client, operator_token

FUZZ = settings(max_examples=200, deadline=None, database=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
LEFT_OUT = {"Boom", "Remind", "Forward"}

scalars = (st.none() | st.booleans() | st.integers(-(2**31), 2**31)
           | st.floats(allow_nan=False, allow_infinity=False) | st.text(max_size=16))
json_values = st.recursive(scalars, lambda inner: st.lists(inner, max_size=4)
                           | st.dictionaries(st.text(max_size=8), inner, max_size=4), max_leaves=8)
command_types = (st.sampled_from(["Add", "Forget", "TimerFired", "ChildFailed", "Subtract", "add", "", "Add "])
                 | st.text(max_size=12).filter(lambda t: t not in LEFT_OUT))
command_data = (json_values
                | st.fixed_dictionaries({"amount": json_values})
                | st.fixed_dictionaries({"amount": st.integers(-(10**6), 10**6)})
                | st.fixed_dictionaries({"name": json_values}))
commands = st.fixed_dictionaries({"type": command_types}, optional={"data": command_data, "extra": json_values})
bodies = st.one_of(
    st.binary(max_size=120),
    json_values.map(orjson.dumps),
    commands.map(orjson.dumps),
    st.fixed_dictionaries({"type": json_values, "data": json_values}).map(orjson.dumps),
    commands.map(lambda c: orjson.dumps(c)[: len(orjson.dumps(c)) // 2]),          # cut short
)
header_text = st.text(st.characters(min_codepoint=0x20, max_codepoint=0xFF, exclude_characters="\x7f"),
                      max_size=40).map(lambda s: s.strip().encode("latin-1"))
segments = (st.sampled_from(["ledger", "c1", "c1.2", "c2", "nope", "Ledger", "..", ".", "%00", "a" * 200])
            | st.text(max_size=20))


def quoted(segment: str) -> str:
    return urllib.parse.quote(segment, safe="") or "%20"


def socket_state(conn: Any) -> str:
    """What the client's socket is now (closed by whom?), for a failure message."""
    import stat

    fd = conn.socket.fileno()
    try:
        mode = os.fstat(fd).st_mode if fd >= 0 else None
    except OSError as exc:
        return f"client fd {fd}: {exc}"
    return f"client fd {fd}: {'a socket' if mode is not None and stat.S_ISSOCK(mode) else mode}"


def frame_summary(frames: list[Any]) -> str:
    return orjson.dumps(frames[-5:]).decode()[:500]


async def check_still_serving(server) -> None:
    token = operator_token(server)
    async with http_client(server) as http:
        assert (await http.get("/health/ready")).status_code == 200
        before = server.runtime.state_of("ledger/c9")[1]
        ack = await add(http, token, "ledger/c9", 1)
        assert ack.status_code == 200 and ack.json()["seq"] == before + 1


async def test_malformed_requests_to_the_command_endpoint_never_get_a_500(server):
    token, _ = server.tokens.create("gm", campaign="c1")
    statuses: dict[int, int] = {}

    parts = ("body", "method", "kind", "actor", "auth", "content_type", "idempotency_key", "request_id", "encoding")
    broken = {
        "body": bodies | commands.map(orjson.dumps) | commands.map(orjson.dumps),
        "method": st.sampled_from(["GET", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"]),
        "kind": segments, "actor": segments,
        "auth": st.sampled_from([b"", b"Bearer", b"Bearer evt_x_y", b"Basic abc"]) | header_text,
        "content_type": st.sampled_from([b"text/plain", b"", b"multipart/form-data; boundary=x"]) | header_text,
        "idempotency_key": header_text, "request_id": header_text,
        "encoding": st.sampled_from([b"gzip", b"deflate", b"br"]) | header_text,
    }

    @seed(20261122)
    @FUZZ
    @given(wrong=st.sets(st.sampled_from(parts), max_size=3), amount=st.integers(-(10**6), 10**6), data=st.data())
    def fuzz(wrong: set[str], amount: int, data: st.DataObject) -> None:
        """A good request with up to three parts broken at random."""
        def part(name: str, good: Any) -> Any:
            return data.draw(broken[name], label=name) if name in wrong else good

        body = part("body", orjson.dumps(command("Add", amount=amount)))
        method = part("method", "POST")
        path = f"/api/v1/actors/{quoted(part('kind', 'ledger'))}/{quoted(part('actor', 'c1'))}/commands"
        headers = {"Authorization": part("auth", f"Bearer {token}".encode()),
                   "Content-Type": part("content_type", b"application/json")}
        for name in ("idempotency_key", "request_id", "encoding"):
            if name in wrong:
                headers[{"idempotency_key": "Idempotency-Key", "request_id": "X-Request-Id",
                         "encoding": "Content-Encoding"}[name]] = data.draw(broken[name], label=name)
        response = client.request(method, path, content=body, headers=headers)
        statuses[response.status_code] = statuses.get(response.status_code, 0) + 1
        assert response.status_code < 500, (response.status_code, response.text, method, path, headers, body)
        assert response.headers.get("X-Request-Id")
        if response.status_code >= 400 and method != "HEAD":
            error = response.json()
            assert set(error) == {"error", "request_id"} and isinstance(error["error"]["code"], str), error
        elif response.status_code == 200 and method == "POST":
            assert set(response.json()) == {"address", "seq", "events"}

    with httpx.Client(base_url=server.url, trust_env=False, timeout=3) as client:
        await trio.to_thread.run_sync(fuzz)
    assert statuses.get(200) and sum(n for s, n in statuses.items() if 400 <= s < 500)   # both kinds were hit
    await check_still_serving(server)


request_lines = st.sampled_from([
    b"POST /api/v1/actors/ledger/c1/commands HTTP/1.1", b"POST /api/v1/actors/ledger/c1/commands HTTP/1.0",
    b"GET /health/ready HTTP/1.1", b"GET /ws HTTP/1.1", b"BREW /api/v1/actors/ledger/c1/commands HTTP/1.1",
    b"POST /api/v1/actors/%ff/x/commands HTTP/1.1", b"POST /api/v1/actors/ledger/c1/commands?x=%zz HTTP/1.1",
    b"POST //api/v1/actors/ledger/c1/commands HTTP/1.1", b"POST /api/v1/actors/ledger/c1/commands HTTP/2.0",
    b"GET http://elsewhere/health/live HTTP/1.1", b"GET * HTTP/1.1", b"GET /\x00 HTTP/1.1",
]) | st.binary(max_size=60).filter(lambda b: b"\r\n" not in b)
odd_headers = st.lists(st.sampled_from([
    b"Content-Type: application/json", b"Content-Type: text/plain", b"Transfer-Encoding: gzip, chunked",
    b"Expect: 100-continue", b"X-Request-Id: \xff\xfe", b"Idempotency-Key: \x80\x81", b"Authorization: Bearer \xff",
    b"Host: y", b"X-Folded: a\r\n b", b": no-name", b"no-colon", b"Content-Length: 0", b"Content-Length: x",
    b"Content-Length: -1", b"Content-Length: 0, 0", b"X-Big: " + b"y" * 20000,
]) | st.binary(max_size=40).filter(lambda b: b"\r\n" not in b), max_size=4)


def raw_exchange(url: str, request: bytes) -> bytes:
    """Send ``request`` on a fresh connection, half-close, and read all of the answer."""
    host, port = url.removeprefix("http://").rsplit(":", 1)
    with socket.create_connection((host, int(port)), timeout=WAIT) as sock:
        sock.sendall(request)
        sock.shutdown(socket.SHUT_WR)
        answer = b""
        try:
            while chunk := sock.recv(65536):
                answer += chunk
        except ConnectionResetError:   # the server may reset a connection it will not read further
            pass
    return answer


def assert_not_a_server_error(answer: bytes) -> None:
    status_line = answer.split(b"\r\n", 1)[0]
    if status_line.startswith((b"HTTP/1.1 5", b"HTTP/1.0 5")):   # 501: a transfer coding h11 does not implement
        assert status_line.split(b" ")[1] == b"501", answer[:400]


@pytest.mark.parametrize("method, path, auth", [
    ("GET", "/api/v1/actors/ledger/c1/commands", True),    # 405 from the routing alone
    ("POST", "/api/v1/actors/ledger/c1/commands", False),  # 401 from the headers alone
    ("POST", "/nowhere", True),                            # 404
])
async def test_a_body_late_for_an_answer_decided_without_it_never_wedges_the_connection(server, method, path, auth):
    """Headers now, the body later; the answer needs only the headers. The next request is answered.

    Whether the server answers at once or first takes the body in, the connection must go
    on: hypercorn 0.18, given a body after the answer had gone out, held the connection
    without reading it, and the next request on it hung.
    """
    host, port = server.url.removeprefix("http://").rsplit(":", 1)
    body = orjson.dumps(command("Add", amount=1))
    head = (f"{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
            f"Content-Length: {len(body)}\r\n" + (f"Authorization: Bearer {operator_token(server)}\r\n" if auth else "")
            + "\r\n").encode()

    def exchange() -> tuple[bytes, bytes]:
        with socket.create_connection((host, int(port)), timeout=WAIT) as sock:
            sock.sendall(head)
            sock.settimeout(0.5)
            try:
                early = read_response(sock)    # answered before the body was sent
            except TimeoutError:
                early = None                   # waiting for the body first: fine too
            sock.sendall(body)
            sock.settimeout(WAIT)
            first = early or read_response(sock)
            sock.settimeout(0.3)               # let the connection settle before the next request
            with contextlib.suppress(TimeoutError):
                assert sock.recv(1) == b"", "nothing more is owed for the first request"
            sock.settimeout(WAIT)
            sock.sendall(b"GET /health/live HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
            return first, read_response(sock)

    first, second = await trio.to_thread.run_sync(exchange)
    assert first.split(b" ", 2)[1] in (b"401", b"404", b"405"), first
    assert second.startswith(b"HTTP/1.1 200"), second


def read_response(sock: socket.socket) -> bytes:
    """One HTTP/1.1 response with a Content-Length, read off ``sock``."""
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(65536)
        assert chunk, f"connection closed after {data!r}"
        data += chunk
    head, _, rest = data.partition(b"\r\n\r\n")
    length = int(next(line.split(b":")[1] for line in head.split(b"\r\n") if line.lower().startswith(b"content-length")))
    while len(rest) < length:
        chunk = sock.recv(65536)
        assert chunk, "connection closed mid-body"
        rest += chunk
    return head + b"\r\n\r\n" + rest


async def test_garbage_http_on_a_raw_socket_gets_an_answer_and_never_a_500(server):
    """Request lines and headers no client library would send; no body, so nothing races the answer."""
    token = operator_token(server)
    statuses: dict[bytes, int] = {}

    @seed(20261122)
    @settings(FUZZ, max_examples=150)
    @given(line=request_lines, host=st.booleans() | st.just(True), auth=st.booleans(), extra=odd_headers)
    def fuzz(line: bytes, host: bool, auth: bool, extra: list[bytes]) -> None:
        headers = ([b"Host: 127.0.0.1"] if host else []) + ([f"Authorization: Bearer {token}".encode()] if auth else [])
        answer = raw_exchange(server.url, b"\r\n".join([line, *headers, *extra]) + b"\r\n\r\n")
        status = answer.split(b"\r\n", 1)[0][9:12]
        statuses[status] = statuses.get(status, 0) + 1
        assert_not_a_server_error(answer)

    await trio.to_thread.run_sync(fuzz)
    assert {b"400", b"405"} <= set(statuses) and len(statuses) >= 4, statuses
    await check_still_serving(server)


async def test_requests_that_lie_about_their_framing_never_stop_the_server(server):
    token = operator_token(server)
    lengths = st.sampled_from(["exact", "none", "short", "long", "negative", "garbage", "twice"])
    extra = odd_headers | st.just([b"Connection: Upgrade", b"Upgrade: websocket", b"Sec-WebSocket-Version: 13",
                                   b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ=="])

    @seed(20261122)
    @settings(FUZZ, max_examples=120)
    @given(line=request_lines, auth=st.booleans(), extra=extra, body=bodies, length=lengths, chunks=st.booleans())
    def fuzz(line: bytes, auth: bool, extra: list[bytes], body: bytes, length: str, chunks: bool) -> None:
        headers = [b"Host: 127.0.0.1"] + ([f"Authorization: Bearer {token}".encode()] if auth else [])
        declared = {"exact": len(body), "short": max(0, len(body) - 3), "long": len(body) + 50, "negative": -1,
                    "garbage": b"12x", "twice": len(body)}.get(length)
        if declared is not None:
            headers.append(b"Content-Length: " + (declared if isinstance(declared, bytes) else str(declared).encode()))
            if length == "twice":
                headers.append(b"Content-Length: 1")
        if chunks and length == "none":
            headers.append(b"Transfer-Encoding: chunked")
            body = f"{len(body) + 2:x}".encode() + b"\r\n" + body + b"\r\n0\r\n\r\n"   # the size lies
        assert_not_a_server_error(raw_exchange(server.url, b"\r\n".join([line, *headers, *extra]) + b"\r\n\r\n" + body))

    await trio.to_thread.run_sync(fuzz)
    await check_still_serving(server)


async def test_malformed_websocket_frames_never_break_the_connection_or_the_server(server, open_ws, caplog):
    caplog.set_level(logging.WARNING, logger="everturn.server")  # a connection the server drops says why there
    token, _ = server.tokens.create("gm", campaign="c1")
    client = await open_ws(server, None, hello=False)
    conn = client.conn
    topics = st.sampled_from(["ledger/c1"] * 3 + ["ledger/c1.2", "ledger/c2", "nope/c1", "Ledger/x", ""])
    good_commands = st.builds(lambda n: command("Add", amount=n), st.integers(-(10**6), 10**6))

    @st.composite
    def messages(draw: st.DrawFn) -> dict[str, Any]:
        """A well-formed message of each type, with up to two fields broken, dropped or added."""
        kind = draw(st.sampled_from(["hello", "ping", "subscribe", "unsubscribe", "command", "command"]))
        message: dict[str, Any] = {"type": kind, **{
            "hello": {"token": token, "client": "fuzz/1"},
            "ping": {},
            "subscribe": {"topic": draw(topics), **draw(st.sampled_from([{}, {}, {"since": 0}, {"since": 3}]))},
            "unsubscribe": {"topic": draw(topics)},
            "command": {"id": draw(st.sampled_from(["retry-a", "retry-b"]) | st.uuids().map(str)
                                   | st.text(min_size=1, max_size=8)),
                        "topic": draw(topics), "command": draw(good_commands | good_commands | commands)},
        }[kind]}
        fields = ["type", "token", "client", "topic", "since", "id", "command"]
        for name in draw(st.lists(st.sampled_from(fields), max_size=2, unique=True)):
            how = draw(st.sampled_from(["replace", "drop", "big"]))
            if how == "drop":
                message.pop(name, None)
            elif how == "big":
                message[name] = draw(st.sampled_from([2**64 - 1, -(2**63), 10**30, "x" * 300, [[[[]]]], 1e300]))
            else:
                message[name] = draw(json_values)
        return message

    frames = st.one_of(st.binary(max_size=100), st.text(max_size=100), json_values.map(lambda v: orjson.dumps(v).decode()),
                       messages().map(json.dumps), messages().map(json.dumps), messages().map(lambda m: json.dumps(m).encode()))
    seen: list[Any] = []

    def until_pong() -> None:
        """Ping, and read every frame up to the pong: the connection is alive and in order."""
        conn.send('{"type": "ping"}')
        while True:
            message = orjson.loads(conn.recv(timeout=WAIT))
            seen.append(message)
            assert isinstance(message, dict) and isinstance(message.get("type"), str), message
            if message["type"] == "error":
                assert isinstance(message["code"], str) and isinstance(message["message"], str), message
                assert message["code"] not in ("internal", "runtime/actor_crashed"), message
            if message["type"] == "pong":
                return

    @seed(20261122)
    @settings(FUZZ, max_examples=300)
    @given(batch=st.lists(frames, min_size=1, max_size=3))
    def fuzz(batch: list[str | bytes]) -> None:
        for frame in batch:
            conn.send(frame)
        until_pong()

    conn.send(orjson.dumps({"type": "hello", "token": token}).decode())
    try:
        await trio.to_thread.run_sync(fuzz)
    except ConnectionClosed as exc:  # pragma: no cover - this is the failure being looked for
        raise AssertionError(f"the server closed the fuzzed connection: {exc}; last frames {frame_summary(seen)}; "
                             f"the server's log: {caplog.text[-3000:]}; the client's reader ended with "
                             f"{getattr(conn, 'recv_exc', None)!r}; {socket_state(conn)}") from exc
    kinds = {m["type"] for m in seen}
    assert {"pong", "error"} <= kinds, kinds

    # The fuzzed connection still works, and so does the server.
    conn.send(orjson.dumps({"type": "hello", "token": token}).decode())
    conn.send(orjson.dumps({"type": "command", "id": "after-the-fuzz", "topic": "ledger/c1",
                            "command": command("Add", amount=1)}).decode())
    while True:  # skip what the fuzz left in flight (events of its subscriptions, late acks)
        ack = await client.expect()
        if ack.get("id") == "after-the-fuzz":
            break
    assert ack["type"] == "ack", ack
    assert ack["seq"] == server.runtime.state_of("ledger/c1")[1]
    fresh = await open_ws(server, token)
    assert (await fresh.command("ledger/c1", "Add", amount=1))["type"] == "ack"
    await check_still_serving(server)
    async with http_client(server) as http:
        assert (await http.get("/metrics")).status_code == 200
        assert (await http.get("/api/v1/actors/ledger/c1", headers=bearer(token))).status_code == 200
