"""What a table hears when nobody is looking (issue 23), as tables: given a campaign, when an event,
then the notices and who gets them; and which webhook hears which notice.  Pure: no runtime."""
from __future__ import annotations

import pytest

from actors.campaign.messages import DeadlineSet, EncounterUpdated, PostNarration, Whisper
from actors.campaign.notices import TABLE, Notice, notices, still_due
from actors.campaign.state import EncounterView
from server.webhooks.service import hears

from ..campaigns import GM, player
from .test_table_rules import CAMPAIGN, HOUR, T0, table, when

VIEW = EncounterView(n=1, address="combat/c1.1", started_at=T0, round=1, turn=0, current="ayla", name="Ayla",
                     player_id="ayla", turn_started_at=T0, turn_due=T0 + 4 * HOUR)


def kinds(found: list[Notice]) -> list[tuple[str, frozenset[str]]]:
    return [(n.kind, n.to) for n in found]


def test_a_players_turn_tells_them_and_the_table_and_an_hour_before_it_is_skipped():
    before = table("ayla", "bram")
    event = EncounterUpdated(encounter=VIEW)
    after = CAMPAIGN.evolve(before, event)
    found = notices(before, event, after, T0)
    assert kinds(found) == [("your_turn", frozenset({"ayla", TABLE})), ("turn_ending", frozenset({"ayla", TABLE}))]
    assert found[1].not_before == T0 + 3 * HOUR and still_due(after, found[1].key)
    taken = CAMPAIGN.evolve(after, EncounterUpdated(encounter=VIEW.model_copy(update={"turn": 1, "player_id": "bram"})))
    assert not still_due(taken, found[1].key)
    assert notices(after, event, after, T0) == []  # the same turn again says nothing


def test_a_turn_shorter_than_an_hour_gets_no_reminder():
    before = table("ayla")
    event = EncounterUpdated(encounter=VIEW.model_copy(update={"turn_due": T0 + 0.5 * HOUR}))
    assert kinds(notices(before, event, CAMPAIGN.evolve(before, event), T0)) == [
        ("your_turn", frozenset({"ayla", TABLE}))]


@pytest.mark.parametrize("in_hours, reminded", [(3, True), (0.5, False)])
def test_a_deadline_is_announced_an_hour_before_it_lands(in_hours, reminded):
    before = table("ayla")
    event = DeadlineSet(deadline_id="ritual", due=T0 + in_hours * HOUR, consequence="The dead walk.", at=T0)
    found = notices(before, event, CAMPAIGN.evolve(before, event), T0)
    assert [n.kind for n in found] == (["deadline"] if reminded else [])


def test_a_whisper_goes_to_its_recipients_and_a_mention_to_its_player():
    state = table("ayla", "bram")
    after, decision = when(CAMPAIGN, state, Whisper(text="psst", to=("gm", "bram")), T0, player("ayla"))
    assert kinds(notices(state, decision.events[-1], after, T0)) == [("whisper", frozenset({"gm", "bram"}))]
    after, decision = when(CAMPAIGN, state, PostNarration(text="@Bram and @nobody: the door opens."), T0, GM)
    assert kinds(notices(state, decision.events[-1], after, T0)) == [
        ("narration", frozenset({TABLE, "ayla", "bram"})), ("mention", frozenset({"bram"}))]


HOOKS = {"table": {"scope": "table", "player_id": None}, "gm": {"scope": "gm", "player_id": None},
         "ayla": {"scope": "player", "player_id": "ayla"}, "bram": {"scope": "player", "player_id": "bram"}}


@pytest.mark.parametrize("to, heard_by", [
    (frozenset({"ayla", TABLE}), {"table", "gm", "ayla"}),
    (frozenset({"gm", "bram"}), {"gm", "bram"}),  # a whisper: never the table's channel
    (frozenset({"bram"}), {"bram"}),
])
def test_which_webhook_hears_a_notice(to, heard_by):
    notice = Notice("whisper", to, "t", "x")
    assert {name for name, hook in HOOKS.items() if hears({**hook, "kinds": ["whisper"]}, notice)} == heard_by
    assert not any(hears({**hook, "kinds": ["narration"]}, notice) for hook in HOOKS.values())
