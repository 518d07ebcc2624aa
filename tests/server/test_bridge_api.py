"""The bridge API on a real server (issue 24): a GM queues commands for a VTT world, the world's elected
bridge long-polls them, carries them out and acks; another bridge of the world gets none; an unacked
command expires visibly on the server's clock."""
from __future__ import annotations

import trio
import trio.testing

from .conftest import assert_error, http_client
from .test_invites import gm_table

BASE = "/api/v1/campaigns/c1/bridge/world-1"


async def bridge_table(game_server, http):
    table = await gm_table(game_server, http)
    await table.token("bridge", role="bridge", campaign="c1")
    return table


def instance(table, name: str) -> dict[str, str]:
    return {**table.tokens["bridge"], "X-Bridge-Instance": name}


async def test_the_elected_bridge_takes_the_commands_in_priority_order_and_acks_them(game_server):
    async with http_client(game_server) as http:
        table = await bridge_table(game_server, http)
        gm = table.tokens["gm"]
        chat = (await http.post(f"{BASE}/commands", headers=gm, json={
            "kind": "create_chat_message", "data": {"content": "The door creaks.", "speaker": "GM"}})).json()
        damage = await http.post(f"{BASE}/commands", headers=gm, json={
            "kind": "apply_damage", "data": {"actor": "Ayla", "amount": 5, "damage_type": "slashing"}, "id": "d-1"})
        assert damage.status_code == 201, damage.text

        polled = (await http.get(f"{BASE}/events", params={"timeout": 0}, headers=instance(table, "a"))).json()
        assert polled["emitter"] and [c["id"] for c in polled["commands"]] == ["d-1", chat["id"]]
        other = (await http.get(f"{BASE}/events", params={"timeout": 0}, headers=instance(table, "b"))).json()
        assert (other["emitter"], other["commands"]) == (False, [])  # one world, one emitter

        acked = await http.post(f"{BASE}/acks", headers=instance(table, "a"), json={"acks": [
            {"id": "d-1"}, {"id": chat["id"], "ok": False, "reason": "no speaker GM in this world"}, {"id": "x"}]})
        assert [(i or {}).get("status") for i in acked.json()["items"]] == ["acked", "failed", None]
        status = (await http.get(f"{BASE}/commands/{chat['id']}", headers=gm)).json()
        assert (status["status"], status["reason"]) == ("failed", "no speaker GM in this world")
        again = (await http.get(f"{BASE}/events", params={"since": polled["since"], "timeout": 0},
                                headers=instance(table, "a"))).json()
        assert again["commands"] == []


async def test_a_waiting_long_poll_gets_the_command_queued_meanwhile(game_server):
    async with http_client(game_server) as http:
        table = await bridge_table(game_server, http)
        answers = []

        async def wait() -> None:
            answers.append((await http.get(f"{BASE}/events", params={"timeout": 20},
                                           headers=instance(table, "a"))).json())

        async with trio.open_nursery() as nursery:
            nursery.start_soon(wait)  # waiting, or not yet asking: either way the command reaches it
            await http.post(f"{BASE}/commands", headers=table.tokens["gm"], json={"kind": "advance_turn"})
        assert [c["kind"] for c in answers[0]["commands"]] == ["advance_turn"]


async def test_the_hub_wakes_a_waiting_poll_at_once_and_lets_an_idle_one_go_at_its_timeout(autojump_clock):
    from server.bridge.hub import Hub
    from snapshots.memory import MemoryStore

    hub, woke = Hub(MemoryStore()), []

    async def poll(timeout: float) -> None:
        start = trio.current_time()
        await hub.wait("c1/w", timeout)
        woke.append(trio.current_time() - start)

    async with trio.open_nursery() as nursery:
        nursery.start_soon(poll, 20.0)
        await trio.testing.wait_all_tasks_blocked()
        await trio.sleep(3)  # the mock clock's three seconds
        hub.enqueue("c1/w", "advance_turn", {}, now=0.0)
    await poll(5.0)
    assert woke == [3.0, 5.0]


async def test_an_unacked_command_expires_visibly_and_bad_requests_say_why(game_server):
    async with http_client(game_server) as http:
        table = await bridge_table(game_server, http)
        gm = table.tokens["gm"]
        made = (await http.post(f"{BASE}/commands", headers=gm, json={"kind": "show_journal", "ttl_s": 60})).json()
        await table.advance(61)
        polled = (await http.get(f"{BASE}/events", params={"timeout": 0}, headers=instance(table, "a"))).json()
        assert polled["commands"] == []
        assert (await http.get(f"{BASE}/commands/{made['id']}", headers=gm)).json()["status"] == "expired"
        seen = (await http.get("/api/v1/campaigns/c1/gm/status", headers=gm)).json()["bridges"]  # the GM sees it
        assert [(w["world"], w["expired"], [t["id"] for t in w["troubles"]]) for w in seen] == [
            ("c1/world-1", 1, [made["id"]])]
        assert "time to live" in seen[0]["troubles"][0]["reason"]
        assert_error(await http.get(f"{BASE}/events", headers=table.tokens["bridge"]), 400, "bridge/no_instance")
        assert_error(await http.get(f"{BASE}/events", headers=gm), 403, "bridge/forbidden")
        assert_error(await http.post(f"{BASE}/commands", headers=table.tokens["bridge"], json={"kind": "end_combat"}),
                     403, "bridge/forbidden")
        assert_error(await http.post(f"{BASE}/commands", headers=gm, json={"kind": "launch"}), 422, "invalid")
        assert_error(await http.get("/api/v1/campaigns/c1/bridge/bad%20world/events",
                                    headers=instance(table, "a")), 400, "bridge/bad_world")


HERO = {"name": "Ayla", "level": 1, "max_hp": 18, "hp": 18, "ac": 17,
        "saves": {"fortitude": 7, "reflex": 5, "will": 4}, "perception": 4}


async def test_the_emitters_chat_and_scene_become_campaign_posts_once_and_another_bridges_are_ignored(game_server):
    async with http_client(game_server) as http:
        table = await bridge_table(game_server, http)
        await table.token("ayla", role="player", campaign="c1", character="ayla")
        await table.ok("ayla", "campaign/c1", "JoinCampaign", character=HERO)
        events = {"events": [
            {"id": "s-1", "type": "scene", "data": {"title": "The crypt", "description": "Water everywhere."}},
            {"id": "m-1", "type": "chat", "data": {"player_id": "ayla", "content": "I light a torch."}},
            {"id": "m-2", "type": "chat", "data": {"speaker": "Warden", "content": "Who goes there?"}},
            {"id": "m-3", "type": "chat", "data": {"player_id": "ayla", "content": "psst", "whisper_to": ["gm"]}},
            {"id": "m-4", "type": "chat", "data": {"player_id": "nobody", "content": "hi"}},
            {"id": "x-1", "type": "dance", "data": {}},
            {"id": "m-5", "type": "chat", "data": {"player_id": "ayla"}}]}
        first = (await http.post(f"{BASE}/emit", json=events, headers=instance(table, "a"))).json()
        assert first["emitter"] and [(i["status"], i["code"]) for i in first["items"]] == [
            ("applied", None), ("applied", None), ("applied", None), ("applied", None),
            ("refused", "campaign/not_a_player"), ("refused", "bridge/unknown_event"), ("refused", "command/invalid")]
        again = (await http.post(f"{BASE}/emit", json=events, headers=instance(table, "a"))).json()
        assert [i["seq"] for i in again["items"][:4]] == [i["seq"] for i in first["items"][:4]]  # applied once
        other = (await http.post(f"{BASE}/emit", json=events, headers=instance(table, "b"))).json()
        assert not other["emitter"] and {i["status"] for i in other["items"]} == {"ignored"}

        posts = (await http.get("/api/v1/actors/campaign/c1", headers=table.tokens["gm"])).json()["state"]["posts"]
        assert [(p["kind"], p["text"], p["speaker"]) for p in posts] == [
            ("notice", "The crypt\n\nWater everywhere.", None), ("action", "I light a torch.", None),
            ("narration", "Who goes there?", "Warden"), ("whisper", "psst", None)]


async def test_operators_see_each_worlds_bridges_and_the_gm_is_told_of_a_disconnected_one(game_server):
    async with http_client(game_server) as http:
        table = await bridge_table(game_server, http)
        gm, op = table.tokens["gm"], table.op
        await http.post(f"{BASE}/commands", headers=gm, json={"kind": "apply_damage", "data": {"amount": 3}})
        tasks = (await http.get("/api/v1/campaigns/c1/gm/status", headers=gm)).json()["gm_tasks"]
        assert tasks[0]["urgency"] == "high" and "bridge of world world-1 is disconnected" in tasks[0]["task"]
        [world] = (await http.get("/api/v1/admin/bridges", headers=op)).json()["items"]
        assert (world["world"], world["emitter"], world["depth"]["combat"]) == ("c1/world-1", None, 1)

        await http.get(f"{BASE}/events", params={"timeout": 0}, headers=instance(table, "a"))
        [world] = (await http.get("/api/v1/admin/bridges", headers=op)).json()["items"]
        assert world["emitter"]["instance"] == "a" and world["connected"] == ["a"]
        tasks = (await http.get("/api/v1/campaigns/c1/gm/status", headers=gm)).json()["gm_tasks"]
        assert not any("bridge" in task["task"] for task in tasks)
        assert_error(await http.get("/api/v1/admin/bridges", headers=gm), 403, "auth/forbidden")


async def test_a_gm_makes_lists_and_revokes_the_campaigns_bridge_tokens_and_sees_its_worlds(game_server):
    async with http_client(game_server) as http:
        table = await gm_table(game_server, http)
        gm = table.tokens["gm"]
        made = await http.post("/api/v1/campaigns/c1/bridge-tokens", headers=gm)
        assert made.status_code == 201, made.text
        token = made.json()
        assert (token["role"], token["campaign"]) == ("bridge", "c1")
        bridge = {"Authorization": f"Bearer {token['token']}", "X-Bridge-Instance": "gm-1"}
        assert (await http.get(f"{BASE}/events", params={"timeout": 0}, headers=bridge)).status_code == 200
        worlds = (await http.get("/api/v1/campaigns/c1/bridges", headers=gm)).json()
        assert [w["world"] for w in worlds["items"]] == ["c1/world-1"] and worlds["items"][0]["emitter"]
        assert worlds["manifest_url"].endswith("/bridge/foundry/module.json")
        listed = (await http.get("/api/v1/campaigns/c1/bridge-tokens", headers=gm)).json()["items"]
        assert [(t["token_id"], t["world"]) for t in listed] == [(token["token_id"], "world-1")]  # bound at first use
        elsewhere = await http.get("/api/v1/campaigns/c1/bridge/world-2/events", params={"timeout": 0}, headers=bridge)
        assert_error(elsewhere, 403, "bridge/wrong_world")
        made = (await http.post("/api/v1/campaigns/c1/bridge-tokens", headers=gm, json={"world": "world-2"})).json()
        assert made["world"] == "world-2"
        second = {"Authorization": f"Bearer {made['token']}", "X-Bridge-Instance": "gm-2"}
        assert_error(await http.get(f"{BASE}/events", params={"timeout": 0}, headers=second), 403, "bridge/wrong_world")
        await http.delete(f"/api/v1/campaigns/c1/bridge-tokens/{made['token_id']}", headers=gm)

        await table.token("ayla", role="player", campaign="c1", character="ayla")
        assert_error(await http.post("/api/v1/campaigns/c1/bridge-tokens", headers=table.tokens["ayla"]), 403,
                     "campaign/gm_only")
        assert_error(await http.delete("/api/v1/campaigns/c1/bridge-tokens/nope", headers=gm), 404, "not_found")
        revoked = await http.delete(f"/api/v1/campaigns/c1/bridge-tokens/{token['token_id']}", headers=gm)
        assert revoked.status_code == 200 and revoked.json()["items"] == []
        assert_error(await http.get(f"{BASE}/events", params={"timeout": 0}, headers=bridge), 401, "auth/invalid")


async def test_an_emitter_that_hangs_up_its_waiting_poll_hands_the_world_over_at_once(game_server):
    async with http_client(game_server) as http:
        table = await bridge_table(game_server, http)
        async with http_client(game_server) as leaving:
            with trio.move_on_after(0.5):  # the emitter's browser closes while its poll waits
                await leaving.get(f"{BASE}/events", params={"timeout": 20}, headers=instance(table, "a"))
        polled = (await http.get(f"{BASE}/events", params={"timeout": 0}, headers=instance(table, "b"))).json()
        if not polled["emitter"]:  # the server has not heard the hang-up yet: b's poll stands by for it
            with trio.fail_after(5):  # long before a's 10 s lease would have lapsed
                polled = (await http.get(f"{BASE}/events", params={"timeout": 8},
                                         headers=instance(table, "b"))).json()
        assert polled["emitter"]
