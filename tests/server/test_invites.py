"""Seat invitations and private posts on a real server (issue 23): a GM invites a seat, the link's holder
claims it once and plays that seat; revoking takes the token too; whispers and edit history stay with
the eyes they are meant for, over REST and the websocket alike."""
from __future__ import annotations

from typing import Any

import trio

from .conftest import assert_error, bearer, http_client
from .test_campaigns import Table

DAY = 86400.0


async def gm_table(game_server: Any, http: Any) -> Table:
    table = Table(http, game_server)
    await table.token("gm", role="gm", campaign="c1")
    await table.ok("gm", "campaign/c1", "CreateCampaign", title="The Sunken Crown")
    return table


async def claim(http: Any, code: str) -> Any:
    return await http.post("/api/v1/campaigns/c1/invites/claim", json={"code": code})


HERO = {"name": "Ayla", "level": 1, "max_hp": 18, "hp": 18, "ac": 17,
        "saves": {"fortitude": 7, "reflex": 5, "will": 4}, "perception": 4}


async def test_an_invite_link_gives_one_seat_once_and_revoking_it_takes_the_token(game_server):
    async with http_client(game_server) as http:
        table = await gm_table(game_server, http)
        made = await http.post("/api/v1/campaigns/c1/invites", json={"note": "for Ayla"}, headers=table.tokens["gm"])
        assert made.status_code == 201, made.text
        invite = made.json()
        assert (invite["player_id"], invite["status"], invite["path"]) == (
            "seat-1", "open", f"/join/c1/{invite['code']}")
        second = (await http.post("/api/v1/campaigns/c1/invites", json={}, headers=table.tokens["gm"])).json()
        assert second["player_id"] == "seat-2"  # the next free seat

        assert_error(await claim(http, invite["code"] + "x"), 404, "invite/unknown")
        claimed = await claim(http, invite["code"])
        assert claimed.status_code == 201, claimed.text
        seat = claimed.json()
        assert (seat["campaign"], seat["character"], seat["title"]) == ("c1", "seat-1", "The Sunken Crown")
        assert_error(await claim(http, invite["code"]), 410, "invite/claimed")

        player = bearer(seat["token"])
        joined = await http.post("/api/v1/actors/campaign/c1/commands", headers=player,
                                 json={"type": "JoinCampaign", "data": {"character": HERO}})
        assert joined.status_code == 200, joined.text
        listing = (await http.get("/api/v1/campaigns/c1/invites", headers=table.tokens["gm"])).json()["items"]
        assert [(i["player_id"], i["status"], i["character"]) for i in listing] == [
            ("seat-2", "open", None), ("seat-1", "claimed", "Ayla")]
        assert listing[1]["token_id"] == seat["token_id"]
        assert_error(await http.get("/api/v1/campaigns/c1/invites", headers=player), 403, "campaign/gm_only")

        revoked = await http.delete(f"/api/v1/campaigns/c1/invites/{invite['invite_id']}", headers=table.tokens["gm"])
        assert revoked.status_code == 200 and revoked.json()["status"] == "revoked", revoked.text
        assert_error(await http.get("/api/v1/actors/campaign/c1", headers=player), 401, "auth/invalid")


async def test_an_invite_expires_and_a_seat_that_joined_is_not_invited_again(game_server):
    async with http_client(game_server) as http:
        table = await gm_table(game_server, http)
        invite = (await http.post("/api/v1/campaigns/c1/invites", json={"player_id": "ayla", "expires_in_hours": 1},
                                  headers=table.tokens["gm"])).json()
        await table.advance(2 * 3600)
        assert_error(await claim(http, invite["code"]), 410, "invite/expired")
        assert_error(await http.post("/api/v1/campaigns/c1/invites", json={"expires_in_hours": 0},
                                     headers=table.tokens["gm"]), 422, "invalid")
        await table.token("ayla", role="player", campaign="c1", character="ayla")
        await table.ok("ayla", "campaign/c1", "JoinCampaign", character=HERO)
        assert_error(await http.post("/api/v1/campaigns/c1/invites", json={"player_id": "ayla"},
                                     headers=table.tokens["gm"]), 409, "invite/seat_taken")


async def test_two_people_opening_one_link_at_once_get_one_seat(game_server):
    async with http_client(game_server) as http:
        table = await gm_table(game_server, http)
        code = (await http.post("/api/v1/campaigns/c1/invites", json={}, headers=table.tokens["gm"])).json()["code"]
        answers: list[int] = []

        async def one() -> None:
            answers.append((await claim(http, code)).status_code)

        async with trio.open_nursery() as nursery:
            for _ in range(4):
                nursery.start_soon(one)
        assert sorted(answers) == [201, 410, 410, 410]


async def test_a_whisper_and_an_edits_history_reach_only_their_readers_over_rest_and_the_websocket(
        game_server, open_ws):
    async with http_client(game_server) as http:
        table = await gm_table(game_server, http)
        for name in ("ayla", "bram"):
            await table.token(name, role="player", campaign="c1", character=name)
            await table.ok(name, "campaign/c1", "JoinCampaign", character={**HERO, "name": name.title()})
        bram_ws = await open_ws(game_server, table.tokens["bram"]["Authorization"].split()[1])
        snapshot = await bram_ws.request({"type": "subscribe", "topic": "campaign/c1"})
        assert snapshot["type"] == "snapshot", snapshot

        await table.ok("ayla", "campaign/c1", "Whisper", text="I keep the ring.", to=["gm"])
        await table.ok("ayla", "campaign/c1", "PostAction", text="I opne the door.", roll="1d20+4")
        n = (await http.get("/api/v1/actors/campaign/c1", headers=table.tokens["ayla"])).json()["state"]["post_count"]
        await table.ok("ayla", "campaign/c1", "EditPost", n=n, text="I open the door.")

        seen = [await bram_ws.expect() for _ in range(4)]  # the whisper, the roll, the post, the edit
        whisper = seen[0]["event"]["data"]["post"]
        assert (whisper["kind"], whisper["text"], whisper["author"]) == ("whisper", "", "")
        assert seen[2]["event"]["data"]["post"]["roll"]["expression"] == "1d20+4"
        assert seen[3]["event"]["data"]["text"] == "I open the door."

        def last_posts(body: dict) -> list[tuple[str, str, list]]:
            return [(p["kind"], p["text"], p["history"]) for p in body["state"]["posts"][-2:]]

        as_bram = (await http.get("/api/v1/actors/campaign/c1", headers=table.tokens["bram"])).json()
        as_gm = (await http.get("/api/v1/actors/campaign/c1", headers=table.tokens["gm"])).json()
        assert last_posts(as_bram) == [("whisper", "", []), ("action", "I open the door.", [])]
        assert last_posts(as_gm) == [("whisper", "I keep the ring.", []),
                                     ("action", "I open the door.", ["I opne the door."])]
        journal = (await http.get("/api/v1/actors/campaign/c1/events", headers=table.tokens["bram"])).json()["items"]
        assert "I keep the ring." not in str(journal)
