"""Idempotency keys: a retry gets the first ack; the same key with another command is refused.

Keys are remembered per token and per actor (docs/protocol.md, "Idempotency").
"""
from __future__ import annotations

from .conftest import add, assert_error, bearer, command, http_client, operator_token
from .test_ws import command_frame


async def test_the_same_key_with_another_body_is_refused_and_changes_nothing(server, http):
    token, _ = server.tokens.create("gm", campaign="c1")
    first = await add(http, token, "ledger/c1", 10, **{"Idempotency-Key": "buy-sword-1"})
    assert first.json()["seq"] == 1
    changed = await add(http, token, "ledger/c1", 99, **{"Idempotency-Key": "buy-sword-1"})
    error = assert_error(changed, 409, "idempotency/key_reused")
    assert "fresh key" in error["message"]
    other_type = await http.post("/api/v1/actors/ledger/c1/commands", json=command("Remind", name="x", after_s=5),
                                 headers={**bearer(token), "Idempotency-Key": "buy-sword-1"})
    assert_error(other_type, 409, "idempotency/key_reused")
    retry = await add(http, token, "ledger/c1", 10, **{"Idempotency-Key": "buy-sword-1"})
    assert retry.json() == first.json()
    assert server.runtime.state_of("ledger/c1")[0].history == (10,)


async def test_a_reused_websocket_command_id_with_another_command_is_refused(server, open_ws):
    token, _ = server.tokens.create("gm", campaign="c1")
    client = await open_ws(server, token)
    assert (await client.request(command_frame("c-1", "ledger/c1", "Add", amount=4)))["type"] == "ack"
    refused = await client.request(command_frame("c-1", "ledger/c1", "Add", amount=5))
    assert (refused["type"], refused["id"], refused["code"]) == ("error", "c-1", "idempotency/key_reused")
    again = await client.request(command_frame("c-1", "ledger/c1", "Add", amount=4))
    assert (again["type"], again["seq"]) == ("ack", 1)
    assert server.runtime.state_of("ledger/c1")[0].total == 4


async def test_keys_belong_to_one_token_and_one_actor(server, http):
    op = operator_token(server)
    one = await add(http, op, "ledger/c1", 1, **{"Idempotency-Key": "k-1"})
    two = await add(http, op, "ledger/c2", 2, **{"Idempotency-Key": "k-1"})   # another actor: another request
    assert one.json()["seq"] == two.json()["seq"] == 1
    assert server.runtime.state_of("ledger/c1")[0].total == 1 and server.runtime.state_of("ledger/c2")[0].total == 2


async def test_a_retry_matches_on_what_the_client_sent_not_on_defaults_drawn_on_arrival(game_server):
    op = {**bearer(operator_token(game_server)), "Idempotency-Key": "new-game"}
    async with http_client(game_server) as http:
        url = "/api/v1/actors/strategy/s1/commands"
        first = await http.post(url, json=command("CreateGame"), headers=op)   # its seed is drawn as it arrives
        retry = await http.post(url, json=command("CreateGame"), headers=op)
        assert first.status_code == retry.status_code == 200, retry.text
        assert retry.json() == first.json()
        assert_error(await http.post(url, json=command("CreateGame", rings=5), headers=op), 409,
                     "idempotency/key_reused")
