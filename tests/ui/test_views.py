"""The UI's pure parts: the live state a page keeps, countdowns, gauges, the console's rows."""
from __future__ import annotations

import orjson

from actors import RuntimeConfig, TrioClock, open_runtime
from actors.campaign.behavior import CampaignKind
from actors.campaign.messages import PostAction, RollDice
from actors.campaign.status import span
from actors.strategy import StrategyKind
from actors.strategy.messages import CreateGame, JoinHouse, SubmitOrders
from server.frames import event_body
from ui.console import flatten, storage_text, workers_text
from ui.format import countdown, matches
from ui.gauges import Gauges
from ui.live import LiveActor
from ui.strategy import SeenGame, star_map

from ..campaigns import GM, KINDS, player, started


async def test_a_page_folds_the_stream_into_exactly_the_servers_state(store, autojump_clock):
    async with open_runtime(store, KINDS, clock=TrioClock(), config=RuntimeConfig(lag_interval=None)) as rt:
        await started(rt)
        state, seq = rt.state_of("campaign/c1")
        live = LiveActor(CampaignKind())
        assert not live.apply({"type": "event", "topic": "campaign/c1", "seq": 1, "event": {}})  # before a snapshot
        assert live.apply({"type": "snapshot", "topic": "campaign/c1", "seq": seq,
                           "state": state.model_dump(mode="json")})
        await rt.ask("campaign/c1", PostAction(text="I climb"), by=player("ayla"))
        await rt.ask("campaign/c1", RollDice(expression="1d20+3"), by=GM)
        behavior = CampaignKind()
        for number, stored in rt.store.read_journal("campaign/c1", after=seq):
            message = {"type": "event", "topic": "campaign/c1", "seq": number,
                       "event": event_body(behavior.load_event(stored))}
            assert live.apply(message)
            assert not live.apply(message)                        # a repeat is ignored
        assert live.state == rt.state_of("campaign/c1")[0]
        assert [type(e).__name__ for e in live.take_events()] == ["Posted", "DiceRolled"]
        assert live.take_events() == []


def test_countdowns_tick_by_the_second_and_say_when_overdue():
    assert span(3725, seconds=True) == "1h 02m 05s" and span(90061, seconds=True) == "1d 01h 01m 01s"
    assert span(59, seconds=True) == "59s" and span(600, seconds=True) == "10m 00s"
    assert (span(3725), span(90061), span(59)) == ("1h 2m", "1d 1h", "59s")   # the GM status's wording
    assert countdown(1000.0, 990.4) == "in 9s"
    assert countdown(1000.0, 1130.0) == "overdue by 2m 10s"
    assert countdown(None, 0.0) == "—"


def test_gauges_turn_counters_into_rates_and_forget_old_samples():
    gauges = Gauges(window_s=60)
    base = {"active": 3, "passivated": 1, "loop_lag_ms": 2.0, "websocket_clients": 1}
    gauges.add(0.0, {**base, "commit_batches": 0, "commit_writes": 0})
    gauges.add(2.0, {**base, "commit_batches": 40, "commit_writes": 10})
    gauges.add(2.0, {**base, "commit_batches": 99, "commit_writes": 99})  # not later: ignored
    points = gauges.points()
    assert points == [{"t": 0.0, "loop_lag_ms": 2.0, "active": 3, "passivated": 1, "appends_per_s": 20.0,
                       "group_size": 4.0, "websocket_clients": 1}]
    gauges.add(100.0, {**base, "commit_batches": 40, "commit_writes": 10})
    assert len(gauges.samples) == 1 and gauges.points() == []
    assert gauges.chart("appends_per_s")["series"][0]["data"] == []


def test_the_console_lists_children_under_parents_and_stopped_actors_last():
    node = {"address": "campaign/c1", "kind": "campaign", "status": "running", "handle_ms_p50": 0.123,
            "handle_ms_p99": None, "last_error": None}
    child = {**node, "address": "combat/c1.1", "kind": "combat", "last_error": "ZeroDivisionError"}
    tree = {"children": [{"kind": "campaign", "children": [{**node, "children": [{**child, "children": []}]}]}],
            "stopped": ["campaign/c9"]}
    rows = flatten(tree)
    assert [r["address"] for r in rows] == ["campaign/c1", "combat/c1.1", "campaign/c9"]
    assert rows[1]["label"] == "\u2003combat/c1.1" and rows[0]["handle_ms_p50"] == 0.12
    assert rows[2]["status"] == "stopped"
    assert [r["address"] for r in rows if matches(r, "zerodiv", None)] == ["combat/c1.1"]
    assert [r["address"] for r in rows if matches(r, "", "stopped")] == ["campaign/c9"]


def test_the_tracker_shows_the_order_the_turn_and_each_fighters_state():
    from actors.combat.state import Combatant, Encounter, Fighter, Stats, StrikeStat
    from ui.encounter import tracker_rows, zones

    stats = Stats(level=1, max_hp=20, ac=15, fortitude=3, reflex=3, will=3, perception=3,
                  strikes=(StrikeStat(name="claw", attack=5, damage="1d4", agile=True),))
    state = Encounter(begun=True, round=1, turn=1, current="a", combatants={
        "a": Combatant(cid="a", name="Ayla", initiative=20, player_id="a", stats=stats),
        "g": Combatant(cid="g", name="Gob", initiative=20, stats=stats),
        "n": Combatant(cid="n", name="Voice", initiative=5)},
        fighters={"a": Fighter(hp=12, zone="melee", actions=2, attacks=1, conditions={"frightened": 2,
                                                                                      "off_guard": 1}),
                  "g": Fighter(hp=0, zone="melee", dead=True)})
    rows = tracker_rows(state)
    assert [r["cid"] for r in rows] == ["a", "n"]                          # the dead leave the order
    ayla = rows[0]
    assert (ayla["current"], ayla["hp"], ayla["actions"], ayla["next_map"]) == (True, "12/20", 2, -4)  # agile
    assert ayla["conditions"] == "frightened 2, off_guard" and rows[1]["hp"] is None
    assert zones(state) == {"melee": ["Ayla"]}


async def test_the_strategy_page_keeps_a_players_game_from_projected_frames_alone(game, autojump_clock):
    rt, address = game, "strategy/s1"
    gm, ann = {"token_id": "gm", "role": "gm", "campaign": "s1"}, {"token_id": "t-ann", "role": "player",
                                                                    "campaign": "s1", "character": "ann"}
    await rt.ask(address, CreateGame(rings=3, houses=3, seed=5), by=gm)
    kind, (state, seq) = rt.behavior_of(address), rt.state_of(address)
    mine, whole = SeenGame(StrategyKind()), SeenGame(StrategyKind())
    assert mine.apply({"type": "snapshot", "topic": address, "seq": seq, "state": kind.project_state(state, ann)})
    assert whole.apply({"type": "snapshot", "topic": address, "seq": seq, "state": state.model_dump(mode="json")})
    assert mine.seen["house"] is None and mine.seen["view"]["visible"] == []   # not seated: the public view
    await rt.ask(address, JoinHouse(), by=ann)
    await rt.ask(address, SubmitOrders(turn=1, orders=[{"kind": "set_tax", "amount": 35}]), by=ann)
    for number, stored in rt.store.read_journal(address, after=seq):
        event = kind.load_event(stored)
        state = kind.evolve(state, event)
        frame = {"type": "event", "topic": address, "seq": number,
                 "event": event_body(event, kind.project_event(state, event, ann))}
        assert mine.apply(frame) and not mine.apply(frame)                    # a repeat is ignored
        assert whole.apply({**frame, "event": event_body(event)})
    assert mine.seen == orjson.loads(orjson.dumps(kind.project_state(rt.state_of(address)[0], ann)))
    assert mine.seen["house"] == 0 and mine.seen["turn"] == 2 and mine.whole is None
    assert all("treasury" not in h for h in mine.seen["view"]["houses"][1:])
    assert all("treasury" in h for h in whole.seen["view"]["houses"]) and whole.whole == rt.state_of(address)[0]
    chart = star_map(mine.seen["map"], mine.seen["view"])["series"][0]
    hidden = [n for n in chart["data"] if int(n["name"]) not in mine.seen["view"]["visible"]]
    assert len(chart["data"]) == 37 and hidden and all(not n["label"]["show"] for n in hidden)


def test_a_jobs_progress_becomes_plots_and_its_evaluation_a_table():
    from ui.training import evaluation_rows, model_rows, progress_charts, start_data

    history = [{"step": 5, "loss": 3.9, "lr": 0.003, "samples_per_s": 900.0, "selfplay": None},
               {"step": 10, "loss": 2.7, "lr": 0.002, "samples_per_s": 1100.0, "selfplay": None},
               {"step": 12, "loss": -0.01, "lr": 0.001, "samples_per_s": 200.0, "selfplay": {"games": 4, "won": 1}}]
    charts = progress_charts(history)
    cloning, playing, rates = (s["data"] for s in charts["loss"]["series"])
    assert cloning == [[5, 3.9], [10, 2.7]] and playing == [[12, -0.01]] and rates[-1] == [12, 0.001]
    assert charts["loss"]["series"][2]["yAxisIndex"] == 1                   # the rate on its own axis
    assert charts["throughput"]["series"][0]["data"][0] == [5, 900.0]
    assert charts["selfplay"]["series"][0]["data"] == [[12, 0.25]]
    assert all(s["data"] == [] for chart in progress_charts([]).values() for s in chart["series"])

    vs = {"balanced": {"won": 3, "played": 4, "share": 0.75, "ci95": [0.3006, 0.9544]}}
    assert evaluation_rows({"vs": vs}) == [{"personality": "balanced", "won": 3, "played": 4, "share": "75%",
                                            "ci95": "30%–95%"}]
    assert evaluation_rows(None) == []
    rows, personalities = model_rows([
        {"name": "duke", "version": 1, "evaluation": {"vs": vs}, "deployed": True, "playable": True,
         "gate": {"passed": True, "against": "balanced", "won": 12, "lost": 6, "drawn": 2}},
        {"name": "duke", "version": 2, "deployed": False}])
    assert personalities == ["balanced"]
    assert rows[0]["vs_balanced"] == "75% (30%–95%)" and rows[0]["gate"] == "passed vs balanced (12–6–2)"
    assert (rows[1]["gate"], rows[1]["playable"], rows[1]["deployed"]) == ("not tried", "no", "")

    form = {"data": " runs.jsonl ", "name": "duke", "steps": 24.0, "minutes": None, "lr": 0.01, "hidden": 32.0,
            "layers": None, "seed": ""}
    assert start_data(form) == {"data": "runs.jsonl", "name": "duke", "steps": 24, "lr": 0.01, "model": {"hidden": 32}}


def test_the_console_header_names_worker_crashes_and_timeouts_once_there_are_any():
    assert workers_text({"worker_crashes": 0, "worker_timeouts": 0}) == ""
    assert workers_text({"worker_crashes": 2, "worker_timeouts": 1}) == (
        " · worker processes: 2 crashed, 1 killed past their time limit")


def test_the_console_banner_says_why_writes_are_refused_and_that_it_recovers_by_itself():
    assert storage_text({"storage": {"state": "ok"}}, 0.0) == ""
    since = 1_767_225_600.0
    degraded = {"state": "degraded", "code": "storage/full", "what": "the disk is full", "since": since, "refused": 7,
                "next_attempt_in_s": 4.2, "cause": "IO error: No space left on device"}
    text = storage_text({"storage": degraded}, since + 600)
    assert text.startswith("Storage degraded since ") and "(10 min): the disk is full" in text
    assert "No space left on device" in text and "Writes are refused (7 so far)" in text
    assert "next attempt in 4 s" in text and "docs/operations.md" in text


def test_corrupt_actors_are_rows_of_the_tree_that_point_to_verify():
    rows = flatten({"children": [], "stopped": [], "corrupt": ["ledger/c"]})
    assert [(row["address"], row["status"]) for row in rows] == [("ledger/c", "corrupt")]
    assert "everturn verify" in rows[0]["last_error"]
