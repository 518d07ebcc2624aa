"""Campaigns over HTTP on a real server with a virtual clock: GM status, refusals, and the
30 days without a GM, the clock advanced through the operator API."""
from __future__ import annotations

import logging
from typing import Any

import httpx

from server.schemas import GmStatus

from .. import thirty_days as plan
from .conftest import assert_error, bearer, command, http_client, operator_token

log = logging.getLogger(__name__)
SEED = 20261124


class Table:
    """Tokens and helpers for one campaign on a running server."""

    def __init__(self, http: httpx.AsyncClient, running: Any) -> None:
        self.http, self.running = http, running
        self.op = bearer(operator_token(running))
        self.tokens: dict[str, dict[str, str]] = {}

    async def token(self, name: str, **body: Any) -> dict[str, str]:
        response = await self.http.post("/api/v1/admin/tokens", json=body, headers=self.op)
        assert response.status_code == 201, response.text
        self.tokens[name] = bearer(response.json()["token"])
        return self.tokens[name]

    async def send(self, who: str, address: str, kind: str, **data: Any) -> httpx.Response:
        return await self.http.post(f"/api/v1/actors/{address}/commands", json=command(kind, **data),
                                    headers=self.tokens[who])

    async def ok(self, who: str, address: str, kind: str, **data: Any) -> dict:
        response = await self.send(who, address, kind, **data)
        assert response.status_code == 200, response.text
        return response.json()

    async def advance(self, seconds: float) -> dict:
        response = await self.http.post("/api/v1/admin/clock/advance", json={"seconds": seconds}, headers=self.op)
        assert response.status_code == 200, response.text
        assert response.json()["settled"]
        return response.json()

    async def status(self, who: str = "gm") -> dict:
        response = await self.http.get("/api/v1/campaigns/c1/gm/status", headers=self.tokens[who])
        assert response.status_code == 200, response.text
        return response.json()

    async def journal(self, address: str) -> list[dict]:
        events, cursor = [], None
        while True:
            params = {"limit": "200", **({"cursor": cursor} if cursor else {})}
            page = (await self.http.get(f"/api/v1/actors/{address}/events", params=params, headers=self.op)).json()
            events += page["items"]
            cursor = page["next_cursor"]
            if cursor is None:
                return events


def character(name: str, perception: int = 7) -> dict:
    return {"name": name, "level": 3, "max_hp": 40, "hp": 40, "ac": 19,
            "saves": {"fortitude": 8, "reflex": 9, "will": 6}, "perception": perception}


async def seated(http, running, players=plan.PLAYERS) -> Table:
    table = Table(http, running)
    await table.token("gm", role="gm", campaign="c1")
    await table.ok("gm", "campaign/c1", "CreateCampaign", title="Thirty Days")
    for player_id, (name, perception) in players.items():
        await table.token(player_id, role="player", campaign="c1", character=player_id)
        await table.ok(player_id, "campaign/c1", "JoinCampaign", character=character(name, perception))
    return table


async def test_gm_status_countdowns_are_kept_to_the_second(game_server):
    async with http_client(game_server) as http:
        table = await seated(http, game_server, {"ayla": ("Ayla", 9), "bram": ("Bram", 8)})
        await table.ok("gm", "campaign/c1", "StartEncounter", npcs=[{"name": "Goblin", "initiative": 1}],
                       initiative={"ayla": 19, "bram": 18})
        await table.advance(0)  # the first turn comes back from the encounter's own actor: let it arrive
        status = await table.status()
        GmStatus.model_validate(status)
        assert status["waiting_for"] == {**status["waiting_for"], "who": "player", "player_id": "ayla"}
        due = status["auto_skip_in"]
        assert abs(due - 4 * 3600) < 0.01
        await table.advance(due - 1)
        status = await table.status()
        GmStatus.model_validate(status)
        assert status["encounter"]["turn"] == 1 and status["skip_required"]
        assert abs(status["auto_skip_in"] - 1) < 0.01
        task = status["what_to_do_next"]["endpoint"]
        assert task["body"] == {"type": "SkipTurn", "data": {"round": 1, "turn": 1}}
        await table.advance(1)
        status = await table.status()
        assert (status["encounter"]["turn"], status["encounter"]["current"]) == (2, "bram")
        stale = await http.post(task["path"], json=task["body"], headers=table.tokens["gm"])   # too late: CAS
        assert assert_error(stale, 409, "combat/turn_moved")["details"]["turn"] == 2
        posts = (await http.get("/api/v1/actors/campaign/c1", headers=table.tokens["gm"])).json()["state"]["posts"]
        assert posts[-1]["text"] == "Ayla hesitates, taking a defensive stance."


async def test_refusals_over_http(game_server):
    async with http_client(game_server) as http:
        table = await seated(http, game_server, {"ayla": ("Ayla", 9)})
        assert_error(await table.send("ayla", "campaign/c1", "PostNarration", text="I decide"), 403, "campaign/gm_only")
        assert_error(await table.send("ayla", "campaign/c1", "PostAction", text="x", player_id="bram"), 403,
                     "campaign/not_your_character")
        assert_error(await http.get("/api/v1/campaigns/c1/gm/status", headers=table.tokens["ayla"]), 403,
                     "campaign/gm_only")
        internal = await table.send("gm", "campaign/c1", "CombatUpdate", n=1)
        assert_error(internal, 422, "command/unknown")
        await table.token("other", role="gm", campaign="c2")
        assert_error(await http.get("/api/v1/campaigns/c1/gm/status", headers=table.tokens["other"]), 404, "not_found")
        assert_error(await http.get("/api/v1/campaigns/c2/gm/status", headers=table.tokens["other"]), 404, "not_found")
        bad = await table.send("gm", "campaign/c1", "ScheduleOrder", order_id="o", in_hours=2, text="x",
                               follow_ups=[{"after_hours": 5, "text": "a"}, {"after_hours": 1, "text": "b"}])
        assert_error(bad, 422, "command/invalid")
        bad = await table.send("gm", "campaign/c1", "UpdateSettings", settings={"templates": {"skip": "{nam} waits"}})
        assert_error(bad, 422, "command/invalid")
        assert "unknown placeholder {nam}; this text may use {name}" in bad.text
        spec = (await http.get("/openapi.json")).json()
        assert "CombatUpdate" not in str(spec) and "SkipTurn" in str(spec)
        assert "/api/v1/campaigns/{campaign_id}/gm/status" in spec["paths"]


async def test_thirty_days_without_a_gm_on_a_real_server(game_server):
    actions = plan.script(SEED)
    log.info("seed %d: %d scripted actions", SEED, len(actions))
    async with http_client(game_server) as http:
        table = await seated(http, game_server)
        start = (await http.get("/api/v1/admin/clock", headers=table.op)).json()["now"]
        for deadline_id, hours, consequence in plan.DEADLINES:
            await table.ok("gm", "campaign/c1", "SetDeadline", deadline_id=deadline_id, in_hours=hours,
                           consequence=consequence)
        await table.ok("gm", "campaign/c1", "StartEncounter", npcs=list(plan.GOBLINS), max_rounds=plan.MAX_ROUNDS)
        now = start
        for action in actions:
            now = (await table.advance(start + action.at - now))["now"]
            await table.ok(action.player_id, "campaign/c1", "PostAction", text=action.text)
        await table.advance(start + plan.DAYS * plan.DAY - now)
        figures = plan.check(start, actions, await table.journal("campaign/c1"), await table.journal("combat/c1.1"))
    log.info("30 days over HTTP: %s", figures)
    print("30 days over HTTP:", figures)


async def test_campaign_list_pages_for_operators_and_shows_a_scoped_token_only_its_own(game_server):
    from server.schemas import CampaignPage

    async with http_client(game_server) as http:
        table = Table(http, game_server)
        ids = [f"c{n:02d}" for n in range(5)]
        for n, campaign in enumerate(ids):
            await table.token(f"gm{n}", role="gm", campaign=campaign)
            await table.ok(f"gm{n}", f"campaign/{campaign}", "CreateCampaign", title=f"Table {n}")
        await table.token("p", role="player", campaign="c03", character="ayla")
        await table.ok("p", "campaign/c03", "JoinCampaign", character=character("Ayla"))
        await table.ok("p", "campaign/c03", "PostAction", text="I listen at the door")
        await table.token("lost", role="gm", campaign="never")                     # no such campaign yet

        seen, cursor = [], None
        while True:                                                            # two per page: every one, in order
            params = {"limit": "2", **({"cursor": cursor} if cursor else {})}
            response = await http.get("/api/v1/campaigns", params=params, headers=table.op)
            assert response.status_code == 200, response.text
            page = CampaignPage.model_validate(response.json())
            seen += page.items
            cursor = page.next_cursor
            if cursor is None:
                break
        assert [c.campaign_id for c in seen] == ids and seen[1].title == "Table 1"

        mine = (await http.get("/api/v1/campaigns", headers=table.tokens["p"])).json()["items"]
        assert [(c["campaign_id"], c["post_count"], c["players"][0]["name"]) for c in mine] == [("c03", 1, "Ayla")]
        assert mine[0]["awaiting_narration"] is True
        assert (await http.get("/api/v1/campaigns", headers=table.tokens["lost"])).json() == {
            "items": [], "next_cursor": None}
        assert_error(await http.get("/api/v1/campaigns", params={"cursor": "bogus"}, headers=table.op),
                     400, "bad_cursor")
        assert_error(await http.get("/api/v1/campaigns"), 401, "auth/missing")


GOBLIN = {"level": 1, "max_hp": 20, "ac": 16, "fortitude": 5, "reflex": 7, "will": 3, "perception": 5,
          "strikes": [{"name": "scimitar", "attack": 7, "damage": "1d6+2"}]}


async def test_a_gm_rates_an_encounter_by_budget_and_by_simulated_fights(game_server):
    async with http_client(game_server) as http:
        table = await seated(http, game_server, {"ayla": ("Ayla", 9), "bram": ("Bram", 8)})

        async def rate(who: str = "gm", **body):
            return await http.post("/api/v1/campaigns/c1/encounters/estimate", json=body, headers=table.tokens[who])

        # two level-3 characters, three level-1 goblins (20 XP each at -2), one elite (level 2: 30 XP)
        npcs = [{"name": "Goblin", "initiative": 0, "stats": GOBLIN}] * 3 + [
            {"name": "Boss", "initiative": 0, "stats": GOBLIN, "adjustment": "elite"}]
        response = await rate(npcs=npcs, fights=2000, seed=42)
        assert response.status_code == 200, response.text
        budget, odds = response.json()["budget"], response.json()["estimate"]
        assert (budget["party_level"], budget["party_size"], budget["xp"]) == (3, 2, 90)
        assert [i["xp"] for i in budget["items"]] == [20, 20, 20, 30]
        assert budget["budgets"]["moderate"] == 40 and budget["threat"] == "beyond extreme"   # 2 PCs: extreme 80
        assert budget["warnings"] and odds["fights"] == 2000 and odds["seed"] == 42
        low, high = odds["win_probability_ci95"]
        assert 0 <= low <= odds["win_probability"] <= high <= 1
        again = (await rate(npcs=npcs, fights=2000, seed=42)).json()["estimate"]
        assert again == odds                                              # the same seed, the same fights

        assert_error(await rate("ayla", npcs=npcs), 403, "campaign/gm_only")
        assert_error(await rate(npcs=[{"name": "Ghost", "initiative": 0}]), 422, "estimate/invalid")
        assert_error(await rate(npcs=npcs, players=["zed"]), 422, "estimate/invalid")
        assert_error(await rate(npcs=npcs, fights=0), 422, "invalid")
        weak = [{"name": "Rat", "initiative": 0, "stats": {**GOBLIN, "level": 0}, "adjustment": "weak"}]
        error = assert_error(await rate(npcs=weak), 422, "estimate/invalid")
        assert "level 1 or more" in error["message"]
