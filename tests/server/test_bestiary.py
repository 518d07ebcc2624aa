"""A campaign's bestiary on a real server (issue 23): the GM saves, edits, lists and removes creatures;
players never see it; a saved creature is what an encounter then runs."""
from __future__ import annotations

from .conftest import assert_error, http_client
from .test_invites import gm_table

GOBLIN = {"name": "Goblin Warrior", "stats": {"level": -1, "max_hp": 6, "ac": 16, "fortitude": 5, "reflex": 7,
                                               "will": 3, "perception": 2,
                                               "strikes": [{"name": "dogslicer", "attack": 7, "damage": "1d6"}]},
          "notes": "Bestiary p. 198"}


async def test_a_gm_keeps_creatures_and_players_never_see_them(game_server):
    async with http_client(game_server) as http:
        table = await gm_table(game_server, http)
        gm = table.tokens["gm"]
        saved = await http.put("/api/v1/campaigns/c1/bestiary/goblin", json=GOBLIN, headers=gm)
        assert saved.status_code == 200, saved.text
        edited = {**GOBLIN, "stats": {**GOBLIN["stats"], "max_hp": 8}}
        assert (await http.put("/api/v1/campaigns/c1/bestiary/goblin", json=edited, headers=gm)).status_code == 200
        await http.put("/api/v1/campaigns/c1/bestiary/boss", json={**GOBLIN, "name": "Boss"}, headers=gm)
        listing = (await http.get("/api/v1/campaigns/c1/bestiary", headers=gm)).json()["items"]
        assert [(c["creature_id"], c["stats"]["max_hp"]) for c in listing] == [("boss", 6), ("goblin", 8)]

        await table.token("ayla", role="player", campaign="c1", character="ayla")
        assert_error(await http.get("/api/v1/campaigns/c1/bestiary", headers=table.tokens["ayla"]), 403,
                     "campaign/gm_only")
        bad = {**GOBLIN, "stats": {**GOBLIN["stats"], "strikes": [{"name": "x", "attack": 7, "damage": "1d"}]}}
        assert_error(await http.put("/api/v1/campaigns/c1/bestiary/goblin", json=bad, headers=gm), 422, "invalid")
        assert_error(await http.put("/api/v1/campaigns/c1/bestiary/a.b", json=GOBLIN, headers=gm), 400,
                     "bestiary/bad_id")
        assert (await http.delete("/api/v1/campaigns/c1/bestiary/boss", headers=gm)).json()["name"] == "Boss"
        assert_error(await http.delete("/api/v1/campaigns/c1/bestiary/boss", headers=gm), 404, "not_found")
        assert [c["creature_id"] for c in (await http.get("/api/v1/campaigns/c1/bestiary", headers=gm)).json()[
            "items"]] == ["goblin"]
