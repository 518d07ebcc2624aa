"""The bridge over the websocket protocol (issue 24): the same ids and semantics as the long-poll, with
commands pushed as they come and the lease handed over the moment an emitter's socket closes."""
from __future__ import annotations

from .conftest import http_client
from .test_bridge_api import BASE, HERO, bridge_table


async def attached(open_ws, game_server, table, instance: str, since: int = 0):
    client = await open_ws(game_server, table.tokens["bridge"]["Authorization"].split()[1])
    answer = await client.request({"type": "bridge.attach", "id": f"at-{instance}", "world": "world-1",
                                   "instance": instance, "since": since})
    assert answer["type"] == "bridge.attached", answer
    return client, answer


async def next_of(client, kind: str) -> dict:
    while True:
        frame = await client.expect()
        if frame["type"] == kind:
            return frame
        assert frame["type"] in ("bridge.commands", "bridge.emitter"), frame


async def test_commands_are_pushed_to_the_emitter_acked_and_handed_over_when_its_socket_closes(game_server, open_ws):
    async with http_client(game_server) as http:
        table = await bridge_table(game_server, http)
        gm = table.tokens["gm"]
        a, first = await attached(open_ws, game_server, table, "a")
        b, second = await attached(open_ws, game_server, table, "b")
        assert (first["emitter"], second["emitter"]) == (True, False)

        await http.post(f"{BASE}/commands", headers=gm, json={"kind": "advance_turn", "id": "t-1"})
        pushed = await next_of(a, "bridge.commands")
        assert [c["id"] for c in pushed["commands"]] == ["t-1"] and pushed["emitter"]
        acked = await a.request({"type": "bridge.ack", "id": "k-1", "world": "world-1", "acks": [{"id": "t-1"}]})
        assert (acked["type"], acked["items"][0]["status"]) == ("bridge.acked", "acked")

        await http.post(f"{BASE}/commands", headers=gm, json={"kind": "end_combat", "id": "e-1"})
        assert [c["id"] for c in (await next_of(a, "bridge.commands"))["commands"]] == ["e-1"]
        await a.close()  # gone without acking e-1: b takes over at once, and gets it
        assert (await next_of(b, "bridge.emitter"))["emitter"] is True
        assert [c["id"] for c in (await next_of(b, "bridge.commands"))["commands"]] == ["e-1"]
        status = (await http.get(f"{BASE}/commands/e-1", headers=gm)).json()
        assert (status["status"], status["deliveries"]) == ("queued", 2)


async def test_only_the_emitters_events_are_applied_once_and_bad_frames_say_why(game_server, open_ws):
    async with http_client(game_server) as http:
        table = await bridge_table(game_server, http)
        await table.token("ayla", role="player", campaign="c1", character="ayla")
        await table.ok("ayla", "campaign/c1", "JoinCampaign", character=HERO)
        a, _ = await attached(open_ws, game_server, table, "a")
        b, _ = await attached(open_ws, game_server, table, "b")
        events = [{"id": "m-1", "type": "chat", "data": {"player_id": "ayla", "content": "I light a torch."}}]
        applied = await a.request({"type": "bridge.emit", "id": "e1", "world": "world-1", "events": events})
        again = await a.request({"type": "bridge.emit", "id": "e2", "world": "world-1", "events": events})
        other = await b.request({"type": "bridge.emit", "id": "e3", "world": "world-1", "events": events})
        assert (applied["type"], applied["id"], applied["items"][0]["status"]) == ("bridge.emitted", "e1", "applied")
        assert again["items"][0]["seq"] == applied["items"][0]["seq"]
        assert (other["emitter"], other["items"][0]["status"]) == (False, "ignored")
        posts = (await http.get("/api/v1/actors/campaign/c1", headers=table.tokens["gm"])).json()["state"]["posts"]
        assert [p["text"] for p in posts] == ["I light a torch."]
        assert posts[0]["via"] == "bridge:world-1"

        gm = await open_ws(game_server, table.tokens["gm"]["Authorization"].split()[1])
        gm_bridge = await open_ws(game_server, table.tokens["bridge"]["Authorization"].split()[1])  # not attached
        refusals = [
            (a, {"type": "bridge.emit", "id": "x1", "world": "other", "events": events}, "bridge/wrong_world"),
            (gm_bridge, {"type": "bridge.emit", "id": "x6", "world": "world-1", "events": events}, "bridge/not_attached"),
            (a, {"type": "bridge.attach", "id": "x2", "world": "bad world", "instance": "a"}, "bridge/bad_world"),
            (a, {"type": "bridge.attach", "id": "x3", "world": "world-1"}, "bridge/no_instance"),
            (a, {"type": "bridge.emit", "id": "x4", "world": "world-1", "events": []}, "invalid"),
            (gm, {"type": "bridge.attach", "id": "x5", "world": "world-1", "instance": "g"}, "bridge/forbidden"),
        ]
        for client, frame, code in refusals:
            answer = await client.request(frame)
            assert (answer["type"], answer["code"], answer["id"]) == ("error", code, frame["id"]), answer
