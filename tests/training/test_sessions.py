"""Session export: a campaign played on the real runtime and RocksDB, written out as files."""
from __future__ import annotations

import json

import pytest
import trio

from actors.campaign.messages import PostAction, PostNarration, RollDice
from actors.campaign.state import HOUR, ToolCall, TurnMeta
from training.sessions import (
    DROP_REASONS, ExportError, PlayerInput, Turn, UnknownCampaign, UnsupportedFormat, build_export, drop_reason,
    export_campaign, write_jsonl,
)

from ..campaigns import GM, hero, player, started

MODEL = "smollm2-135m-q4_1"


def read_lines(path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


async def act(rt, who: str, text: str) -> None:
    await rt.ask("campaign/c1", PostAction(text=text), by=player(who))


async def narrate(rt, text: str, **meta) -> None:
    await rt.ask("campaign/c1", PostNarration(text=text, meta=TurnMeta(**meta) if meta else None), by=GM)


async def play_a_session(rt) -> None:
    """Seven narrations: two worth training on, and one of each thing a dataset must leave out."""
    await started(rt)
    await narrate(rt, "Fog lifts from the drowned shrine.", model=MODEL)                     # 1: nobody acted
    await act(rt, "ayla", "I try the door")                                                   # 2
    await trio.sleep(60)
    await act(rt, "bram", "  I watch the treeline  ")                                         # 3
    await trio.sleep(120)
    await narrate(rt, "The door groans open; something stirs in the reeds.", model=MODEL,     # 4: kept
                  tool_calls=(ToolCall(name="roll", arguments={"dice": "1d20+9", "skill": "athletics"},
                                       result="23"),),
                  latency_ms=850.0, prompt_tokens=412, completion_tokens=57)
    await act(rt, "ayla", "I search the altar")                                               # 5
    await narrate(rt, "...", model=MODEL, error="narrator timed out after 30 s")               # 6: error
    await act(rt, "bram", "I light a torch")                                                  # 7
    await narrate(rt, "   ", model=MODEL)                                                     # 8: whitespace only
    await act(rt, "ayla", "I search the altar")                                               # 9
    await narrate(rt, "You find nothing but silt.", model=MODEL)                              # 10: kept
    await act(rt, "ayla", "I search the altar")                                               # 11
    await narrate(rt, "You find nothing but silt.", model=MODEL)                              # 12: duplicate
    await act(rt, "bram", "I wait for the others")                                            # 13
    await trio.sleep(24 * HOUR + 1)                                                           # the server narrates


async def test_export_writes_the_journal_and_a_filtered_chat_dataset(game, store, tmp_path, autojump_clock):
    rt = game
    await play_a_session(rt)
    out = tmp_path / "export"

    summary = export_campaign(store, "c1", out)

    events_path, dataset_path = out / "c1.events.jsonl", out / "c1.dataset.jsonl"
    assert summary == {
        "campaign": "c1", "format": "jsonl", "events": store.last_seq("campaign/c1"), "rolls": 0, "turns": 7,
        "kept": 2,
        "dropped": {"error": 1, "server_template": 1, "empty_response": 1, "no_player_input": 1, "duplicate": 1},
        "paths": {"events": str(events_path), "rolls": str(out / "c1.rolls.jsonl"), "dataset": str(dataset_path)},
    }
    assert sorted(p.name for p in out.iterdir()) == [
        "c1.dataset.jsonl", "c1.events.jsonl", "c1.rolls.jsonl"]  # no temporaries

    events = read_lines(events_path)
    assert [e["seq"] for e in events] == list(range(1, store.last_seq("campaign/c1") + 1))
    assert [e["type"] for e in events[:3]] == ["CampaignCreated", "PlayerJoined", "PlayerJoined"]
    assert all(e["version"] == 1 for e in events)
    created = events[0]
    assert created["data"]["title"] == "The Sunken Crown" and created["time"].startswith("2026-01-01T")
    posted = [e for e in events if e["type"] == "Posted"]
    stall = next(e["data"]["post"] for e in posted if e["data"]["post"]["reason"] == "stalled")
    assert [e["data"]["post"]["n"] for e in posted if e["data"]["post"]["kind"] != "notice"] == [
        *range(1, 14), stall["n"]]
    assert (stall["author"], stall["reason"], stall["meta"]["model"], stall["responds_to"]) == (
        "server", "stalled", "template", [13])
    assert posted[-1]["time"].endswith("Z") and posted[-1]["time"] > created["time"]

    first, second = read_lines(dataset_path)
    system, user, call, result, answer = first["messages"]
    assert system["role"] == "system"
    assert '"The Sunken Crown"' in system["content"] and "pf2e-remaster" in system["content"]
    assert system["content"].endswith("Characters: Ayla (level 3), Bram (level 3).")
    assert "exploration" not in system["content"]
    assert user == {"role": "user", "content": "Ayla: I try the door\nBram: I watch the treeline"}
    assert call == {"role": "assistant", "tool_calls": [{"id": "call_1", "type": "function", "function": {
        "name": "roll", "arguments": '{"dice":"1d20+9","skill":"athletics"}'}}]}
    assert result == {"role": "tool", "tool_call_id": "call_1", "content": "23"}
    assert answer == {"role": "assistant", "content": "The door groans open; something stirs in the reeds."}
    meta = first["meta"]
    assert meta["campaign"] == "c1" and meta["turn"] == 4 and meta["author"] == "gm1"
    assert meta["responds_to"] == [2, 3] and meta["players"] == ["ayla", "bram"]
    assert (meta["model"], meta["tool_calls"], meta["latency_ms"]) == (MODEL, ["roll"], 850.0)
    assert (meta["prompt_tokens"], meta["completion_tokens"], meta["wait_s"]) == (412, 57, 180.0)

    assert [m["role"] for m in second["messages"]] == ["system", "user", "assistant"]
    assert second["messages"][1]["content"] == "Ayla: I search the altar"
    assert second["meta"]["turn"] == 10 and second["meta"]["tool_calls"] == []


async def test_the_export_carries_every_dice_roll_of_the_table(game, store, tmp_path, autojump_clock):
    rt = game
    await started(rt)
    await rt.ask("campaign/c1", RollDice(expression="1d20+9", reason="Athletics"), by=player("ayla"))
    await trio.sleep(90)
    await rt.ask("campaign/c1", RollDice(expression="2d6+1d4-1"), by=GM)
    await rt.ask("campaign/c1", RollDice(expression="d20", reason="Perception", player_id="bram"), by=GM)

    summary = export_campaign(store, "c1", tmp_path)

    rolls = read_lines(tmp_path / "c1.rolls.jsonl")
    assert summary["rolls"] == 3 and summary["paths"]["rolls"] == str(tmp_path / "c1.rolls.jsonl")
    assert [(r["n"], r["by"], r["expression"], r["reason"]) for r in rolls] == [
        (1, "ayla", "1d20+9", "Athletics"), (2, "gm", "2d6+1d4-1", ""), (3, "bram", "d20", "Perception")]
    athletics, damage, _ = rolls
    assert len(athletics["faces"]) == 1 and athletics["total"] == athletics["faces"][0][0] + 9
    assert [len(term) for term in damage["faces"]] == [2, 1]
    assert damage["total"] == sum(damage["faces"][0]) + sum(damage["faces"][1]) - 1
    assert athletics["at"].startswith("2026-01-01T") and athletics["at"].endswith("Z") and damage["at"] > athletics["at"]
    events = {e["seq"]: e for e in read_lines(tmp_path / "c1.events.jsonl")}
    for roll in rolls:                                   # each line is its journal event, with its time
        event = events[roll["seq"]]
        assert event["type"] == "DiceRolled" and event["time"] == roll["at"]
        assert event["data"]["roll"]["faces"] == roll["faces"]


async def test_turns_keep_their_inputs_timing_and_failures(game, store, autojump_clock):
    rt = game
    await play_a_session(rt)

    export = build_export("c1", store.read_journal("campaign/c1"))   # the pure part, straight from the journal

    turns = {turn.n: turn for turn in export.session.turns}
    *played, last = sorted(turns)
    assert played == [1, 4, 6, 8, 10, 12]
    kept = turns[4]
    assert [(a.n, a.player_id, a.character, a.text) for a in kept.actions] == [
        (2, "ayla", "Ayla", "I try the door"), (3, "bram", "Bram", "  I watch the treeline  ")]
    assert kept.wait_s == 180.0 and kept.at - kept.actions[0].at == pytest.approx(180.0)
    assert turns[6].meta.error == "narrator timed out after 30 s" and drop_reason(turns[6]) == "error"
    assert turns[8].response == "   " and drop_reason(turns[8]) == "empty_response"
    assert turns[1].actions == () and turns[1].wait_s is None and drop_reason(turns[1]) == "no_player_input"
    stalled = turns[last]
    assert [a.n for a in stalled.actions] == [13]
    assert stalled.author == "server" and stalled.reason == "stalled" and drop_reason(stalled) == "server_template"
    assert stalled.wait_s == pytest.approx(24 * HOUR + 1, abs=1)
    assert len(export.events) == store.last_seq("campaign/c1")


def turn(response: str = "The door opens.", author: str = "gm1", actions: tuple[str, ...] = ("I push",),
         **meta) -> Turn:
    return Turn(campaign="c1", n=9, seq=9, response=response, author=author, at=100.0, reason=None,
                actions=tuple(PlayerInput(n=i, player_id="ayla", character="Ayla", text=text, at=50.0)
                              for i, text in enumerate(actions, 1)),
                meta=TurnMeta(**meta), characters=(hero("Ayla"),))


@pytest.mark.parametrize(("case", "reason"), [
    (turn(model=MODEL), None),
    (turn(), None),                                               # a human GM: no model, still GM writing
    (turn(response="", author="server", model="template", error="boom"), "error"),   # the first reason counts
    (turn(author="server"), "server_template"),
    (turn(model="template"), "server_template"),
    (turn(response=" \n\t", actions=()), "empty_response"),
    (turn(actions=()), "no_player_input"),
    (turn(actions=("   ",)), "no_player_input"),
])
def test_each_turn_is_dropped_for_its_first_reason(case, reason):
    assert drop_reason(case) == reason
    assert reason is None or reason in DROP_REASONS


async def test_unknown_campaigns_and_formats_are_refused_before_anything_is_written(game, store, tmp_path,
                                                                                  autojump_clock):
    await started(game)
    out = tmp_path / "export"
    with pytest.raises(UnknownCampaign, match="no campaign 'nope'"):
        export_campaign(store, "nope", out)
    with pytest.raises(UnknownCampaign, match="not a campaign id"):
        export_campaign(store, "../c1", out)
    with pytest.raises(UnsupportedFormat, match="unsupported export format 'csv'; this version writes: jsonl"):
        export_campaign(store, "c1", out, fmt="csv")
    assert not out.exists()
    (tmp_path / "file").write_text("x")
    with pytest.raises(ExportError, match="is not a directory"):
        export_campaign(store, "c1", tmp_path / "file")
    assert issubclass(ExportError, ValueError)
    assert export_campaign(store, "c1", out)["kept"] == 0


def test_a_failed_write_leaves_the_old_files_and_no_half_ones(tmp_path):
    old = tmp_path / "c1.events.jsonl"
    old.write_text('{"old": true}\n')
    with pytest.raises(TypeError):
        write_jsonl({old: [{"seq": 1}], tmp_path / "c1.dataset.jsonl": [{"ok": 1}, {"bad": {1, 2}}]})
    assert old.read_text() == '{"old": true}\n'
    assert [p.name for p in tmp_path.iterdir()] == ["c1.events.jsonl"]


def test_a_narrated_turn_is_exported_with_the_narrators_final_text_and_record():
    """The server's narrator settles a pending post later in the journal: the turn carries what it settled."""
    from actors.campaign import CampaignKind
    from actors.campaign.messages import CampaignCreated, PlayerJoined, Posted, PostNarrated
    from actors.campaign.state import Player, Post, Settings

    kind = CampaignKind()
    events = [CampaignCreated(title="T", ruleset="pf2e-remaster", gm="gm1", settings=Settings(), at=0.0),
              PlayerJoined(player=Player(player_id="ayla", character=hero("Ayla"), joined_at=0.0)),
              Posted(post=Post(n=1, kind="action", author="ayla", text="I wait", at=1.0)),
              Posted(post=Post(n=2, kind="narration", author="server", text="Time passes.", at=90000.0,
                               reason="stalled", responds_to=(1,), pending=True)),
              PostNarrated(n=2, text="The rain stops; Ayla hears hooves on the road.", meta=TurnMeta(
                  model="smollm2", outcome="narrated", purpose="stalled", latency_ms=812.0, prompt_tokens=190,
                  completion_tokens=14))]
    export = build_export("c1", [(seq, kind.dump_event(e)) for seq, e in enumerate(events, 1)])
    [turn] = export.session.turns
    assert turn.response == "The rain stops; Ayla hears hooves on the road."
    assert (turn.meta.model, turn.meta.outcome, turn.meta.latency_ms, turn.meta.completion_tokens) == (
        "smollm2", "narrated", 812.0, 14)
    assert drop_reason(turn) == "server_template"  # the server's own words are no GM's to learn from
    assert [line["type"] for line in export.events][-1] == "PostNarrated"
