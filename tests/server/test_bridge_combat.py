"""A VTT's combat drives the campaign's encounter through the bridge, and the campaign's own events come
back to the VTT as commands (issue 24), on a real server with a virtual clock."""
from __future__ import annotations

from .conftest import assert_error, http_client
from .test_bridge_api import BASE, HERO, bridge_table, instance

GOBLIN = "gobAAAAAAAAAAAAA"  # a Foundry combatant id


async def emit(http, table, *events, who: str = "a") -> list[dict]:
    answer = await http.post(f"{BASE}/emit", headers=instance(table, who),
                             json={"events": [{"id": i, "type": t, "data": d} for i, t, d in events]})
    assert answer.status_code == 200, answer.text
    return answer.json()["items"]


async def seated(http, game_server):
    table = await bridge_table(game_server, http)
    await table.token("ayla", role="player", campaign="c1", character="ayla")
    await table.ok("ayla", "campaign/c1", "JoinCampaign", character=HERO)
    return table


async def campaign(http, table) -> dict:
    return (await http.get("/api/v1/actors/campaign/c1", headers=table.tokens["gm"])).json()["state"]


async def encounter(http, table) -> dict:
    view = (await campaign(http, table))["encounter"]
    return (await http.get(f"/api/v1/actors/{view['address']}", headers=table.op)).json()["state"]


async def commands(http, table, since: int = 0) -> list[dict]:
    polled = (await http.get(f"{BASE}/events", params={"timeout": 0, "since": since},
                             headers=instance(table, "a"))).json()
    return polled["commands"]


async def test_a_vtt_combat_drives_the_encounter_once_per_event_and_never_backwards(game_server):
    async with http_client(game_server) as http:
        table = await seated(http, game_server)
        started = await emit(http, table, ("cs-1", "combat_start", {"combatants": [
            {"id": "cbt1AAAAAAAAAAAA", "name": "Ayla", "player_id": "ayla", "initiative": 20},
            {"id": GOBLIN, "name": "Goblin", "initiative": 9.5}]}))
        assert started[0]["status"] == "applied", started
        fight = await encounter(http, table)
        assert (fight["round"], fight["current"]) == (1, "ayla")
        assert fight["combatants"][GOBLIN]["initiative"] == 10  # the VTT's, rounded

        turn = await emit(http, table, ("t-1", "combat_turn", {"round": 1, "combatant": GOBLIN}))
        assert turn[0]["status"] == "applied" and turn[0]["seq"] is not None
        assert (await encounter(http, table))["current"] == GOBLIN
        assert (await emit(http, table, ("t-1", "combat_turn", {"round": 1, "combatant": GOBLIN})))[0]["status"] \
            == "applied"
        stale = await emit(http, table, ("t-0", "combat_turn", {"round": 1, "combatant": "ayla"}))
        assert (stale[0]["status"], stale[0]["seq"]) == ("applied", None)  # already past: nothing to do
        assert (await encounter(http, table))["current"] == GOBLIN

        hurt = await emit(http, table, ("a-1", "actor", {"combatant": "ayla", "hp": 11, "conditions": {"frightened": 1}}))
        assert hurt[0]["status"] == "applied"
        fighter = (await encounter(http, table))["fighters"]["ayla"]
        assert (fighter["hp"], fighter["conditions"].get("frightened")) == (11, 1)
        same = await emit(http, table, ("a-2", "actor", {"combatant": "ayla", "hp": 11}))
        assert (same[0]["status"], same[0]["seq"]) == ("applied", None)  # HP already equal
        healed = await emit(http, table, ("a-3", "actor", {"combatant": "ayla", "hp": 15}))
        assert healed[0]["status"] == "applied"
        assert (await encounter(http, table))["fighters"]["ayla"]["hp"] == 15
        narrative = await emit(http, table, ("a-4", "actor", {"combatant": GOBLIN, "hp": 3}))
        assert narrative[0]["status"] == "ignored"  # a creature without stats: its HP are the VTT's

        two = await emit(http, table, ("t-2", "combat_turn", {"round": 2, "combatant": "ayla"}))
        assert two[0]["status"] == "applied"
        fight = await encounter(http, table)
        assert (fight["round"], fight["current"]) == (2, "ayla")
        wrong = await emit(http, table, ("t-3", "combat_turn", {"round": 2, "combatant": "nobody"}))
        assert (wrong[0]["status"], wrong[0]["code"]) == ("refused", "bridge/not_in_encounter")

        ended = await emit(http, table, ("ce-1", "combat_end", {}))
        assert ended[0]["status"] == "applied"
        assert (await campaign(http, table))["encounter"] is None
        again = await emit(http, table, ("ce-2", "combat_end", {}), ("t-4", "combat_turn", {"round": 3,
                                                                                           "combatant": "ayla"}))
        assert [(i["status"], i["code"]) for i in again] == [("applied", None), ("refused", "bridge/no_encounter")]


async def test_a_vtt_roll_is_logged_with_its_own_faces_and_only_bridges_and_gms_may_bring_faces(game_server):
    async with http_client(game_server) as http:
        table = await seated(http, game_server)
        rolled = await emit(http, table,
                            ("r-1", "roll", {"player_id": "ayla", "formula": "1d20+7", "faces": [14], "flavor": "Stealth"}),
                            ("r-2", "roll", {"player_id": "ayla", "formula": "2d6", "faces": [3]}),
                            ("r-3", "roll", {"formula": "1d4", "faces": [5]}))
        assert [(i["status"], i["code"]) for i in rolled] == [
            ("applied", None), ("refused", "dice/bad_faces"), ("refused", "dice/bad_faces")]
        roll = (await campaign(http, table))["rolls"][-1]
        assert (roll["by"], roll["faces"], roll["total"], roll["reason"], roll["supplied"]) == (
            "ayla", [[14]], 21, "Stealth", True)
        cheat = await table.send("ayla", "campaign/c1", "RollDice", expression="1d20", faces=[20])
        assert_error(cheat, 403, "dice/not_trusted")


async def test_the_campaigns_own_posts_turns_and_combat_go_to_the_world_but_not_what_it_sent(game_server):
    async with http_client(game_server) as http:
        table = await seated(http, game_server)
        assert await commands(http, table) == []  # heard from: the campaign is followed from now on
        await emit(http, table, ("m-1", "chat", {"player_id": "ayla", "content": "I light a torch."}))
        await table.ok("gm", "campaign/c1", "PostNarration", text="The torch gutters.", speaker="Warden")
        await table.ok("gm", "campaign/c1", "StartEncounter", initiative={"ayla": 25},
                       npcs=[{"name": "Goblin", "initiative": 5}])
        queued = await wait_for(http, table, lambda cs: any(c["kind"] == "start_combat" for c in cs))
        await table.advance(4 * 3600 + 60)  # ayla idles: auto-skipped, the goblin's turn
        queued += await wait_for(http, table, lambda cs: any(c["kind"] == "advance_turn" for c in cs))
        kinds = [(c["kind"], c["data"]) for c in queued]
        chats = [d for k, d in kinds if k == "create_chat_message"]
        assert {"content": "The torch gutters.", "speaker": "Warden"}.items() <= chats[0].items()
        assert not any(d["content"] == "I light a torch." for d in chats)  # the world's own message
        start = next(d for k, d in kinds if k == "start_combat")
        assert (start["round"], start["combatant"]) == (1, "ayla")
        assert [(c["cid"], c["initiative"]) for c in start["combatants"]] == [("ayla", 25), ("npc-1", 5)]
        advance = next(d for k, d in kinds if k == "advance_turn")
        assert (advance["round"], advance["combatant"], advance["from"]) == (
            1, "npc-1", {"round": 1, "combatant": "ayla"})
        assert all(c["id"].startswith("c") for c in queued)  # made from the campaign's events: queued once


async def wait_for(http, table, done, tries: int = 20) -> list[dict]:
    """The world's commands delivered until ``done`` says they are all there: each poll waits (the server's
    long-poll) for the follower to queue the next."""
    found: list[dict] = []
    since = 0
    for _ in range(tries):
        polled = (await http.get(f"{BASE}/events", params={"timeout": 5, "since": since},
                                 headers=instance(table, "a"))).json()
        found += polled["commands"]
        since = polled["since"]
        if done(found):
            return found
    raise AssertionError(f"not queued: {found}")
