"""A table's posts as tables (issue 23): out of character, whispers, dice in a post, NPC voices, edits
and deletions, what each reader sees, and seat invitations.  Pure ``decide``/``evolve``: no runtime."""
from __future__ import annotations

from typing import Any

import pytest

from actors import Forbidden, Rejected
from actors.campaign.messages import (
    ClaimInvite, CreateInvite, DeletePost, EditPost, PostAction, PostNarration, RevokeInvite, UpdateSettings, Whisper,
)
from actors.campaign.privacy import project_event, project_state
from actors.campaign.state import Settings

from ..campaigns import GM, player
from .test_table_rules import CAMPAIGN, HOUR, T0, table, when

OPERATOR = {"token_id": "op", "role": "operator"}


def last(state: Any) -> Any:
    return state.posts[-1]


# -- posts -------------------------------------------------------------------------------------------

@pytest.mark.parametrize("command, by, kind, awaiting", [
    (PostAction(text="I climb the rail."), player("ayla"), "action", True),
    (PostAction(text="brb, pizza", ooc=True), player("ayla"), "ooc", True),
    (PostNarration(text="The rail holds."), GM, "narration", False),
    (PostNarration(text="Break for ten minutes?", ooc=True), GM, "ooc", True),
])
def test_table_talk_is_not_an_action_the_gm_must_answer(command, by, kind, awaiting):
    """given a table with an unanswered action, when a post, then its kind, and whether the GM still owes an answer"""
    state = table("ayla", "bram")
    state, _ = when(CAMPAIGN, state, PostAction(text="I look around."), T0 + 60, player("bram"))
    state, _ = when(CAMPAIGN, state, command, T0 + 120, by)
    assert last(state).kind == kind
    assert (state.awaiting_narration_since is not None) == awaiting


def test_a_players_table_talk_is_activity():
    state = table("ayla")
    state, _ = when(CAMPAIGN, state, PostAction(text="back!", ooc=True), T0 + 5 * HOUR, player("ayla"))
    assert state.players["ayla"].last_action_at == T0 + 5 * HOUR
    assert state.last_player_action_at is None  # table talk is no action: the stall clock is not reset


@pytest.mark.parametrize("command, by, roller", [
    (PostAction(text="I swing at the troll\nwith everything", roll="1d20+9"), player("ayla"), "ayla"),
    (PostNarration(text="The troll swings back.", roll="2d6+4", speaker="Troll"), GM, "gm"),
])
def test_dice_rolled_with_a_post_are_in_the_post_and_the_dice_log(command, by, roller):
    state = table("ayla")
    state, decision = when(CAMPAIGN, state, command, T0 + 60, by)
    roll = last(state).roll
    assert roll is not None and roll.by == roller and roll.expression == command.roll
    assert state.rolls[-1] == roll and state.roll_count == 1
    assert roll.total == sum(sum(faces) for faces in roll.faces) + (9 if roller == "ayla" else 4)
    assert roll.reason == command.text.splitlines()[0]
    assert [type(e).__name__ for e in decision.events][-2:] == ["DiceRolled", "Posted"]


def test_the_gm_speaks_as_a_named_npc():
    state, _ = when(CAMPAIGN, table("ayla"), PostNarration(text="None shall pass.", speaker="Bridge troll"), T0, GM)
    assert (last(state).kind, last(state).speaker) == ("narration", "Bridge troll")


# -- whispers and what each reader sees ------------------------------------------------------------------

def test_a_whisper_reaches_its_author_its_recipients_and_the_gm_only():
    state = table("ayla", "bram", "cora")
    state, decision = when(CAMPAIGN, state, Whisper(text="I pocket the ring.", to=("gm", "bram")), T0, player("ayla"))
    posted = decision.events[-1]
    assert posted.post.kind == "whisper" and posted.post.to == ("gm", "bram")
    assert state.awaiting_narration_since is None  # a whisper is not an action the GM answers
    for viewer, sees in [(player("ayla"), True), (player("bram"), True), (GM, True), (OPERATOR, True),
                         (player("cora"), False)]:
        projected = CAMPAIGN.projects(viewer)
        text = project_state(state, viewer)["posts"][-1]["text"] if projected else state.posts[-1].text
        data = project_event(posted, viewer) if projected else None
        event_text = posted.post.text if data is None else data["post"]["text"]
        assert (text == "I pocket the ring.") is sees and (event_text == "I pocket the ring.") is sees, viewer
    hidden = project_state(state, player("cora"))["posts"][-1]
    assert (hidden["author"], hidden["to"], hidden["text"]) == ("", [], "")  # not even who whispered to whom


@pytest.mark.parametrize("to, code", [(("dave",), "campaign/not_a_player"), (("ayla",), "campaign/whisper_to_self")])
def test_a_whisper_needs_someone_else_at_the_table(to, code):
    with pytest.raises(Rejected) as refused:
        when(CAMPAIGN, table("ayla"), Whisper(text="psst", to=to), T0, player("ayla"))
    assert refused.value.code == code


def test_events_everyone_may_see_go_out_as_they_are():
    """only whispers, an edit of one and invites are projected reader by reader: the rest share one frame"""
    state = table("ayla")
    _, decision = when(CAMPAIGN, state, PostAction(text="I wave.", roll="1d20"), T0, player("ayla"))
    assert [project_event(event, player("bram")) for event in decision.events] == [None] * len(decision.events)


# -- edits and deletions --------------------------------------------------------------------------------

def test_a_player_edits_their_post_and_only_the_gm_sees_what_it_said():
    state = table("ayla", "bram")
    state, _ = when(CAMPAIGN, state, PostAction(text="I attakc."), T0, player("ayla"))
    n = last(state).n
    state, _ = when(CAMPAIGN, state, EditPost(n=n, text="I attack."), T0 + 30, player("ayla"))
    assert (last(state).text, last(state).edited_at, last(state).history) == ("I attack.", T0 + 30, ("I attakc.",))
    assert project_state(state, player("bram"))["posts"][-1]["history"] == []
    state, _ = when(CAMPAIGN, state, DeletePost(n=n), T0 + 60, player("ayla"))
    assert last(state).deleted and last(state).text == "" and last(state).history == ("I attakc.", "I attack.")


@pytest.mark.parametrize("author, command, by, error", [
    ("ayla", EditPost(n=2, text="x"), player("ayla"), None),
    ("ayla", EditPost(n=99, text="x"), player("ayla"), "campaign/no_such_post"),
    ("ayla", EditPost(n=2, text="mine now"), player("bram"), "campaign/not_your_post"),
    ("ayla", DeletePost(n=2), player("bram"), "campaign/not_your_post"),
    ("ayla", EditPost(n=2, text="GM rewrites it"), GM, "campaign/not_your_post"),
    ("ayla", DeletePost(n=2), GM, None),  # the GM moderates the table
    ("gm", EditPost(n=2, text="x"), GM, None),
    ("gm", EditPost(n=2, text="x"), player("ayla"), "campaign/not_your_post"),
])
def test_who_may_change_a_post(author, command, by, error):
    state = table("ayla", "bram")
    post = PostAction(text="first") if author == "ayla" else PostNarration(text="first")
    state, _ = when(CAMPAIGN, state, post, T0, player("ayla") if author == "ayla" else GM)
    assert last(state).n == 2
    if error is None:
        when(CAMPAIGN, state, command, T0 + 1, by)
        return
    with pytest.raises((Rejected, Forbidden)) as refused:
        when(CAMPAIGN, state, command, T0 + 1, by)
    assert refused.value.code == error


def test_an_edited_whisper_stays_private():
    state = table("ayla", "bram")
    state, _ = when(CAMPAIGN, state, Whisper(text="secret"), T0, player("ayla"))
    state, decision = when(CAMPAIGN, state, EditPost(n=last(state).n, text="secret 2"), T0 + 1, player("ayla"))
    assert project_event(decision.events[0], player("bram"))["text"] == ""
    assert project_event(decision.events[0], player("ayla")) is None
    seen = CAMPAIGN.State.model_validate(project_state(state, player("bram")))  # a client folds what it is sent
    assert CAMPAIGN.evolve(seen, CAMPAIGN.load_event({"t": "PostEdited", "v": 1, "d": project_event(
        decision.events[0], player("bram"))})).posts[-1].text == ""


# -- settings ---------------------------------------------------------------------------------------------

@pytest.mark.parametrize("zone, ok", [("Europe/Berlin", True), ("UTC", True), ("Mars/Olympus", False), ("", False)])
def test_a_campaign_keeps_its_time_zone(zone, ok):
    if not ok:
        with pytest.raises(ValueError):
            Settings(timezone=zone)
        return
    state, _ = when(CAMPAIGN, table(), UpdateSettings(settings=Settings(timezone=zone)), T0, GM)
    assert state.settings.timezone == zone


# -- invitations ------------------------------------------------------------------------------------------

def invite(state: Any, seat: str = "seat-1", at: float = T0, expires: float = T0 + 48 * HOUR) -> Any:
    return when(CAMPAIGN, state, CreateInvite(invite_id="i1", player_id=seat, digest="d" * 64, expires_at=expires),
                at, GM)[0]


@pytest.mark.parametrize("claim, at, code", [
    (ClaimInvite(invite_id="i1", digest="d" * 64, token_id="t1"), T0 + HOUR, None),
    (ClaimInvite(invite_id="i1", digest="e" * 64, token_id="t1"), T0 + HOUR, "invite/unknown"),
    (ClaimInvite(invite_id="i9", digest="d" * 64, token_id="t1"), T0 + HOUR, "invite/unknown"),
    (ClaimInvite(invite_id="i1", digest="d" * 64, token_id="t1"), T0 + 48 * HOUR, "invite/expired"),
])
def test_an_invite_is_claimed_once_in_time_with_its_secret(claim, at, code):
    state = invite(table("ayla"))
    if code is not None:
        with pytest.raises(Rejected) as refused:
            when(CAMPAIGN, state, claim, at)
        assert refused.value.code == code
        return
    state, _ = when(CAMPAIGN, state, claim, at)
    assert state.invites["i1"].status(at) == "claimed" and state.invites["i1"].token_id == "t1"
    with pytest.raises(Rejected) as again:
        when(CAMPAIGN, state, claim.model_copy(update={"token_id": "t2"}), at)
    assert again.value.code == "invite/claimed"


def test_a_revoked_invite_cannot_be_claimed_and_players_never_see_its_secret():
    state = invite(table("ayla"))
    assert project_state(state, player("ayla"))["invites"]["i1"]["digest"] == ""
    state, _ = when(CAMPAIGN, state, RevokeInvite(invite_id="i1"), T0 + 1, GM)
    with pytest.raises(Rejected) as refused:
        when(CAMPAIGN, state, ClaimInvite(invite_id="i1", digest="d" * 64, token_id="t1"), T0 + 2)
    assert refused.value.code == "invite/revoked"


@pytest.mark.parametrize("seat, code", [("ayla", "invite/seat_taken")])
def test_a_seat_that_joined_is_not_invited_again(seat, code):
    with pytest.raises(Rejected) as refused:
        invite(table("ayla"), seat=seat)
    assert refused.value.code == code


def test_only_the_gm_invites():
    with pytest.raises(Forbidden):
        when(CAMPAIGN, table("ayla"), CreateInvite(invite_id="i1", player_id="s", digest="d", expires_at=T0 + 9), T0,
             player("ayla"))


# -- an encounter the GM ends ------------------------------------------------------------------------------

def test_an_encounter_the_gm_ends_still_leaves_its_summary_and_marks():
    from actors.campaign.messages import CombatUpdate, EndEncounter, StartEncounter

    state, _ = when(CAMPAIGN, table("ayla"), StartEncounter(npcs=({"name": "Goblin", "initiative": 1},)), T0, GM)
    state, _ = when(CAMPAIGN, state, EndEncounter(), T0 + 60, GM)
    assert state.encounter is None
    report = CombatUpdate(n=1, round=2, turn=0, current=None, name=None, player_id=None, turn_started_at=T0,
                          turn_due=None, ended=True, reason="gm", at=T0 + 61, summary="Encounter 1 is over.",
                          characters=(("ayla", 20, ("frightened 1",)),))
    state, decision = when(CAMPAIGN, state, report, T0 + 61)
    assert [type(e).__name__ for e in decision.events] == ["CharacterChanged", "Posted"]
    assert last(state).text == "Encounter 1 is over." and state.players["ayla"].character.hp == 20
    _, again = when(CAMPAIGN, state, report.model_copy(update={"n": 0}), T0 + 62)
    assert again.events == []  # a report of an older encounter changes nothing
