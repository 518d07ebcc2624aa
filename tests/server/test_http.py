"""The REST API as its users meet it: real hypercorn on a loopback port, real HTTP."""
from __future__ import annotations

import base64

import pytest
import trio

from actors import VirtualClock
from server.app import SECURITY_HEADERS

from .conftest import add, assert_error, bearer, command, http_client, operator_token

COMMANDS = "/api/v1/actors/ledger/c1/commands"


def forged_cursor(text: str) -> str:
    return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")


async def state_of(http, token: str, address: str) -> dict:
    response = await http.get(f"/api/v1/actors/{address}", headers=bearer(token))
    assert response.status_code == 200, response.text
    return response.json()


# -- serving --------------------------------------------------------------------------------


async def test_health_says_the_server_is_live_and_ready(http):
    live = await http.get("/health/live")
    ready = await http.get("/health/ready")
    assert (live.status_code, live.json()) == (200, {"status": "ok"})
    assert (ready.status_code, ready.json()) == (200, {"status": "ok", "storage": True, "runtime": True})


async def test_every_response_carries_a_request_id_and_the_security_headers(server, http):
    token = operator_token(server)
    responses = [
        await http.get("/health/live"),
        await http.get("/metrics"),
        await add(http, token, "ledger/c1", 1),
        await http.get("/api/v1/admin/runtime"),                      # 401
        await http.get("/no/such/route"),                             # 404 from the router
        await http.put(COMMANDS, headers=bearer(token)),              # 405
        await add(http, token, "ledger/c1", 0),                       # 409
    ]
    ids = [r.headers["X-Request-Id"] for r in responses]
    assert all(ids) and len(set(ids)) == len(ids)
    for response in responses:
        for name, value in SECURITY_HEADERS.items():
            assert response.headers[name] == value, (response.request.url, name)


async def test_a_sane_request_id_is_echoed_and_an_insane_one_replaced(http):
    echoed = await http.get("/health/live", headers={"X-Request-Id": "trace-42:a.b_c"})
    assert echoed.headers["X-Request-Id"] == "trace-42:a.b_c"
    for insane in ("has space", "x" * 129, "semi;colon", ""):
        response = await http.get("/health/live", headers={"X-Request-Id": insane})
        assert response.headers["X-Request-Id"] not in (insane, "")
    error = await http.get("/api/v1/admin/runtime", headers={"X-Request-Id": "mine-1"})
    assert error.json()["request_id"] == "mine-1"


async def test_metrics_are_prometheus_text_with_requests_and_actors(server, http):
    await add(http, operator_token(server), "ledger/c1", 3)
    response = await http.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    text = response.text
    assert "# TYPE everturn_http_requests_total counter" in text
    assert ('everturn_http_requests_total{method="POST",route="/api/v1/actors/<kind>/<actor_id>/commands",'
            'status="200"} 1') in text
    assert "# TYPE everturn_actors_active gauge" in text
    assert "everturn_actors_active 1.0" in text.splitlines()  # prometheus_client writes every value as a float
    assert "everturn_http_request_seconds_bucket" in text


# -- commands, state, journal -------------------------------------------------------------


async def test_a_command_is_acknowledged_once_durable_and_changes_the_state(server, http):
    token, _ = server.tokens.create("gm", campaign="c1")
    response = await http.post(COMMANDS, json=command("Add", amount=2), headers=bearer(token))
    assert response.status_code == 200
    assert response.json() == {"address": "ledger/c1", "seq": 1, "events": 1}
    second = await add(http, token, "ledger/c1", 5)
    assert second.json()["seq"] == 2
    body = await state_of(http, token, "ledger/c1")
    assert body["address"] == "ledger/c1" and body["seq"] == 2
    assert body["state"]["total"] == 7 and body["state"]["history"] == [2, 5]


async def test_the_journal_reads_page_by_page_with_opaque_cursors(server, http):
    token, _ = server.tokens.create("gm", campaign="c1")
    for n in range(1, 121):
        assert (await add(http, token, "ledger/c1", n)).status_code == 200
    url = "/api/v1/actors/ledger/c1/events"

    first = (await http.get(url, headers=bearer(token))).json()
    assert [item["seq"] for item in first["items"]] == list(range(1, 51))    # 50 by default
    assert first["items"][0] == {"seq": 1, "type": "Added", "version": 1, "data": {"amount": 1}}
    cursor = first["next_cursor"]
    assert isinstance(cursor, str) and not cursor.isdigit() and "50" not in cursor

    seen, pages = [], 0
    cursor = None
    while True:
        params = {"limit": "50"} | ({"cursor": cursor} if cursor else {})
        page = (await http.get(url, params=params, headers=bearer(token))).json()
        seen += [item["data"]["amount"] for item in page["items"]]
        pages += 1
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert (pages, seen) == (3, list(range(1, 121)))

    everything = (await http.get(url, params={"limit": "200"}, headers=bearer(token))).json()
    assert len(everything["items"]) == 120 and everything["next_cursor"] is None
    exact = (await http.get(url, params={"limit": "120"}, headers=bearer(token))).json()
    assert len(exact["items"]) == 120 and exact["next_cursor"] is None


@pytest.mark.parametrize("params, code", [
    ({"limit": "201"}, "bad_limit"),
    ({"limit": "0"}, "bad_limit"),
    ({"limit": "x"}, "bad_limit"),
    ({"limit": "-1"}, "bad_limit"),
    ({"limit": "1.5"}, "bad_limit"),
    ({"cursor": "not-a-cursor!"}, "bad_cursor"),
    ({"cursor": forged_cursor("q12")}, "bad_cursor"),
    ({"cursor": forged_cursor("p-3")}, "bad_cursor"),
    ({"cursor": "é"}, "bad_cursor"),
])
async def test_bad_page_arguments_answer_400(server, http, params, code):
    token = operator_token(server)
    await add(http, token, "ledger/c1", 1)
    for url in ("/api/v1/actors/ledger/c1/events", "/api/v1/admin/dead-letters"):
        assert_error(await http.get(url, params=params, headers=bearer(token)), 400, code)


@pytest.mark.parametrize("limit", ["²", "9" * 5000])
async def test_a_limit_in_odd_digits_is_a_400_not_a_500(server, http, limit):
    token = operator_token(server)
    response = await http.get("/api/v1/actors/ledger/c1/events", params={"limit": limit}, headers=bearer(token))
    assert_error(response, 400, "bad_limit")


@pytest.mark.parametrize("url", ["/api/v1/actors/ledger/c1/events", "/api/v1/admin/dead-letters"])
async def test_a_forged_cursor_past_64_bits_is_a_400_not_a_500(server, http, url):
    token = operator_token(server)
    await add(http, token, "ledger/c1", 1)
    response = await http.get(url, params={"cursor": forged_cursor("p" + "9" * 25)}, headers=bearer(token))
    assert_error(response, 400, "bad_cursor")


async def test_an_idempotency_key_retry_returns_the_same_ack_and_applies_once(server, http):
    token, _ = server.tokens.create("gm", campaign="c1")
    first = await add(http, token, "ledger/c1", 10, **{"Idempotency-Key": "buy-sword-1"})
    retry = await add(http, token, "ledger/c1", 10, **{"Idempotency-Key": "buy-sword-1"})
    assert first.status_code == retry.status_code == 200
    assert retry.json() == first.json() == {"address": "ledger/c1", "seq": 1, "events": 1}
    assert (await state_of(http, token, "ledger/c1"))["state"]["total"] == 10

    fresh = await add(http, token, "ledger/c1", 10, **{"Idempotency-Key": "buy-sword-2"})
    assert fresh.json()["seq"] == 2
    other_token, _ = server.tokens.create("gm", campaign="c1")   # keys belong to one token
    other = await add(http, other_token, "ledger/c1", 10, **{"Idempotency-Key": "buy-sword-1"})
    assert other.json()["seq"] == 3
    assert (await state_of(http, token, "ledger/c1"))["state"]["history"] == [10, 10, 10]

    bad = await add(http, token, "ledger/c1", 10, **{"Idempotency-Key": "no spaces allowed"})
    assert_error(bad, 400, "bad_idempotency_key")
    assert (await state_of(http, token, "ledger/c1"))["seq"] == 3


# -- every error path: status and shape ---------------------------------------------------


async def test_missing_or_invalid_tokens_answer_401(server, http):
    body = command("Add", amount=1)
    assert_error(await http.post(COMMANDS, json=body), 401, "auth/missing")
    assert_error(await http.post(COMMANDS, json=body, headers={"Authorization": "Basic dXNlcjpwdw=="}), 401,
                 "auth/missing")
    assert_error(await http.post(COMMANDS, json=body, headers={"Authorization": "Bearer"}), 401, "auth/missing")
    token = operator_token(server)
    for wrong in ("evt_nope_secret", token[:-2] + "xx", "not-even-a-token", "evt_" + "a" * 300):
        assert_error(await http.post(COMMANDS, json=body, headers=bearer(wrong)), 401, "auth/invalid")
    assert_error(await http.get("/api/v1/admin/actors"), 401, "auth/missing")
    assert server.runtime.state_of("ledger/c1")[1] == 0


async def test_operator_endpoints_answer_403_to_every_other_role(server, http):
    tokens = [server.tokens.create("gm", campaign="c1")[0],
              server.tokens.create("player", campaign="c1", character="ayla")[0],
              server.tokens.create("bot", campaign="c1", acts_as="gm")[0],
              server.tokens.create("bridge", campaign="c1")[0]]
    for token in tokens:
        for method, url in (("GET", "/api/v1/admin/actors"), ("GET", "/api/v1/admin/runtime"),
                            ("GET", "/api/v1/admin/dead-letters"), ("GET", "/api/v1/admin/actors/ledger/c1"),
                            ("POST", "/api/v1/admin/actors/ledger/c1/passivate"),
                            ("POST", "/api/v1/admin/clock/advance"), ("DELETE", "/api/v1/admin/tokens/abc")):
            assert_error(await http.request(method, url, headers=bearer(token)), 403, "auth/forbidden")
        made = await http.post("/api/v1/admin/tokens", json={"role": "operator"}, headers=bearer(token))
        assert_error(made, 403, "auth/forbidden")


async def test_an_unknown_kind_or_route_is_404(server, http):
    token = operator_token(server)
    assert_error(await http.post("/api/v1/actors/nope/c1/commands", json=command("Add", amount=1),
                                 headers=bearer(token)), 404, "not_found")
    assert_error(await http.get("/api/v1/actors/nope/c1", headers=bearer(token)), 404, "not_found")
    assert_error(await http.get("/api/v1/actors/ledger/never-written", headers=bearer(token)), 404, "not_found")
    assert_error(await http.get("/api/v1/nothing/here"), 404, "not_found")


async def test_a_campaign_token_never_reaches_another_campaign(server, http):
    gm1, _ = server.tokens.create("gm", campaign="c1")
    gm2, _ = server.tokens.create("gm", campaign="c2")
    player1, _ = server.tokens.create("player", campaign="c1", character="ayla")
    assert (await add(http, gm2, "ledger/c2", 7)).status_code == 200
    assert (await add(http, gm1, "ledger/c1", 1)).status_code == 200
    # a name that starts with c1 is no child of c1: only what ledger/c1 says is its own (it owns nothing)
    assert_error(await add(http, gm1, "ledger/c1.2", 1), 404, "not_found")

    missing = assert_error(await http.get("/api/v1/actors/ledger/c1.404", headers=bearer(gm1)), 404, "not_found")
    for token in (gm1, player1):
        for address in ("ledger/c2", "ledger/c2.1", "ledger/c10", "ledger/c1:x", "ledger/c1-2", "ledger/c1.2"):
            read = assert_error(await http.get(f"/api/v1/actors/{address}", headers=bearer(token)), 404, "not_found")
            journal = assert_error(await http.get(f"/api/v1/actors/{address}/events", headers=bearer(token)),
                                   404, "not_found")
            written = assert_error(await add(http, token, address, 100), 404, "not_found")
            for forbidden in (read, journal, written):   # nothing tells "forbidden" from "missing"
                assert forbidden["code"] == missing["code"]
                assert forbidden["details"] == missing["details"]
                assert forbidden["message"].replace(address, "X") == missing["message"].replace("ledger/c1.404", "X")

    assert (await state_of(http, gm2, "ledger/c2"))["state"] == {
        "total": 7, "history": [7], "reminders": [], "fired_ids": [], "failed_children": []}
    assert_error(await http.get("/api/v1/actors/ledger/c1", headers=bearer(gm2)), 404, "not_found")
    operator = operator_token(server)
    assert (await state_of(http, operator, "ledger/c2"))["seq"] == 1
    assert (await state_of(http, operator, "ledger/c1"))["seq"] == 1


@pytest.mark.parametrize("content, code", [
    (b"{not json", "bad_json"),
    (b"[1, 2]", "bad_json"),
    (b'"Add"', "bad_json"),
    (b"42", "bad_json"),
    (b"null", "bad_json"),
    (b"", "bad_json"),
    (b"\xff\xfe{}", "bad_json"),
])
async def test_a_body_that_is_not_a_json_object_is_400(server, http, content, code):
    response = await http.post(COMMANDS, content=content, headers=bearer(operator_token(server)))
    assert_error(response, 400, code)


async def test_a_bad_address_is_400(server, http):
    token = operator_token(server)
    for address in ("Ledger/c1", "ledger/.c1", "ledger/" + "a" * 129, "le dger/c1"):
        response = await http.post(f"/api/v1/actors/{address}/commands", json=command("Add", amount=1),
                                   headers=bearer(token))
        error = assert_error(response, 400, "runtime/invalid_address")
        assert "not an actor address" in error["message"]


async def test_a_rejected_command_is_409_with_the_kinds_code_and_changes_nothing(server, http):
    token = operator_token(server)
    await add(http, token, "ledger/c1", 4)
    error = assert_error(await add(http, token, "ledger/c1", 0), 409, "ledger/zero")
    assert error["message"] == "adding zero changes nothing"
    body = await state_of(http, token, "ledger/c1")
    assert (body["seq"], body["state"]["total"]) == (1, 4)


async def test_a_body_over_the_limit_is_413(launch):
    server = await launch(max_body_bytes=256)
    token = operator_token(server)
    async with http_client(server) as http:
        fits = await http.post(COMMANDS, json={"type": "Add", "data": {"amount": 1}, "pad": "x" * 150},
                               headers=bearer(token))
        assert fits.status_code == 200
        too_big = await http.post(COMMANDS, json={"type": "Add", "data": {"amount": 1}, "pad": "x" * 400},
                                  headers=bearer(token))
        assert_error(too_big, 413, "too_large")

        async def chunks():            # no Content-Length: the limit holds while streaming too
            for _ in range(8):
                yield b" " * 100
            yield b'{"type": "Add", "data": {"amount": 1}}'

        streamed = await http.post(COMMANDS, content=chunks(), headers=bearer(token))
        assert_error(streamed, 413, "too_large")
    assert server.runtime.state_of("ledger/c1")[1] == 1


async def test_an_unknown_or_invalid_command_is_422(server, http):
    token = operator_token(server)
    unknown = assert_error(await http.post(COMMANDS, json=command("Subtract", amount=1), headers=bearer(token)),
                           422, "command/unknown")
    assert unknown["details"] == {"accepted": ["Add", "Boom", "Forget", "Forward", "Remind"]}

    invalid = assert_error(await http.post(COMMANDS, json=command("Add", amount="lots"), headers=bearer(token)),
                           422, "command/invalid")
    assert [d["loc"] for d in invalid["details"]] == [["amount"]]
    assert invalid["details"][0]["type"] == "int_parsing"
    missing = assert_error(await http.post(COMMANDS, json=command("Add"), headers=bearer(token)), 422,
                           "command/invalid")
    assert missing["details"][0]["type"] == "missing"

    for body in ({"data": {"amount": 1}}, {"type": 7}, {"type": "Add", "data": [1]}, {"type": "Add", "data": "x"}):
        assert_error(await http.post(COMMANDS, json=body, headers=bearer(token)), 422, "command/invalid")
    assert server.runtime.state_of("ledger/c1")[1] == 0


async def test_system_commands_are_not_accepted_from_clients(server, http):
    token = operator_token(server)
    for body in (command("TimerFired", name="r", id="t1", payload="forged"),
                 command("ChildFailed", child="ledger/c1.2", error="forged")):
        error = assert_error(await http.post(COMMANDS, json=body, headers=bearer(token)), 422, "command/unknown")
        assert body["type"] not in error["details"]["accepted"]
    assert server.runtime.state_of("ledger/c1")[0].failed_children == ()


async def test_a_token_past_its_rate_limit_gets_429_with_retry_after(launch):
    server = await launch(rate=0.5, burst=3)
    greedy, _ = server.tokens.create("gm", campaign="c1")
    patient, _ = server.tokens.create("gm", campaign="c1")
    async with http_client(server) as http:
        for n in range(3):
            assert (await add(http, greedy, "ledger/c1", n + 1)).status_code == 200
        limited = await add(http, greedy, "ledger/c1", 9)
        assert_error(limited, 429, "rate_limited")
        assert int(limited.headers["Retry-After"]) >= 1
        assert_error(await http.get("/api/v1/actors/ledger/c1", headers=bearer(greedy)), 429, "rate_limited")
        assert (await add(http, patient, "ledger/c1", 4)).status_code == 200   # one budget per token
    assert server.runtime.state_of("ledger/c1")[0].history == (1, 2, 3, 4)


async def test_a_wrong_method_is_405_in_the_error_shape(server, http):
    token = operator_token(server)
    assert_error(await http.get(COMMANDS, headers=bearer(token)), 405, "method_not_allowed")
    assert_error(await http.delete("/api/v1/actors/ledger/c1", headers=bearer(token)), 405, "method_not_allowed")
    assert_error(await http.post("/health/live"), 405, "method_not_allowed")


async def test_a_405_says_which_methods_are_allowed(server, http):
    response = await http.get(COMMANDS, headers=bearer(operator_token(server)))
    assert response.status_code == 405
    assert "POST" in response.headers.get("Allow", "")


@pytest.mark.parametrize("huge", ["18446744073709551615", "9223372036854775808", "-9223372036854775809", "1e30"])
async def test_integers_past_64_bits_are_refused_before_they_reach_an_actor(server, http, huge):
    token = operator_token(server)
    assert (await add(http, token, "ledger/c1", 1)).status_code == 200
    for _ in range(2):
        response = await http.post(COMMANDS, content=b'{"type": "Add", "data": {"amount": %s}}' % huge.encode(),
                                   headers=bearer(token))
        assert "amount" in str(assert_error(response, 422, "command/invalid")["details"])
    assert (await state_of(http, token, "ledger/c1"))["state"]["total"] == 1
    assert (await add(http, token, "ledger/c1", 2**63 - 1)).status_code == 200   # the widest that fits


# -- the operator API ---------------------------------------------------------------------


async def test_an_operator_sees_the_tree_an_actor_and_the_runtime_figures(server, http):
    op = bearer(operator_token(server))
    await add(http, operator_token(server), "ledger/c1", 5)
    await add(http, operator_token(server), "ledger/c2", 6)

    tree = (await http.get("/api/v1/admin/actors", headers=op)).json()
    assert tree["address"] == "root" and tree["active"] == 2
    (ledger,) = [k for k in tree["children"] if k["kind"] == "ledger"]
    assert ledger["degraded"] is False
    nodes = {node["address"]: node for node in ledger["children"]}
    assert set(nodes) == {"ledger/c1", "ledger/c2"}
    assert nodes["ledger/c1"]["handled"] >= 1 and nodes["ledger/c1"]["journal_length"] == 1

    actor = (await http.get("/api/v1/admin/actors/ledger/c1", headers=op)).json()
    assert actor["address"] == "ledger/c1" and actor["active"] is True and actor["seq"] == 1
    assert actor["state"]["total"] == 5 and actor["figures"]["status"] == "running" and actor["timers"] == []
    never = (await http.get("/api/v1/admin/actors/ledger/c9", headers=op)).json()
    assert (never["active"], never["seq"], never["figures"]) == (False, 0, None)
    assert_error(await http.get("/api/v1/admin/actors/Bad/c9", headers=op), 400, "runtime/invalid_address")

    figures = (await http.get("/api/v1/admin/runtime", headers=op)).json()
    assert figures["active"] == 2 and figures["activations"] == 2 and figures["commit_writes"] >= 2
    assert (figures["known_actors"], figures["passivated"], figures["websocket_clients"]) == (2, 0, 0)


async def test_the_runtime_history_keeps_the_last_samples_for_the_consoles_plots(launch):
    running = await launch(sample_interval_s=0.01)
    op = bearer(operator_token(running))
    async with http_client(running) as http:
        await add(http, operator_token(running), "ledger/c1", 5)
        with trio.fail_after(10):
            while True:                             # samples are taken on the server's own schedule
                history = (await http.get("/api/v1/admin/runtime/history", headers=op)).json()
                if len(history["samples"]) >= 3 and history["samples"][-1]["active"] == 1:
                    break
                await trio.sleep(0.01)
        samples = history["samples"]
        assert history["interval_s"] == 0.01 and len(samples) <= 300
        assert [s["at"] for s in samples] == sorted(s["at"] for s in samples)
        assert samples[-1]["commit_writes"] >= 1 and isinstance(samples[-1]["stopped"], int)
        assert_error(await http.get("/api/v1/admin/runtime/history"), 401, "auth/missing")


async def test_an_operator_passivates_and_restarts_an_actor_without_losing_state(server, http):
    op = bearer(operator_token(server))
    await add(http, operator_token(server), "ledger/c1", 5)
    passivated = await http.post("/api/v1/admin/actors/ledger/c1/passivate", headers=op)
    assert passivated.json() == {"address": "ledger/c1", "passivated": True}   # answered once it has left
    gone = (await http.get("/api/v1/admin/actors/ledger/c1", headers=op)).json()
    assert (gone["seq"], gone["state"]["total"]) == (1, 5)
    again = await http.post("/api/v1/admin/actors/ledger/c1/passivate", headers=op)
    assert again.json()["passivated"] is False
    figures = (await http.get("/api/v1/admin/runtime", headers=op)).json()
    assert (figures["known_actors"], figures["active"], figures["passivated"]) == (1, 0, 1)

    await add(http, operator_token(server), "ledger/c1", 1)
    restarted = await http.post("/api/v1/admin/actors/ledger/c1/restart", headers=op)
    assert restarted.json() == {"address": "ledger/c1", "restarted": True}
    after = (await http.get("/api/v1/admin/actors/ledger/c1", headers=op)).json()
    assert (after["active"], after["seq"], after["state"]["total"]) == (True, 2, 6)
    assert (await http.get("/api/v1/admin/runtime", headers=op)).json()["passivations"] == 2


async def test_an_operator_stops_an_actor_until_starting_it_again(server, http, open_ws):
    op = bearer(operator_token(server))
    gm, _ = server.tokens.create("gm", campaign="c1")
    await add(http, gm, "ledger/c1", 5)
    stopped = await http.post("/api/v1/admin/actors/ledger/c1/stop", json={"reason": "loops on Add"}, headers=op)
    assert stopped.json() == {"address": "ledger/c1", "stopped": True, "changed": True}
    again = await http.post("/api/v1/admin/actors/ledger/c1/stop", headers=op)        # an empty body will do
    assert again.json()["changed"] is False

    refused = assert_error(await add(http, gm, "ledger/c1", 1), 503, "runtime/actor_halted")
    assert "operator" in refused["message"]
    ws = await open_ws(server, gm)
    assert (await ws.command("ledger/c1", "Add", amount=1))["code"] == "runtime/actor_halted"
    inspected = (await http.get("/api/v1/admin/actors/ledger/c1", headers=op)).json()
    assert inspected["active"] is False and inspected["state"]["total"] == 5
    assert inspected["stopped"]["reason"] == "loops on Add"
    assert (await http.get("/api/v1/admin/runtime", headers=op)).json()["stopped"] == ["ledger/c1"]
    assert (await state_of(http, gm, "ledger/c1"))["state"]["total"] == 5   # still readable

    assert_error(await http.post("/api/v1/admin/actors/dragon/x/stop", headers=op), 404, "not_found")
    assert_error(await http.post("/api/v1/admin/actors/ledger/c1/stop", headers=bearer(gm)), 403, "auth/forbidden")
    assert_error(await http.post("/api/v1/admin/actors/ledger/c2/stop", json={"reason": "x" * 501}, headers=op),
                 422, "invalid")

    started = await http.post("/api/v1/admin/actors/ledger/c1/start", headers=op)
    assert started.json() == {"address": "ledger/c1", "stopped": False, "changed": True}
    assert (await add(http, gm, "ledger/c1", 1)).json()["seq"] == 2
    assert (await http.get("/api/v1/admin/actors/ledger/c1", headers=op)).json()["stopped"] is None


async def test_an_operator_pages_through_dead_letters(server, http):
    op = bearer(operator_token(server))
    for n in range(3):
        crashed = await http.post(f"/api/v1/actors/ledger/c{n}/commands", json=command("Boom"), headers=op)
        assert_error(crashed, 500, "runtime/actor_crashed")       # a crashing kind is a bug: 500 by design
    first = (await http.get("/api/v1/admin/dead-letters", params={"limit": 2}, headers=op)).json()
    assert [(d["address"], d["command"]) for d in first["items"]] == [("ledger/c0", "Boom"), ("ledger/c1", "Boom")]
    assert "RuntimeError: boom" in first["items"][0]["error"]
    rest = (await http.get("/api/v1/admin/dead-letters", params={"limit": 2, "cursor": first["next_cursor"]},
                           headers=op)).json()
    assert [d["address"] for d in rest["items"]] == ["ledger/c2"] and rest["next_cursor"] is None


async def test_an_operator_creates_and_revokes_tokens(server, http):
    op = bearer(operator_token(server))
    made = await http.post("/api/v1/admin/tokens", json={"role": "gm", "campaign": "c1"}, headers=op)
    assert made.status_code == 201
    body = made.json()
    assert body["role"] == "gm" and body["campaign"] == "c1" and body["token"].startswith("evt_")
    assert (await add(http, body["token"], "ledger/c1", 2)).status_code == 200

    error = assert_error(await http.post("/api/v1/admin/tokens", json={"role": "wizard"}, headers=op), 422, "invalid")
    assert error["details"][0]["loc"] == ["role"]
    assert_error(await http.post("/api/v1/admin/tokens", json={"role": "gm"}, headers=op), 422, "token/invalid")
    assert_error(await http.post("/api/v1/admin/tokens", json={"role": "player", "campaign": "c1"}, headers=op),
                 422, "token/invalid")
    assert_error(await http.post("/api/v1/admin/tokens", json={"role": "gm", "campaign": "no/slash"}, headers=op),
                 422, "token/invalid")

    revoked = await http.delete(f"/api/v1/admin/tokens/{body['token_id']}", headers=op)
    assert revoked.json() == {"revoked": body["token_id"]}
    assert_error(await add(http, body["token"], "ledger/c1", 2), 401, "auth/invalid")
    assert_error(await http.delete(f"/api/v1/admin/tokens/{body['token_id']}", headers=op), 404, "not_found")
    assert server.runtime.state_of("ledger/c1")[0].history == (2,)


async def test_an_operator_advances_a_virtual_clock_and_due_timers_fire(launch):
    clock = VirtualClock()
    server = await launch(clock=clock)
    op = bearer(operator_token(server))
    async with http_client(server) as http:
        start = (await http.get("/api/v1/admin/clock", headers=op)).json()
        assert start == {"now": clock.now(), "virtual": True}
        remind = await http.post(COMMANDS, json=command("Remind", name="dawn", after_s=30), headers=op)
        assert remind.status_code == 200
        assert "everturn_timers_stored 1.0" in (await http.get("/metrics")).text.splitlines()
        assert (await http.get("/api/v1/admin/runtime", headers=op)).json()["timers_stored"] == 1

        moved = await http.post("/api/v1/admin/clock/advance", json={"seconds": 10}, headers=op)
        assert moved.json() == {"now": start["now"] + 10, "virtual": True, "fired": 0, "settled": True}
        assert (await state_of(http, operator_token(server), "ledger/c1"))["state"]["reminders"] == []

        await http.post(COMMANDS, json=command("Remind", name="noon", after_s=5), headers=op)   # due before dawn
        moved = await http.post("/api/v1/admin/clock/advance", json={"seconds": 25}, headers=op)
        assert moved.json() == {"now": start["now"] + 35, "virtual": True, "fired": 2, "settled": True}
        # answered once both fired and were handled, in due order
        assert (await state_of(http, operator_token(server), "ledger/c1"))["state"]["reminders"] == ["noon", "dawn"]
        assert "everturn_timers_stored 0.0" in (await http.get("/metrics")).text.splitlines()

        backwards = await http.post("/api/v1/admin/clock/advance", json={"seconds": -1}, headers=op)
        assert_error(backwards, 422, "invalid")
        assert (await http.get("/api/v1/admin/clock", headers=op)).json()["now"] == start["now"] + 35


async def test_a_real_clock_cannot_be_advanced(server, http):
    op = bearer(operator_token(server))
    assert (await http.get("/api/v1/admin/clock", headers=op)).json()["virtual"] is False
    assert_error(await http.post("/api/v1/admin/clock/advance", json={"seconds": 5}, headers=op), 409,
                 "clock/not_virtual")


async def test_a_server_without_campaigns_lists_none(server, http):
    op = bearer(operator_token(server))
    gm = (await http.post("/api/v1/admin/tokens", json={"role": "gm", "campaign": "c1"}, headers=op)).json()["token"]
    for token in (operator_token(server), gm):
        answer = await http.get("/api/v1/campaigns", headers=bearer(token))
        assert answer.status_code == 200, answer.text
        assert answer.json() == {"items": [], "next_cursor": None}
