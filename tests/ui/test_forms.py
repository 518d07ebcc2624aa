"""What the setup, sheet and composer forms send, and how the feed reads posts (issue 23): pure functions,
as tables, no browser."""
from __future__ import annotations

import pytest

from actors.campaign.state import Character, Player, Post, Roll, Saves
from actors.campaign.behavior import CampaignKind
from ui.format import may_change, my_clocks, post_author, post_tags, sheet_line, shown
from ui.forms import (
    FormError, character_data, follow_ups, post_command, settings_data, skills, slug, strikes, when,
)

GM = {"role": "gm", "campaign": "c1", "character": None}
AYLA = {"role": "player", "campaign": "c1", "character": "ayla"}
BRAM = {"role": "player", "campaign": "c1", "character": "bram"}


@pytest.mark.parametrize("title, expected", [("The Sunken Crown!", "the-sunken-crown"), ("  ", "campaign"),
                                             ("Ätna & Co", "tna-co")])
def test_a_campaign_id_comes_from_its_title(title, expected):
    assert slug(title) == expected


@pytest.mark.parametrize("values, expected", [
    ({"combat_turn_idle_s": 2, "exploration_idle_s": "", "timezone": "Europe/Berlin"},
     {"combat_turn_idle_s": 7200.0, "timezone": "Europe/Berlin"}),
    ({"timezone": "UTC", "narrator": False, "narrator_model": ""},
     {"timezone": "UTC", "narrator": False, "narrator_model": None}),
    ({"timezone": "UTC", "templates": {"skip": " {name} waits. ", "advance": "One.\n\nTwo.", "dormant": "  "}},
     {"timezone": "UTC", "templates": {"skip": "{name} waits.", "advance": ["One.", "Two."]}}),
])
def test_settings_from_the_form(values, expected):
    assert settings_data(values) == expected


@pytest.mark.parametrize("values, why", [
    ({"combat_turn_idle_s": "soon"}, "write a number of hours"),
    ({"inactive_s": 0}, "between 1 minute"),
    ({"timezone": "Mars/Olympus"}, "unknown time zone"),
])
def test_settings_the_form_refuses_say_why(values, why):
    with pytest.raises(FormError, match=why):
        settings_data(values)


@pytest.mark.parametrize("in_hours, at, zone, expected", [
    (24, "", "UTC", {"in_hours": 24.0}),
    (24, "2026-12-24 18:00", "Europe/Berlin", {"due": "2026-12-24T18:00:00+01:00"}),
    (None, "2026-07-01 09:30", "America/New_York", {"due": "2026-07-01T09:30:00-04:00"}),
])
def test_a_due_time_is_hours_from_now_or_a_time_in_the_campaigns_zone(in_hours, at, zone, expected):
    assert when(in_hours, at, zone) == expected


@pytest.mark.parametrize("in_hours, at", [(None, ""), (0, ""), (5, "24.12.2026 18:00")])
def test_a_due_time_the_form_cannot_read(in_hours, at):
    with pytest.raises(FormError):
        when(in_hours, at, "UTC")


def test_follow_ups_one_a_line_in_order():
    assert follow_ups("+6h The drums.\n\n12 h The gate falls.") == [
        {"after_hours": 6.0, "text": "The drums."}, {"after_hours": 12.0, "text": "The gate falls."}]
    with pytest.raises(FormError, match="in order"):
        follow_ups("+12h b\n+6h a")
    with pytest.raises(FormError, match="line 1"):
        follow_ups("later: the drums")


def test_skills_and_strikes_as_people_write_them():
    assert skills("Stealth +9, Thievery 8; Lore (sailing) -1") == {"stealth": 9, "thievery": 8, "lore (sailing)": -1}
    assert strikes("Shortsword +9 1d6+3 piercing agile finesse\nShortbow +8 1d6 ranged") == [
        {"name": "Shortsword", "attack": 9, "damage": "1d6+3", "damage_type": "piercing", "agile": True,
         "ranged": False},
        {"name": "Shortbow", "attack": 8, "damage": "1d6", "damage_type": "physical", "agile": False, "ranged": True}]
    with pytest.raises(FormError, match="unknown trait"):
        strikes("Sword +9 1d8 shiny")
    with pytest.raises(FormError, match="Stealth \\+7"):
        skills("Stealth")


def test_a_character_from_the_sheet_is_one_the_campaign_takes():
    data = character_data({"name": "Ayla", "ancestry": "Elf", "class": "Rogue", "level": 2, "max_hp": 30, "ac": 18,
                           "perception": 7, "fortitude": 5, "reflex": 9, "will": 4, "skills": "Stealth +9",
                           "strikes": "Shortsword +9 1d6+3 piercing agile"})
    character = Character.model_validate(data)
    assert (character.hp, character.ancestry, character.class_name) == (30, "Elf", "Rogue")
    assert sheet_line(character) == "Elf Rogue 2 · AC 18 · Perception +7"
    with pytest.raises(FormError, match="name"):
        character_data({"name": " "})


@pytest.mark.parametrize("mode, gm, extra, expected", [
    ("ic", False, {"roll": "1d20+9"}, ("PostAction", {"text": "t", "roll": "1d20+9"})),
    ("ooc", False, {}, ("PostAction", {"text": "t", "ooc": True})),
    ("whisper", False, {"to": ["gm"]}, ("Whisper", {"text": "t", "to": ["gm"]})),
    ("ic", True, {"as": "gm"}, ("PostNarration", {"text": "t"})),
    ("npc", True, {"as": "gm", "speaker": " Troll "}, ("PostNarration", {"text": "t", "speaker": "Troll"})),
    ("ic", True, {"as": "ayla"}, ("PostAction", {"text": "t", "player_id": "ayla"})),
    ("ooc", True, {"as": "gm"}, ("PostNarration", {"text": "t", "ooc": True})),
])
def test_the_composer_sends(mode, gm, extra, expected):
    assert post_command(mode, "t", gm, extra) == expected


@pytest.mark.parametrize("mode, extra, why", [("whisper", {"to": []}, "whom"), ("npc", {"speaker": ""}, "NPC")])
def test_the_composer_refuses(mode, extra, why):
    with pytest.raises(FormError, match=why):
        post_command(mode, "t", True, extra)


def state_with(*posts: Post):
    hero = Character(name="Ayla", level=1, max_hp=10, hp=10, ac=15, saves=Saves(fortitude=1, reflex=1, will=1),
                     perception=1)
    players = {"ayla": Player(player_id="ayla", character=hero, joined_at=0.0)}
    return CampaignKind().initial("campaign/c1").model_copy(update={"created": True, "players": players,
                                                                    "posts": posts})


ROLL = Roll(n=1, by="ayla", expression="1d20", faces=((12,),), total=12, at=1.0)
ACTION = Post(n=1, kind="action", author="ayla", text="I climb.", at=1.0)
OOC = Post(n=2, kind="ooc", author="ayla", text="brb", at=2.0)
WHISPER = Post(n=3, kind="whisper", author="ayla", text="psst", at=3.0, to=("gm",))
HIDDEN = Post(n=3, kind="whisper", author="", text="", at=3.0)
NPC = Post(n=4, kind="narration", author="gm1", text="Halt!", at=4.0, speaker="Warden")
SKIP = Post(n=5, kind="narration", author="server", text="Ayla hesitates.", at=5.0, reason="auto_skip")
ROLLED = Post(n=6, kind="action", author="ayla", text="I strike.", at=6.0, roll=ROLL)


@pytest.mark.parametrize("post, viewer, feed, seen", [
    (ACTION, BRAM, "all", True), (ACTION, BRAM, "ic", True), (ACTION, BRAM, "ooc", False),
    (OOC, BRAM, "ooc", True), (OOC, BRAM, "ic", False), (ROLLED, BRAM, "ooc", True),
    (WHISPER, AYLA, "whispers", True), (WHISPER, GM, "all", True), (WHISPER, BRAM, "all", False),
    (HIDDEN, BRAM, "all", False), (SKIP, BRAM, "combat", True), (NPC, BRAM, "combat", False),
])
def test_the_feed_shows_each_reader_what_is_theirs_under_each_filter(post, viewer, feed, seen):
    assert shown(post, viewer, feed) is seen


@pytest.mark.parametrize("post, author, first_tag", [
    (ACTION, "Ayla", "in character"), (OOC, "Ayla", "out of character"), (WHISPER, "Ayla", "whisper to GM"),
    (NPC, "Warden", "narration"), (SKIP, "The story (server)", "narration"),
])
def test_who_wrote_a_post_and_what_kind_it_is(post, author, first_tag):
    state = state_with(post)
    assert post_author(post, state) == author and post_tags(post, state)[0][0] == first_tag


@pytest.mark.parametrize("post, viewer, may", [
    (ACTION, AYLA, (True, True)), (ACTION, BRAM, (False, False)), (ACTION, GM, (False, True)),
    (NPC, GM, (True, True)), (SKIP, GM, (False, True)), (HIDDEN, BRAM, (False, False)),
])
def test_edit_and_delete_buttons_follow_the_campaigns_rules(post, viewer, may):
    assert may_change(post, viewer, state_with(post)) == may


def test_a_players_clocks_in_time_order():
    state = state_with()
    clocks = my_clocks(state, "ayla", now=0.0)
    assert [text for text, _ in clocks] == ["Your character follows the party", "You count as inactive"]
    assert [due for _, due in clocks] == [12 * 3600.0, 24 * 3600.0]
    assert my_clocks(state, None, 0.0) == []


BOG = {"name": "Bog mummy", "stats": {"level": 1, "max_hp": 30, "ac": 16, "fortitude": 9, "reflex": 5, "will": 7,
                                      "perception": 6, "strikes": [{"name": "Claw", "attack": 9, "damage": "1d6+3"}]}}


def test_a_roster_from_the_bestiary_numbers_creatures_that_come_more_than_once():
    from ui.forms import roster_npcs

    roster = [{"creature_id": "bog", "count": 2, "adjustment": "elite", "by_hand": True},
              {"creature_id": "rat", "count": 1, "adjustment": "weak", "by_hand": False},
              {"creature_id": "bog", "count": 1, "adjustment": "normal", "by_hand": False}]
    npcs = roster_npcs(roster, {"bog": BOG, "rat": {**BOG, "name": "Rat"}})
    assert [(n["name"], n["adjustment"], n["agent"]) for n in npcs] == [
        ("Bog mummy 1", "elite", True), ("Bog mummy 2", "elite", True), ("Rat", "weak", False),
        ("Bog mummy 3", "normal", False)]
    with pytest.raises(FormError, match="no 'gone'"):
        roster_npcs([{"creature_id": "gone", "count": 1}], {})
    with pytest.raises(FormError, match="at least one"):
        roster_npcs([], {})


def test_a_creature_from_the_form_and_its_new_id():
    from ui.forms import creature_data, creature_id

    data = creature_data({"name": "Bog mummy", "level": 1, "max_hp": 30, "ac": 16, "fortitude": 9, "reflex": 5,
                          "will": 7, "perception": 6, "strikes": "Claw +9 1d6+3 slashing", "tactics": "cowardly"})
    assert data["stats"]["strikes"][0]["damage_type"] == "slashing" and data["stats"]["tactics"] == "cowardly"
    assert creature_id("Bog mummy", {"bog-mummy", "bog-mummy-2"}) == "bog-mummy-3"
    with pytest.raises(FormError, match="at least one strike"):
        creature_data({**{k: 1 for k in ("level", "max_hp", "ac", "fortitude", "reflex", "will", "perception")},
                       "name": "Blob"})


def test_the_next_strikes_penalty_is_the_chosen_weapons():
    from actors.combat.state import Combatant, Stats, StrikeStat
    from ui.encounter import row, weapon_options

    stats = Stats(level=1, max_hp=20, ac=16, fortitude=5, reflex=5, will=5, perception=5, strikes=(
        StrikeStat(name="Shortsword", attack=9, damage="1d6+3", agile=True),
        StrikeStat(name="Shortbow", attack=8, damage="1d6", ranged=True)))
    ayla = Combatant(cid="ayla", name="Ayla", player_id="ayla", stats=stats)
    assert weapon_options(ayla) == {"Shortsword": "Shortsword +9 (1d6+3, agile)", "Shortbow": "Shortbow +8 (1d6, ranged)"}

    class Fighter:
        hp, zone, conditions, actions, attacks, dead, fled, dying, agent = 20, "melee", {}, 2, 1, False, False, 0, False

    class State:
        fighters, current = {"ayla": Fighter()}, "ayla"

    assert row(State(), ayla, "Shortsword")["next_map"] == -4
    assert row(State(), ayla, "Shortbow")["next_map"] == -5


def strategy_seen() -> dict:
    return {"house": 0, "turn": 2, "view": {
        "houses": [{"hid": 0, "treasury": 900, "tech": [1, 2, 1], "prestige": 100, "alive": True}],
        "colonies": [{"system": 4, "owner": 0, "starbases": 0, "docks": 1, "population": 5, "industry": 5,
                      "blockaded": False},
                     {"system": 7, "owner": 1, "starbases": 0, "population": 5, "industry": 5, "blockaded": False}],
        "fleets": [{"fid": 3, "owner": 0, "system": 4, "ships": 2}, {"fid": 9, "owner": 1, "system": 4, "ships": 1}]}}


def test_a_colony_builds_what_its_construction_level_and_docks_allow():
    from ui.strategy import buildable

    options = buildable(strategy_seen(), 4)
    assert "cruiser" in options and "battlecruiser" not in options  # construction 2
    assert options["starbase"] == "starbase (900 PP)" and "shipyard" in options and "army" in options
    assert buildable(strategy_seen(), 7) == {}  # not ours


def test_orders_read_as_sentences_and_a_turn_report_says_what_changed():
    from ui.strategy import my_fleets, order_text, turn_report

    assert [f["fid"] for f in my_fleets(strategy_seen(), 4)] == [3]
    assert order_text({"kind": "move", "fleet": 3, "system": 12}) == "fleet 3: move to system 12"
    assert order_text({"kind": "build", "system": 4, "ship": "light_cruiser", "count": 2}) == \
        "build 2 light cruiser at system 4"
    before = {**strategy_seen()["view"], "houses": [{"hid": 0, "treasury": 1000}], "fleets": []}
    assert turn_report(before, strategy_seen(), [{"kind": "set_tax", "amount": 35}]) == [
        "Turn 1 resolved.", "Ordered: set tax to 35%", "Treasury 1000 → 900 PP.", "Fleets 0 → 1.", "Ships 0 → 2."]


def test_a_characters_combat_posts_carry_its_status_line_and_the_combat_filter():
    from ui.format import status_line

    fight = Post(n=7, kind="action", author="ayla", text="I swing.", at=7.0, encounter=2)
    state = state_with(fight)
    assert status_line(fight, state) == "Ayla · 10/10 HP · AC 15"
    assert status_line(ACTION, state) is None  # not a combat post
    assert status_line(NPC.model_copy(update={"encounter": 2}), state) is None  # not a character's
    assert shown(fight, BRAM, "combat") and not shown(ACTION, BRAM, "combat")


def test_the_console_says_which_worlds_have_no_bridge():
    from ui.bridges import bridge_rows

    rows = bridge_rows([{"world": "c1/w", "campaign": "c1", "emitter": None, "connected": [],
                         "depth": {"combat": 1, "chat": 0, "cosmetic": 0}, "oldest_age_s": 12.0, "expired": 0,
                         "failed": 0, "troubles": []},
                        {"world": "c2/w", "campaign": "c2", "emitter": {"instance": "a", "token_id": "t", "for_s": 61.0},
                         "connected": ["a", "b"], "depth": {"combat": 0, "chat": 0, "cosmetic": 0},
                         "oldest_age_s": None, "expired": 2, "failed": 1,
                         "troubles": [{"id": "x", "kind": "apply_damage", "status": "failed",
                                       "reason": "no actor Goblin here", "finished_at": 5.0}]}])
    assert [(r["emitter"], r["connected"], r["combat"], r["oldest"], r["last"]) for r in rows] == [
        ("disconnected", "—", 1, 12.0, "—"), ("a (61 s)", "a, b", 0, "—", "failed · apply_damage: no actor Goblin here")]


def test_the_server_clock_runs_on_between_reads_unless_it_is_virtual(monkeypatch):
    from ui import format as fmt

    ticks = iter([100.0, 130.0, 100.0, 500.0])
    monkeypatch.setattr(fmt.time, "monotonic", lambda: next(ticks))
    real, virtual = fmt.ServerClock(False), fmt.ServerClock(True)
    assert virtual.now(unread=7.0) == 7.0  # nothing read yet
    real.set(1_000.0)
    assert real.now() == 1_030.0
    virtual.set(2_000.0)
    assert virtual.now() == 2_000.0
