"""The plan's proof: a campaign runs 30 simulated days with no GM and never stalls.

The GM sets the table at t=0 (campaign, four players, two story deadlines, an encounter
with two goblins) and never comes back.  Scripted players act, go quiet for hours or days
and return; one never acts at all.  ``script(seed)`` is deterministic; ``check`` asserts
the plan's success criteria on the journals, as the API shows them
(``{"type", "version", "data"}``), so the MockClock run and the real server run share it.
"""
from __future__ import annotations

import itertools
import random
from dataclasses import dataclass
from typing import Any

HOUR = 3600.0
DAY = 24 * HOUR
DAYS = 30
TURN_LIMIT = 4 * HOUR
EPS = 0.01  # timers fire on whole milliseconds; a step of the clock may land a few ms late

PLAYERS = {  # player_id -> (name, perception)
    "ayla": ("Ayla", 9), "bram": ("Bram", 8), "cass": ("Cass", 7), "dorn": ("Dorn", 6),
}
DEADLINES = (("ritual", 4 * 24, "The ritual completes and the demon is summoned."),
             ("flood", 15 * 24 + 5, "The river breaks its banks and the lower town floods."))
GOBLINS = ({"name": "Goblin Warrior", "initiative": 16, "cid": "gob-1"},
           {"name": "Goblin Archer", "initiative": 12, "cid": "gob-2"})
MAX_ROUNDS = 4


@dataclass(frozen=True)
class Action:
    at: float  # seconds after the start
    player_id: str
    text: str


def script(seed: int) -> list[Action]:
    """Every player action of the 30 days, in time order.

    ayla plays steadily (every 2-9 h); bram comes and goes (quiet for 13-40 h at a time);
    cass plays for five days, vanishes for two weeks and returns; dorn never acts.
    """
    rng = random.Random(seed)
    actions: list[Action] = []

    def act(player_id: str, at: float) -> None:
        actions.append(Action(round(at, 3), player_id, f"{PLAYERS[player_id][0]} acts ({len(actions) + 1})"))

    t = rng.uniform(0.2, 2) * HOUR
    while t < DAYS * DAY:
        act("ayla", t)
        t += rng.uniform(2, 9) * HOUR
    t = rng.uniform(1, 5) * HOUR
    while t < DAYS * DAY:
        for _ in range(rng.randint(1, 4)):
            act("bram", t)
            t += rng.uniform(1, 5) * HOUR
        t += rng.uniform(13, 40) * HOUR
    for start, end in ((0.5 * HOUR, 5 * DAY), (19 * DAY, DAYS * DAY)):
        t = start
        while t < end:
            act("cass", t)
            t += rng.uniform(4, 20) * HOUR
    return sorted(actions, key=lambda a: (a.at, a.player_id))


def check(start: float, actions: list[Action], campaign: list[dict[str, Any]], combat: list[dict[str, Any]]) -> dict:
    """The success criteria; returns figures for the test log."""
    end = start + DAYS * DAY
    posts = [e["data"]["post"] for e in campaign if e["type"] == "Posted"]

    # Nothing a player did is lost: every action is in the log, in order, by its author.
    logged = [(p["author"], p["text"]) for p in posts if p["kind"] == "action"]
    assert logged == [(a.player_id, a.text) for a in actions]

    # No combat turn waits over 4 h, and nobody out of the initiative gets a turn.
    started: dict[tuple[int, int], dict] = {}
    removed: set[str] = set()
    turns = 0
    for event in combat:
        data = event["data"]
        if event["type"] == "TurnStarted":
            assert data["cid"] not in removed, f"{data['cid']} got a turn while out of the initiative"
            started[(data["round"], data["turn"])] = data
        elif event["type"] == "TurnEnded":
            begun = started.pop((data["round"], data["turn"]))
            assert data["at"] - begun["at"] <= TURN_LIMIT + EPS, (begun, data)
            turns += 1
        elif event["type"] == "CombatantRemoved":
            removed.add(data["cid"])
        elif event["type"] == "CombatantRestored":
            removed.discard(data["cid"])
    assert combat[-1]["type"] == "EncounterEnded" and combat[-1]["data"]["reason"] == "max_rounds"
    assert not started, "a turn never ended"
    assert any(e["type"] == "EncounterClosed" for e in campaign)

    # The story advances at least daily: never 24 h without a narration.
    narrations = [start, *sorted(p["at"] for p in posts if p["kind"] == "narration"), end]
    gaps = [b - a for a, b in itertools.pairwise(narrations)]
    assert max(gaps) <= DAY + EPS, f"the story stood still for {max(gaps) / HOUR:.2f} h"

    # Every deadline's consequence lands once, when due.
    for deadline_id, hours, consequence in DEADLINES:
        landed = [p for p in posts if p["reason"] == "deadline" and p["text"] == consequence]
        assert len(landed) == 1 and abs(landed[0]["at"] - (start + hours * HOUR)) <= EPS, (deadline_id, landed)

    # No inactive player blocks progress: dorn and cass were left behind, cass came back.
    status = [(e["data"]["player_id"], e["data"]["status"]) for e in campaign if e["type"] == "PlayerStatusChanged"]
    assert ("dorn", "inactive") in status and ("cass", "inactive") in status
    assert next(s for s in reversed(status) if s[0] == "cass")[1] == "active"
    return {"actions": len(actions), "posts": len(posts), "narrations": len(narrations) - 2, "combat_turns": turns,
            "longest_gap_h": round(max(gaps) / HOUR, 2),
            "auto_skips": sum(1 for p in posts if p["reason"] == "auto_skip")}
