"""Bodies the edge refuses before any actor sees them (issue 18): a refused body never
strands its keep-alive connection, JSON nested past the depth limit is a 422 and never an
actor crash, integers too wide for 64 bits are refused wherever they hide, never rounded."""
from __future__ import annotations

import json
import socket
from typing import Any

import httpx
import orjson
import pytest
import trio

from server.decoding import MAX_JSON_DEPTH

from .conftest import WAIT, assert_error, bearer, command, http_client, operator_token

COMMANDS = "/api/v1/actors/ledger/c1/commands"


def nested(depth: int) -> Any:
    """A JSON value of ``depth`` nested objects."""
    value: Any = {}
    for _ in range(depth - 1):
        value = {"a": value}
    return value


def narration(arguments: Any) -> dict[str, Any]:
    """A GM's narration whose one tool call carries ``arguments`` (a free-form object)."""
    return command("PostNarration", text="The door creaks.",
                   meta={"model": "m", "tool_calls": [{"name": "lookup", "arguments": arguments}]})


async def created_campaign(http, running) -> dict[str, str]:
    op = bearer(operator_token(running))
    response = await http.post("/api/v1/actors/campaign/c1/commands", json=command("CreateCampaign", title="Edge"),
                               headers=op)
    assert response.status_code == 200, response.text
    return op


# -- 3. a refused body does not strand its connection --------------------------------------


def keep_alive_exchange(url: str, token: str, body_bytes: int) -> tuple[bytes, bytes]:
    """On one raw HTTP/1.1 connection: POST ``body_bytes``, read the answer, then GET /health/live.

    Returns the first answer's head and what the connection gave for the second request
    (an answer, or b"" once the server closed it). A stalled connection fails by timeout.
    """
    host, port = url.removeprefix("http://").rsplit(":", 1)
    with socket.create_connection((host, int(port)), timeout=WAIT) as sock:
        sock.sendall(b"POST " + COMMANDS.encode() + b" HTTP/1.1\r\nHost: t\r\nAuthorization: Bearer "
                     + token.encode() + b"\r\nContent-Type: application/json\r\n"
                     + b"Content-Length: %d\r\n\r\n" % body_bytes)
        try:
            sock.sendall(b" " * body_bytes)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the server may stop reading once it has answered
        received = b""
        while b"\r\n\r\n" not in received:
            chunk = sock.recv(65536)
            assert chunk, "closed before answering"
            received += chunk
        head, _, rest = received.partition(b"\r\n\r\n")
        length = int(next(line.split(b":", 1)[1] for line in head.split(b"\r\n")
                          if line.lower().startswith(b"content-length:")))
        while len(rest) < length:
            rest += sock.recv(65536)
        second = b""
        try:
            sock.sendall(b"GET /health/live HTTP/1.1\r\nHost: t\r\n\r\n")
            while chunk := sock.recv(65536):
                second += chunk
                if b"\r\n\r\n" in second:
                    break
        except (BrokenPipeError, ConnectionResetError):
            pass
        return head, second


async def test_a_413_closes_its_keep_alive_connection_so_the_next_request_never_hangs(launch):
    server = await launch()
    head, second = await trio.to_thread.run_sync(keep_alive_exchange, server.url, operator_token(server), 2 << 20)
    lines = [line.lower() for line in head.split(b"\r\n")]
    assert lines[0].startswith(b"http/1.1 413")
    assert b"connection: close" in lines
    assert second == b""  # closed at once, not left hanging (a hang fails the recv by timeout)
    async with http_client(server) as http:  # and the server serves everyone else
        assert (await http.get("/health/ready")).status_code == 200


async def test_an_accepted_body_keeps_its_connection_alive(launch):
    server = await launch()
    head, second = await trio.to_thread.run_sync(keep_alive_exchange, server.url, operator_token(server), 10)
    assert head.lower().startswith(b"http/1.1 400") and b"connection: close" not in head.lower()
    assert second.startswith(b"HTTP/1.1 200")


async def test_a_413_over_a_pooled_client_connection_is_followed_by_answers(launch):
    server = await launch(max_body_bytes=1024)
    token = operator_token(server)
    one = httpx.Limits(max_connections=1, max_keepalive_connections=1)
    async with httpx.AsyncClient(base_url=server.url, trust_env=False, timeout=WAIT, limits=one) as http:
        for _ in range(3):
            assert_error(await http.post(COMMANDS, content=b"x" * 4096, headers=bearer(token)), 413, "too_large")
            added = await http.post(COMMANDS, json=command("Add", amount=1), headers=bearer(token))
            assert added.status_code == 200
    assert server.runtime.state_of("ledger/c1")[1] == 3


# -- 4. nesting ----------------------------------------------------------------------------


async def test_deeply_nested_command_data_is_422_and_never_crashes_the_actor(game_server):
    async with http_client(game_server) as http:
        op = await created_campaign(http, game_server)
        for _ in range(20):
            response = await http.post("/api/v1/actors/campaign/c1/commands", json=narration(nested(260)),
                                       headers=op)
            assert assert_error(response, 422, "json/too_deep")["details"] == {"max_depth": MAX_JSON_DEPTH}
        tree = (await http.get("/api/v1/admin/actors", headers=op)).json()
        dead = (await http.get("/api/v1/admin/dead-letters", headers=op)).json()
        # arguments is level 6 of the body: 5 levels of envelope above it, the rest is the client's
        over = await http.post("/api/v1/actors/campaign/c1/commands", json=narration(nested(MAX_JSON_DEPTH - 4)),
                               headers=op)
        assert_error(over, 422, "json/too_deep")
        fits = await http.post("/api/v1/actors/campaign/c1/commands", json=narration(nested(MAX_JSON_DEPTH - 5)),
                               headers=op)
        assert fits.status_code == 200, fits.text
    supervisors = game_server.runtime.supervisors
    assert not any(sup.degraded or sup.escalations for sup in supervisors.values())
    assert dead["items"] == []
    assert game_server.runtime.state_of("campaign/c1")[1] == 2


@pytest.mark.parametrize("depth", [MAX_JSON_DEPTH + 1, 1000, 5000])  # 5000: past orjson's own limit too
async def test_any_body_nested_past_the_limit_is_422(server, depth):
    body = b"[" * depth + b"]" * depth
    async with http_client(server) as http:
        response = await http.post("/api/v1/admin/tokens", content=body, headers=bearer(operator_token(server)))
    assert_error(response, 422, "json/too_deep")


async def test_deeply_nested_websocket_commands_are_refused_by_id(game_server, open_ws):
    async with http_client(game_server) as http:
        await created_campaign(http, game_server)
    client = await open_ws(game_server, operator_token(game_server))
    for n in range(20):
        refused = await client.request(json.dumps({"type": "command", "id": f"deep-{n}", "topic": "campaign/c1",
                                                   "command": narration(nested(260))}))  # orjson stops at 254
        assert (refused["type"], refused["code"], refused["id"]) == ("error", "json/too_deep", f"deep-{n}")
    assert (await client.request({"type": "ping"}))["type"] == "pong"
    assert not any(sup.degraded or sup.escalations for sup in game_server.runtime.supervisors.values())
    assert game_server.runtime.store.dead_letters() == []
    assert game_server.runtime.state_of("campaign/c1")[1] == 1


# -- 5. integers past 64 bits in free-form fields -----------------------------------------

WIDE = ["1180000000000000000000", "18446744073709551616", "-9223372036854775809", "9223372036854775808",
        "1" * 90]


@pytest.mark.parametrize("wide", WIDE)
async def test_wide_integers_in_free_form_fields_are_refused_not_rounded(game_server, wide):
    raw = orjson.dumps(narration({"n": 0, "deeper": [1, "PLACE"]})).replace(b'"PLACE"', wide.encode())
    async with http_client(game_server) as http:
        op = await created_campaign(http, game_server)
        response = await http.post("/api/v1/actors/campaign/c1/commands", content=raw, headers=op)
        error = assert_error(response, 422, "command/invalid")
        assert error["details"]["loc"] == ["data", "meta", "tool_calls", 0, "arguments", "deeper", 1]
        kept = await http.post("/api/v1/actors/campaign/c1/commands", headers=op,
                               json=narration({"n": 2**63 - 1, "f": 1.5e300, "m": -(2**63)}))
        assert kept.status_code == 200, kept.text
        turns = (await http.get("/api/v1/actors/campaign/c1/events", headers=op)).json()["items"]
    stored = turns[-1]["data"]["post"]["meta"]["tool_calls"][0]["arguments"]
    assert stored == {"n": 2**63 - 1, "f": 1.5e300, "m": -(2**63)} and type(stored["n"]) is int
    assert game_server.runtime.state_of("campaign/c1")[1] == 2


async def test_a_float_written_as_a_float_stays_a_float(game_server):
    async with http_client(game_server) as http:
        op = await created_campaign(http, game_server)
        raw = orjson.dumps(narration({"x": "PLACE"})).replace(b'"PLACE"', b"1.18e21")
        assert (await http.post("/api/v1/actors/campaign/c1/commands", content=raw, headers=op)).status_code == 200
        turns = (await http.get("/api/v1/actors/campaign/c1/events", headers=op)).json()["items"]
    assert turns[-1]["data"]["post"]["meta"]["tool_calls"][0]["arguments"] == {"x": 1.18e21}


async def test_an_integer_literal_of_hundreds_of_digits_is_refused(server):
    raw = b'{"type": "Add", "data": {"amount": %s}}' % (b"7" * 300)
    async with http_client(server) as http:
        response = await http.post(COMMANDS, content=raw, headers=bearer(operator_token(server)))
    assert response.status_code in (400, 422)
    assert response.json()["error"]["code"] in ("bad_json", "json/integer_too_large")
    assert server.runtime.state_of("ledger/c1")[1] == 0


@pytest.mark.parametrize("wide", WIDE)
async def test_wide_integers_in_websocket_commands_are_refused(game_server, open_ws, wide):
    async with http_client(game_server) as http:
        await created_campaign(http, game_server)
    client = await open_ws(game_server, operator_token(game_server))
    frame = orjson.dumps({"type": "command", "id": "wide", "topic": "campaign/c1",
                          "command": narration({"deeper": [1, "PLACE"]})}).replace(b'"PLACE"', wide.encode())
    refused = await client.request(frame.decode())
    assert (refused["type"], refused["code"], refused["id"]) == ("error", "command/invalid", "wide")
    assert refused["details"]["loc"] == ["data", "meta", "tool_calls", 0, "arguments", "deeper", 1]
    assert game_server.runtime.state_of("campaign/c1")[1] == 1
