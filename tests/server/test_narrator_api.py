"""The narrator on a real server: tokens over the websocket, the operator's view, pause and resume, metrics."""
from __future__ import annotations

from functools import partial

import trio

from actors import RuntimeConfig, VirtualClock
from actors.kinds import game_kinds
from actors.narration.prompts import Prompts
from actors.narration.service import configured
from server.app import ServerSettings
from server.serve import run_server

from .conftest import assert_error, bearer, command, http_client, operator_token

NARRATION_WAIT = 120.0  # a generation on a busy two-core machine; the test waits on frames, never sleeps


async def narrated_server(nursery, data, narrator):
    return await nursery.start(partial(run_server, data, game_kinds(narrator=narrator), port=0, clock=VirtualClock(),
                                       settings=ServerSettings(rate=1e6, burst=1e6),
                                       config=RuntimeConfig(lag_interval=None), narrator=narrator))


async def test_tokens_stream_to_subscribers_and_the_operator_sees_and_steers_the_narrator(nursery, tmp_path,
                                                                                          open_ws):
    narrator = configured([], slots=1, threads=2)
    running = await narrated_server(nursery, tmp_path / "data", narrator)
    op = bearer(operator_token(running))
    async with http_client(running) as http:
        gm = (await http.post("/api/v1/admin/tokens", json={"role": "gm", "campaign": "c1"}, headers=op)).json()
        player = (await http.post("/api/v1/admin/tokens", json={"role": "player", "campaign": "c1",
                                                                 "character": "ayla"}, headers=op)).json()
        send = partial(http.post, "/api/v1/actors/campaign/c1/commands", headers=bearer(gm["token"]))
        assert (await send(json=command("CreateCampaign", title="The Sunken Crown"))).status_code == 200

        ws = await open_ws(running, player["token"])
        assert (await ws.request({"type": "subscribe", "topic": "campaign/c1"}))["type"] == "snapshot"
        response = await send(json=command("NarrateNpc", npc="Old Bren", hint="the bridge is out; take the ford"))
        assert response.status_code == 200, response.text

        posted = await ws.expect()
        assert posted["event"]["type"] == "Posted" and posted["event"]["data"]["post"]["pending"]
        n = posted["event"]["data"]["post"]["n"]
        deltas = []
        with trio.fail_after(NARRATION_WAIT):
            while True:
                frame = await ws.expect(timeout=NARRATION_WAIT)
                if frame["type"] == "narration":
                    assert frame["topic"] == "campaign/c1" and frame["post"] == n and "seq" not in frame
                    deltas.append(frame["delta"])
                elif frame["type"] == "event" and frame["event"]["type"] == "PostNarrated":
                    settled = frame["event"]["data"]
                    break
        assert deltas and settled["n"] == n
        assert settled["meta"]["outcome"] in ("narrated", "rejected") and settled["meta"]["completion_tokens"] > 0

        status = await http.get("/api/v1/admin/narrator", headers=op)
        assert status.status_code == 200
        body = status.json()
        assert body["default"] == "smollm2" and body["health"]["state"] == "ready"
        assert body["outcomes"][settled["meta"]["outcome"]] == 1 and body["completion_tokens"] > 0
        assert body["recent"][0]["campaign"] == "campaign/c1" and body["recent"][0]["post"] == n
        assert_error(await http.get("/api/v1/admin/narrator", headers=bearer(gm["token"])), 403, "auth/forbidden")
        assert_error(await http.post("/api/v1/admin/narrator/pause", json={"seconds": -1}, headers=op), 422,
                     "invalid")

        paused = await http.post("/api/v1/admin/narrator/pause", json={"seconds": 600}, headers=op)
        assert paused.json()["health"]["state"] == "paused" and paused.json()["health"]["paused_by"] == "operator"
        await send(json=command("NarrateNpc", npc="Bren", hint="go"))
        while (frame := await ws.expect())["type"] != "event" or frame["event"]["type"] != "PostNarrated":
            pass
        assert frame["event"]["data"]["text"] == "Bren: go" and frame["event"]["data"]["meta"]["outcome"] == "paused"

        resumed = await http.post("/api/v1/admin/narrator/resume", headers=op)
        assert resumed.json()["health"]["state"] == "ready"
        metrics = (await http.get("/metrics")).text
        assert 'everturn_narrator_calls_total{outcome="paused"} 1' in metrics
        assert "everturn_narrator_paused 0" in metrics

        refused = await send(json=command("UpdateSettings", settings={"narrator_model": "nope"}))
        assert_error(refused, 409, "campaign/unknown_narrator_model")
        bad = {"prompts": {"stalled": {"system": "You narrate {title}.", "user": "Say {mood}."}}}
        error = assert_error(await send(json=command("UpdateSettings", settings=bad)), 422, "command/invalid")
        assert "unknown placeholder {mood}" in str(error["details"]) and "{recent}" in str(error["details"])
        good = {"prompts": {"stalled": {"system": "You are the bard of {title}.", "user": "Sing of {event}"}}}
        assert (await send(json=command("UpdateSettings", settings=good))).status_code == 200
        state = (await http.get("/api/v1/actors/campaign/c1", headers=bearer(gm["token"]))).json()["state"]
        assert state["settings"]["prompts"]["stalled"]["user"] == "Sing of {event}"
        assert state["settings"]["prompts"]["deadline"] == Prompts().deadline.model_dump()  # the rest kept
    running.stop.set()


async def test_a_server_without_a_narrator_says_so(nursery, tmp_path):
    running = await nursery.start(partial(run_server, tmp_path / "data", game_kinds(), port=0,
                                          config=RuntimeConfig(lag_interval=None)))
    async with http_client(running) as http:
        answer = await http.get("/api/v1/admin/narrator", headers=bearer(operator_token(running)))
        assert_error(answer, 409, "narrator/disabled")
    running.stop.set()
