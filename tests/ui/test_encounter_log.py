"""The encounter page after a fight: the combat log with every roll, why it ended, the fallen kept,
the buttons off.  The fight is played through the API with the GM's dice, in real Chromium."""
from __future__ import annotations

import time

from playwright.sync_api import expect

from .conftest import log_in, screenshot

AYLA = {"name": "Ayla", "level": 3, "max_hp": 40, "hp": 40, "ac": 19, "saves": {"fortitude": 8, "reflex": 9, "will": 6},
        "perception": 9, "strikes": [{"name": "longsword", "attack": 9, "damage": "1d8+4"}]}
BRAM = {**AYLA, "name": "Bram", "hp": 6, "strikes": [{"name": "mace", "attack": 7, "damage": "1d6+3"}]}
GOBLIN = {"name": "Goblin", "cid": "gob", "initiative": 10, "agent": True,
          "stats": {"level": 1, "max_hp": 20, "ac": 16, "fortitude": 5, "reflex": 7, "will": 3, "perception": 5,
                    "strikes": [{"name": "scimitar", "attack": 7, "damage": "1d6+2", "damage_type": "slashing"}]}}


def command(http, address: str, type_: str, data: dict) -> dict:
    response = http.post(f"/api/v1/actors/{address}/commands", json={"type": type_, "data": data})
    assert response.status_code == 200, response.text
    return response.json()


def turn(http) -> dict:
    """The encounter's state once a turn runs: StartEncounter reaches the encounter's own actor a moment
    after the campaign answered (a tell), and so does each turn the campaign hears of."""
    deadline = time.monotonic() + 10
    while True:
        state = http.get("/api/v1/actors/combat/log1.1").json()["state"]
        if state["current"] is not None or state["ended"] or time.monotonic() > deadline:
            return state
        time.sleep(0.02)


def act(http, action: dict, dice: list[int]) -> None:
    """The GM acts for whoever's turn it is, with its own dice."""
    state = turn(http)
    command(http, "combat/log1.1", "Act", {"round": state["round"], "turn": state["turn"], "action": action,
                                           "dice": dice})


def end_turn(http) -> None:
    state = turn(http)
    command(http, "combat/log1.1", "EndTurn", {"round": state["round"], "turn": state["turn"]})


def test_after_the_fight_the_page_tells_what_happened_and_why_it_ended(served, page):
    gm = served.token(role="gm", campaign="log1")
    with served.http(gm) as http:
        command(http, "campaign/log1", "CreateCampaign", {"title": "The Drowned Bell"})
    for character in (AYLA, BRAM):
        player = served.token(role="player", campaign="log1", character=character["name"].lower())
        with served.http(player) as http:
            command(http, "campaign/log1", "JoinCampaign", {"character": character})
    with served.http(gm) as gm_http:
        command(gm_http, "campaign/log1", "StartEncounter", {"npcs": [GOBLIN], "initiative": {"ayla": 20, "bram": 1}})
        act(gm_http, {"kind": "strike", "target": "gob"}, [14, 5])           # 23 vs AC 16: hit, 5 + 4

        log_in(page, served, gm)                                               # the page opens mid-fight
        page.goto(served.ui + "/campaign/log1/encounter/1")
        page.wait_for_selector("[data-test=connection]:has-text('live')")
        log = page.locator("[data-test=combat-log]")
        expect(log).to_contain_text("Ayla strikes Goblin with longsword (d20 14 +9 = 23 vs AC 16): hit, 9 damage")
        expect(page.locator("[data-test=strike]")).to_be_enabled()

        end_turn(gm_http)
        act(gm_http, {"kind": "strike", "target": "bram"}, [20, 6])           # a critical: 16 against Bram's 6 HP
        end_turn(gm_http)                                                      # Bram's recovery check, then Ayla
        act(gm_http, {"kind": "strike", "target": "gob"}, [19, 8])           # (8 + 4) x 2 = 24: the goblin dies

    expect(log).to_contain_text("Encounter over after 2 rounds: victory")     # streamed in, after the journal
    expect(log).to_contain_text("Goblin strikes Bram with scimitar (d20 20 +7 = 27 vs AC 19): critical hit, "
                                "16 slashing damage (rolled 6, doubled).")
    expect(log).to_contain_text("Bram falls unconscious: dying 2.")
    expect(log).to_contain_text("Bram rolls a recovery check:")
    expect(page.locator("[data-test=encounter-title]")).to_contain_text("over: victory")
    for button in ("strike", "end-turn", "stride", "delay", "apply-adjust"):
        expect(page.locator(f"[data-test={button}]")).to_be_disabled()

    page.reload()                                                              # a fresh page: all from the journal
    page.wait_for_selector("[data-test=connection]:has-text('live')")
    expect(log).to_contain_text("Encounter over after 2 rounds: victory")
    expect(page.locator("[data-test=encounter-title]")).to_contain_text("over: victory")
    lines = page.locator("[data-test=log-line]").all_inner_texts()
    assert lines[0].startswith("Encounter 1 begins. Initiative: Ayla 20, Goblin 10, Bram 1")
    assert lines[1:3] == ["Round 1 — Ayla's turn",
                          "Ayla strikes Goblin with longsword (d20 14 +9 = 23 vs AC 16): hit, 9 damage (rolled 5)."]
    assert sum(line.startswith("Ayla strikes") for line in lines) == 2        # each strike once
    bram = page.locator("[data-test=combatant-bram]")                          # fallen, still in the tracker
    expect(bram).to_be_visible()
    assert any(word in bram.inner_text() for word in ("dying", "dead", "unconscious"))
    expect(page.locator("[data-test=combatant-gob]")).to_contain_text("dead")
    expect(page.locator("[data-test=strike]")).to_be_disabled()
    screenshot(page, "encounter-after-the-fight")
