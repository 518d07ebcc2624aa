"""The table plays true for a month (issue 20's proof): a real server on a virtual clock, a GM bot that
only follows the GM status (over the websocket, with the Python client), and players whose activity
decays: one writes actions for nine days, one plays only through the combat buttons, one goes silent
after two days and comes back on day 20, one never acts.

Asserted on the journals: no combat turn waits over 4 h, no player is marked inactive while active,
the story moves at least once a day while anyone plays, the campaign goes dormant when nobody does and
wakes when a player returns, every deadline's consequence is posted.  The figures are printed (and
quoted in docs/campaigns.md)."""
from __future__ import annotations

import itertools
import logging
import random
from typing import Any

import trio

from server.client import ClientError, EverturnClient

from .conftest import http_client
from .test_campaigns import Table, character

log = logging.getLogger(__name__)
SEED = 20261205
HOUR, DAY = 3600.0, 86400.0
DAYS = 30
EPS = 0.01
GOBLINS = [{"name": "Goblin Warrior", "cid": "gob-1", "initiative": 14, "stats": {
               "level": 0, "max_hp": 16, "ac": 15, "fortitude": 5, "reflex": 6, "will": 2, "perception": 3,
               "strikes": [{"name": "scimitar", "attack": 6, "damage": "1d6", "damage_type": "slashing"}]}},
           {"name": "Goblin Archer", "cid": "gob-2", "initiative": 9, "stats": {
               "level": 0, "max_hp": 12, "ac": 14, "fortitude": 4, "reflex": 7, "will": 2, "perception": 4,
               "strikes": [{"name": "shortbow", "attack": 6, "damage": "1d6", "ranged": True}]}}]
DEADLINES = (("ritual", 50, "The ritual completes: the sky over the marsh turns red."),
             ("flood", 6 * 24 + 3, "The river breaks its banks and the lower town floods."))


class GmBot:
    """Acts only on the GM status: while it needs attention, it sends the first task's command."""

    def __init__(self, table: Table, client: EverturnClient) -> None:
        self.table, self.client = table, client
        self.sent: list[str] = []
        self.stale = 0  # compare-and-swap refusals: it acted on a turn that had just moved on

    async def follow(self, hour: int) -> None:
        for _ in range(4):  # what it asks, until it needs nothing (bounded: a bot must not loop for ever)
            status = await self.table.status()
            if not status["needs_attention"]:
                return
            endpoint = status["gm_tasks"][0]["endpoint"]
            topic = endpoint["path"].removeprefix("/api/v1/actors/").removesuffix("/commands")
            data = {k: (f"The GM answers (hour {hour})." if v == "..." else v)
                    for k, v in endpoint["body"]["data"].items()}
            try:
                await trio.to_thread.run_sync(self.client.command, topic, endpoint["body"]["type"], data)
            except ClientError as exc:  # the turn moved on meanwhile (the status trails the encounter by a tell)
                assert exc.code in ("combat/turn_moved", "combat/ended"), exc
                self.stale += 1
                continue
            self.sent.append(endpoint["body"]["type"])


async def play_a_month(running: Any, seed: int) -> tuple[Table, GmBot, float]:
    rng = random.Random(seed)
    async with http_client(running) as http:
        table = Table(http, running)
        await table.token("gm", role="gm", campaign="c1")
        await table.ok("gm", "campaign/c1", "CreateCampaign", title="The Red Marsh")
        for player_id in ("ayla", "bram", "cass", "dorn"):
            await table.token(player_id, role="player", campaign="c1", character=player_id)
            await table.ok(player_id, "campaign/c1", "JoinCampaign", character={
                **character(player_id.title()), "strikes": [{"name": "spear", "attack": 9, "damage": "1d8+3"}]})
        await table.ok("gm", "campaign/c1", "PostNarration", text="Rain drums on the marsh road.")
        for deadline_id, hours, consequence in DEADLINES:
            await table.ok("gm", "campaign/c1", "SetDeadline", deadline_id=deadline_id, in_hours=hours,
                           consequence=consequence)
        await table.ok("gm", "campaign/c1", "ScheduleOrder", order_id="scouts", in_hours=30,
                       text="Scouts report torches on the ridge.",
                       follow_ups=[{"after_hours": 12, "text": "The torches are moving closer."}])
        await table.ok("gm", "campaign/c1", "StartEncounter", npcs=GOBLINS, max_rounds=3)
        start = (await http.get("/api/v1/admin/clock", headers=table.op)).json()["now"]
        token = table.tokens["gm"]["Authorization"].removeprefix("Bearer ")
        url = running.url.replace("http://", "ws://", 1) + "/ws"
        client = await trio.to_thread.run_sync(lambda: EverturnClient(url, token, client="gm-bot/1").__enter__())
        bot = GmBot(table, client)
        ayla_next, cass_next = rng.uniform(1, 3), rng.uniform(2, 6)
        try:
            for hour in range(DAYS * 24):
                if hour >= ayla_next and hour < 9 * 24:  # writes actions every 5-10 h for nine days
                    await table.ok("ayla", "campaign/c1", "PostAction", text=f"Ayla presses on ({hour} h).")
                    ayla_next = hour + rng.uniform(5, 10)
                if (hour >= cass_next and hour < 2 * 24) or hour == 20 * 24:  # two days, then back on day 20
                    await table.ok("cass", "campaign/c1", "PostAction", text=f"Cass speaks up ({hour} h).")
                    cass_next = hour + rng.uniform(6, 12)
                await buttons(table)
                await bot.follow(hour)
                await table.advance(HOUR)
        finally:
            await trio.to_thread.run_sync(client.close)
        return table, bot, start


async def buttons(table: Table) -> None:
    """Bram plays only through the encounter's buttons: on his turn, a strike and End turn, no text."""
    state = (await table.http.get("/api/v1/actors/combat/c1.1", headers=table.tokens["bram"])).json()["state"]
    if state.get("current") != "bram" or state.get("ended"):
        return
    targets = [cid for cid in ("gob-1", "gob-2") if not state["fighters"][cid]["dead"]]
    turn = {"round": state["round"], "turn": state["turn"]}
    if targets:
        await table.ok("bram", "combat/c1.1", "Act", **turn, action={"kind": "strike", "target": targets[0]})
    await table.ok("bram", "combat/c1.1", "EndTurn", **turn)


def check(start: float, campaign: list[dict[str, Any]], combat: list[dict[str, Any]]) -> dict[str, Any]:
    end = start + DAYS * DAY
    posts = [e["data"]["post"] for e in campaign if e["type"] == "Posted"]

    # No combat turn waits over 4 h.
    begun: dict[tuple[int, int], float] = {}
    waits = []
    for event in combat:
        data = event["data"]
        if event["type"] == "TurnStarted":
            begun[(data["round"], data["turn"])] = data["at"]
        elif event["type"] == "TurnEnded" and (data["round"], data["turn"]) in begun:
            waits.append(data["at"] - begun.pop((data["round"], data["turn"])))
    assert waits and max(waits) <= 4 * HOUR + EPS, max(waits)

    # Nobody is marked inactive while active: their last command of any kind is 24 h old.
    seen: dict[str, float] = {}
    statuses: list[tuple[float, str, str]] = []
    for event in campaign:
        data = event["data"]
        if event["type"] == "PlayerJoined":
            seen[data["player"]["player_id"]] = data["player"]["joined_at"]
        elif event["type"] == "Posted" and data["post"]["kind"] == "action":
            seen[data["post"]["author"]] = data["post"]["at"]
        elif event["type"] == "PlayerActive":
            seen[data["player_id"]] = data["at"]
        elif event["type"] == "PlayerStatusChanged":
            statuses.append((data["at"], data["player_id"], data["status"]))
            if data["status"] == "inactive":
                assert data["at"] - seen[data["player_id"]] >= DAY - EPS, (data, seen[data["player_id"]])
    inactive_marks = [(round((at - start) / HOUR, 1), who) for at, who, status in statuses if status == "inactive"]
    assert ("bram", "inactive") not in [(w, s) for at, w, s in statuses if at < start + DAY]  # buttons count

    def playing(at: float) -> bool:  # someone not inactive at ``at``
        now = {p: "active" for p in seen}
        for when, who, status in statuses:
            if when <= at:
                now[who] = status
        return any(status != "inactive" for status in now.values())

    # The story moves at least once a day while anyone plays (a late action's hour of grace aside).
    narrations = [start, *sorted(p["at"] for p in posts if p["kind"] == "narration"), end]
    gaps_while_playing = []
    for a, b in itertools.pairwise(narrations):
        if b - a > DAY + HOUR + EPS:
            assert not playing(a + DAY + HOUR), f"{(b - a) / HOUR:.1f} h without narration from {(a - start) / HOUR:.1f} h"
        gaps_while_playing.append(min(b - a, DAY + HOUR) if playing(a) else 0.0)

    # Nobody plays: the campaign sleeps (nothing posted but its notice) and wakes with the player who returns.
    dormancy = [(e["data"]["at"], e["data"]["dormant"]) for e in campaign if e["type"] == "DormancyChanged"]
    assert dormancy and dormancy[0][1] and any(not dormant for _, dormant in dormancy)
    for (asleep, _), (woke, _) in zip(dormancy[::2], dormancy[1::2]):
        during = [p for p in posts if asleep < p["at"] < woke]
        assert during == [], during
    returned = next(p["at"] for p in posts if p["author"] == "cass" and p["at"] > start + 19 * DAY)
    assert any(not dormant and abs(at - returned) <= EPS for at, dormant in dormancy)

    # Every deadline's consequence is posted, once.
    for deadline_id, _, consequence in DEADLINES:
        assert [p["text"] for p in posts if p["reason"] == "deadline"].count(consequence) == 1, deadline_id

    [ended] = [e["data"] for e in combat if e["type"] == "EncounterEnded"]
    per_day = [sum(1 for p in posts if start + d * DAY <= p["at"] < start + (d + 1) * DAY) for d in range(DAYS)]
    return {"posts": len(posts), "posts_per_day": per_day, "narrations": len(narrations) - 2,
            "longest_gap_while_playing_h": round(max(gaps_while_playing) / HOUR, 2),
            "longest_combat_turn_h": round(max(waits) / HOUR, 2), "combat_turns": len(waits),
            "encounter": f"{ended['reason']} at {(ended['at'] - start) / HOUR:.1f} h",
            "skips": sum(1 for p in posts if p["reason"] in ("skip", "auto_skip")),
            "inactive_marks": inactive_marks,
            "dormant": [(round((at - start) / DAY, 2), "asleep" if d else "awake") for at, d in dormancy]}


async def test_a_month_at_a_table_whose_gm_only_follows_the_status(game_server):
    log.info("seed %d", SEED)
    table, bot, start = await play_a_month(game_server, SEED)
    async with http_client(game_server) as http:
        table.http = http
        figures = check(start, await table.journal("campaign/c1"), await table.journal("combat/c1.1"))
    figures["gm_bot_commands"] = {kind: bot.sent.count(kind) for kind in sorted(set(bot.sent))}
    figures["gm_bot_turn_moved"] = bot.stale
    log.info("a month at the table (seed %d): %s", SEED, figures)
    print(f"a month at the table (seed {SEED}):", figures)
