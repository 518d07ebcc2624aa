"""Websocket protocol v1 as a client lives it: real hypercorn, real ``websockets`` clients."""
from __future__ import annotations

import time

import pytest
from websockets.exceptions import ConnectionClosed

from .conftest import add, bearer, command, http_client, operator_token


def subscribe(topic: str, since: int | None = None) -> dict:
    return {"type": "subscribe", "topic": topic} | ({"since": since} if since is not None else {})


def command_frame(id_: str, topic: str, type_: str, **data) -> dict:
    return {"type": "command", "id": id_, "topic": topic, "command": command(type_, **data)}


async def events(client, count: int) -> list[dict]:
    """The next ``count`` frames, each of which must be a stream event."""
    frames = [await client.expect() for _ in range(count)]
    assert [f["type"] for f in frames] == ["event"] * count, frames
    return frames


async def acks(client, ids: set[str]) -> dict[str, dict]:
    """Wait for an ack (or error) of every id in ``ids``, ignoring stream frames."""
    answers: dict[str, dict] = {}
    while len(answers) < len(ids):
        frame = await client.expect()
        if frame["type"] in ("ack", "error") and frame.get("id") in ids:
            answers[frame["id"]] = frame
    return answers


# -- session ----------------------------------------------------------------------------


async def test_hello_is_welcomed_with_a_session(server, open_ws):
    token, _ = server.tokens.create("gm", campaign="c1")
    client = await open_ws(server, token, hello=False)
    welcome = await client.request({"type": "hello", "token": token, "client": "tests/1"})
    assert welcome["type"] == "welcome" and welcome["protocol"] == 1 and welcome["role"] == "gm"
    assert isinstance(welcome["session"], str) and welcome["session"]
    assert abs(welcome["server_time"] - time.time()) < 60
    assert (welcome["clock"], welcome["campaign"], welcome["character"]) == ("real", "c1", None)
    pong = await client.request({"type": "ping"})
    assert pong["type"] == "pong" and isinstance(pong["server_time"], float)


async def test_nothing_but_hello_is_served_before_hello(server, open_ws):
    token = operator_token(server)
    client = await open_ws(server, None, hello=False)
    refused = await client.request(subscribe("ledger/c1"))
    assert (refused["type"], refused["code"]) == ("error", "auth/hello_first")
    refused = await client.request(command_frame("c-1", "ledger/c1", "Add", amount=1))
    assert (refused["type"], refused["code"], refused["id"]) == ("error", "auth/hello_first", "c-1")
    assert server.runtime.state_of("ledger/c1")[1] == 0
    assert (await client.request({"type": "hello", "token": token}))["type"] == "welcome"
    assert (await client.request(subscribe("ledger/c1")))["code"] == "not_found"   # served now: it does not exist


async def test_a_bad_token_is_refused_and_the_session_stays_anonymous(server, open_ws):
    client = await open_ws(server, None, hello=False)
    revoked, principal = server.tokens.create("gm", campaign="c1")
    server.tokens.revoke(principal.token_id)
    for token in ("evt_nope_secret", revoked, 42, None):
        refused = await client.request({"type": "hello", "token": token})
        assert (refused["type"], refused["code"]) == ("error", "auth/invalid")
        assert isinstance(refused["message"], str)
    assert (await client.request(subscribe("ledger/c1")))["code"] == "auth/hello_first"


async def test_heartbeats_keep_an_idle_connection_company(launch, open_ws):
    server = await launch(heartbeat_s=0.2)
    client = await open_ws(server, operator_token(server))
    beat = await client.expect(timeout=5, skip=())
    assert beat["type"] == "heartbeat" and isinstance(beat["server_time"], float)


# -- streams ---------------------------------------------------------------------------


async def test_a_subscription_starts_with_a_snapshot_then_live_events(server, http, open_ws):
    token, _ = server.tokens.create("player", campaign="c1", character="ayla")
    await add(http, token, "ledger/c1", 2)
    await add(http, token, "ledger/c1", 3)
    client = await open_ws(server, token)
    snapshot = await client.request(subscribe("ledger/c1"))
    assert snapshot == {"type": "snapshot", "topic": "ledger/c1", "seq": 2, "state": {
        "total": 5, "history": [2, 3], "reminders": [], "fired_ids": [], "failed_children": []}}
    await add(http, token, "ledger/c1", 7)
    event = await client.expect()
    assert event == {"type": "event", "topic": "ledger/c1", "seq": 3,
                     "event": {"type": "Added", "version": 1, "data": {"amount": 7}}}


async def test_a_dropped_connection_resumes_with_exactly_the_missed_events(server, open_ws):
    token, _ = server.tokens.create("gm", campaign="c1")
    writer = await open_ws(server, token)
    reader = await open_ws(server, token)
    assert (await writer.command("ledger/c1", "Add", amount=1))["type"] == "ack"   # it exists from here
    assert (await reader.request(subscribe("ledger/c1")))["seq"] == 1
    for n in (2, 3):
        assert (await writer.command("ledger/c1", "Add", amount=n))["type"] == "ack"
    seen = [frame["seq"] for frame in await events(reader, 2)]
    assert seen == [2, 3]
    await reader.close()                                           # the connection drops ...

    for n in (4, 5, 6, 7):                                         # ... while the game goes on
        assert (await writer.command("ledger/c1", "Add", amount=n))["type"] == "ack"

    back = await open_ws(server, token)
    await back.send(subscribe("ledger/c1", since=seen[-1]))
    missed = await events(back, 4)
    assert [(f["seq"], f["event"]["data"]["amount"]) for f in missed] == [(4, 4), (5, 5), (6, 6), (7, 7)]
    for n in (8, 9):
        assert (await writer.command("ledger/c1", "Add", amount=n))["type"] == "ack"
    live = await events(back, 2)
    assert [f["seq"] for f in live] == [8, 9]
    await back.silence()                                           # nothing twice


async def test_resuming_from_the_head_or_from_zero(server, http, open_ws):
    token = operator_token(server)
    for n in (1, 2, 3):
        await add(http, token, "ledger/c1", n)
    client = await open_ws(server, token)
    await client.send(subscribe("ledger/c1", since=0))
    assert [f["seq"] for f in await events(client, 3)] == [1, 2, 3]
    other = await open_ws(server, token)
    await other.send(subscribe("ledger/c1", since=3))
    await other.silence()
    await add(http, token, "ledger/c1", 4)
    assert [f["seq"] for f in await events(other, 1)] == [4]


@pytest.mark.parametrize("since, code", [(99, "stream/bad_since"), (-1, "bad_since"), ("3", "bad_since"),
                                         (True, "bad_since"), (1.5, "bad_since")])
async def test_a_bad_since_is_an_error(server, http, open_ws, since, code):
    token = operator_token(server)
    await add(http, token, "ledger/c1", 1)
    client = await open_ws(server, token)
    refused = await client.request(subscribe("ledger/c1", since=since))
    assert (refused["type"], refused["code"], refused["topic"]) == ("error", code, "ledger/c1")


async def test_another_campaigns_topic_is_not_found(server, http, open_ws):
    gm2, _ = server.tokens.create("gm", campaign="c2")
    await add(http, gm2, "ledger/c2", 5)
    gm1, _ = server.tokens.create("gm", campaign="c1")
    client = await open_ws(server, gm1)
    forbidden = await client.request(subscribe("ledger/c2"))
    missing = await client.request(subscribe("nope/c1"))
    assert forbidden["type"] == missing["type"] == "error"
    assert forbidden["code"] == missing["code"] == "not_found"
    commanded = await client.command("ledger/c2", "Add", id_="sneaky", amount=100)
    assert (commanded["type"], commanded["code"]) == ("error", "not_found")
    await add(http, gm2, "ledger/c2", 1)
    await client.silence()                                         # nothing of c2 leaks through
    assert server.runtime.state_of("ledger/c2")[0].history == (5, 1)


async def test_unsubscribe_stops_the_events(server, http, open_ws):
    token = operator_token(server)
    client = await open_ws(server, token)
    await add(http, token, "ledger/c1", 1)
    assert (await client.request(subscribe("ledger/c1")))["type"] == "snapshot"
    await add(http, token, "ledger/c1", 1)
    assert [f["seq"] for f in await events(client, 1)] == [2]
    assert await client.request({"type": "unsubscribe", "topic": "ledger/c1"}) == {
        "type": "unsubscribed", "topic": "ledger/c1"}
    await add(http, token, "ledger/c1", 2)
    await client.silence()


# -- commands ------------------------------------------------------------------------------


async def test_a_command_is_acked_with_its_sequence_number(server, open_ws):
    token, _ = server.tokens.create("gm", campaign="c1")
    client = await open_ws(server, token)
    ack = await client.request(command_frame("c-1", "ledger/c1", "Add", amount=4))
    assert ack == {"type": "ack", "id": "c-1", "topic": "ledger/c1", "seq": 1, "events": 1}
    assert server.runtime.state_of("ledger/c1")[0].total == 4


async def test_a_retried_command_id_gets_the_same_ack_and_applies_once(server, http, open_ws):
    token, _ = server.tokens.create("gm", campaign="c1")
    client = await open_ws(server, token)
    first = await client.command("ledger/c1", "Add", id_="buy-1", amount=10)
    await client.close()
    again = await (await open_ws(server, token)).command("ledger/c1", "Add", id_="buy-1", amount=10)
    assert first["type"] == again["type"] == "ack"
    assert again["seq"] == first["seq"] == 1
    via_rest = await add(http, token, "ledger/c1", 10, **{"Idempotency-Key": "buy-1"})   # one namespace
    assert via_rest.json()["seq"] == 1
    assert server.runtime.state_of("ledger/c1")[0].history == (10,)


async def test_command_errors_name_the_command_id(server, open_ws):
    token, _ = server.tokens.create("gm", campaign="c1")
    client = await open_ws(server, token)
    rejected = await client.command("ledger/c1", "Add", id_="zero", amount=0)
    assert (rejected["type"], rejected["id"], rejected["code"]) == ("error", "zero", "ledger/zero")
    assert rejected["message"] == "adding zero changes nothing"
    unknown = await client.command("ledger/c1", "Subtract", id_="sub", amount=1)
    assert unknown["code"] == "command/unknown" and "Add" in unknown["details"]["accepted"]
    invalid = await client.command("ledger/c1", "Add", id_="inv", amount="many")
    assert invalid["code"] == "command/invalid" and invalid["details"][0]["loc"] == ["amount"]
    for system in ("TimerFired", "ChildFailed"):
        forged = await client.command("ledger/c1", system, id_=system, name="r", id="t", child="x", error="e")
        assert forged["code"] == "command/unknown"
    bad_topic = await client.command("Ledger/c1", "Add", id_="bad-topic", amount=1)
    assert bad_topic["code"] == "runtime/invalid_address"
    no_id = await client.request({"type": "command", "topic": "ledger/c1", "command": command("Add", amount=1)})
    assert (no_id["type"], no_id["code"]) == ("error", "bad_message")
    assert server.runtime.state_of("ledger/c1")[1] == 0


async def test_pipelined_commands_apply_in_the_order_sent(server, open_ws):
    token, _ = server.tokens.create("gm", campaign="c1")
    client = await open_ws(server, token)
    frames = [command_frame(f"p-{n}", "ledger/c1", "Add", amount=n) for n in range(1, 51)]
    await client.send_many(frames)                                 # no waiting between them
    answers = await acks(client, {f["id"] for f in frames})
    assert {answer["type"] for answer in answers.values()} == {"ack"}
    assert [answers[f"p-{n}"]["seq"] for n in range(1, 51)] == list(range(1, 51))
    assert server.runtime.state_of("ledger/c1")[0].history == tuple(range(1, 51))


async def test_websocket_commands_share_the_tokens_rate_limit(launch, open_ws):
    server = await launch(rate=0.5, burst=2)
    token, _ = server.tokens.create("gm", campaign="c1")
    async with http_client(server) as http:
        assert (await add(http, token, "ledger/c1", 1)).status_code == 200
        client = await open_ws(server, token)
        assert (await client.command("ledger/c1", "Add", amount=2))["type"] == "ack"
        limited = await client.command("ledger/c1", "Add", id_="third", amount=3)
        assert (limited["type"], limited["code"], limited["id"]) == ("error", "rate_limited", "third")
        assert limited["retry_after"] > 0
        assert (await http.get("/api/v1/actors/ledger/c1", headers=bearer(token))).status_code == 429
    assert server.runtime.state_of("ledger/c1")[0].history == (1, 2)


# -- limits ----------------------------------------------------------------------------------


async def test_a_slow_consumer_is_resynced_and_never_stalls_the_actor(launch, open_ws):
    server = await launch(ws_queue=8)
    token = operator_token(server)
    # A reader that stops reading: a tiny receive window, and its client buffers one frame.
    slow = await open_ws(server, token, rcvbuf=2048, max_queue=1)
    fast = await open_ws(server, token)
    assert (await fast.command("ledger/c1", "Add", amount=1))["seq"] == 1   # subscriptions need an actor
    assert (await slow.request(subscribe("ledger/c1")))["seq"] == 1

    for batch in range(6):          # 600 events while slow never reads: acks still come (or expect() fails)
        frames = [command_frame(f"f-{batch}-{n}", "ledger/c1", "Add", amount=1) for n in range(100)]
        await fast.send_many(frames)
        answers = await acks(fast, {f["id"] for f in frames})
        assert {a["type"] for a in answers.values()} == {"ack"}
    assert server.runtime.state_of("ledger/c1")[1] == 601

    received = []   # the slow one wakes up and reads until it has caught up
    while not received or received[-1].get("seq") != 601:
        received.append(await slow.expect())
    kinds = [f["type"] for f in received]
    assert "resync" in kinds and len(received) < 600
    at = 1
    for before, frame in zip([None, *received], received):     # no gap, no duplicate between resyncs
        assert frame["topic"] == "ledger/c1"
        if frame["type"] == "event":
            assert frame["seq"] == at + 1
            at = frame["seq"]
        elif frame["type"] == "snapshot":                        # a fresh start after each resync
            assert before is not None and before["type"] == "resync" and frame["seq"] >= at
            assert frame["state"]["total"] == frame["seq"]
            at = frame["seq"]
        else:
            assert frame["type"] == "resync"
    assert (await fast.command("ledger/c1", "Add", amount=1))["seq"] == 602
    assert [f["seq"] for f in await events(slow, 1)] == [602]   # and it follows live again


async def test_a_frame_over_the_limit_closes_only_that_connection(launch, open_ws):
    server = await launch(max_frame_bytes=1024)
    token = operator_token(server)
    greedy = await open_ws(server, token)
    await greedy.send(command_frame("big", "ledger/c1", "Add", amount=1) | {"pad": "x" * 2000})
    with pytest.raises(ConnectionClosed) as closed:
        await greedy.expect()
    assert closed.value.rcvd is not None and closed.value.rcvd.code == 1009
    fine = await open_ws(server, token)
    assert (await fine.command("ledger/c1", "Add", amount=1))["seq"] == 1


async def test_an_id_or_topic_that_is_no_string_is_not_echoed_and_the_connection_lives(server, open_ws):
    # Echoing them back once made an error frame orjson could not encode (an integer past 64 bits),
    # and that dropped the connection (found by tests/server/test_fuzz.py).
    token, _ = server.tokens.create("gm", campaign="c1")
    client = await open_ws(server, token)
    wide = 2**64 + 1
    await client.send(f'{{"type": "command", "id": {wide}, "topic": "ledger/c1", "command": {{"type": "Add"}}}}')
    refused = await client.expect()
    assert (refused["type"], refused["code"], "id" in refused) == ("error", "bad_message", False), refused
    await client.send(f'{{"type": "unsubscribe", "topic": {wide}}}')
    assert await client.expect() == {"type": "unsubscribed", "topic": None}
    await client.send(f'{{"type": "subscribe", "topic": {wide}}}')
    refused = await client.expect()
    assert refused["code"] == "bad_message" and "topic" not in refused, refused
    assert (await client.command("ledger/c1", "Add", amount=1))["type"] == "ack"  # still served
