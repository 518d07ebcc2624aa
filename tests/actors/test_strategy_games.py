"""Hosted strategy games on the real runtime and RocksDB, time from trio's MockClock: turns
resolve when every present player has ordered or at the deadline; the AI covers the absent,
a learned player from the policy worker process (crashed: the balanced AI)."""
from __future__ import annotations

import os
import signal
from contextlib import asynccontextmanager
from datetime import datetime, timezone
from pathlib import Path

import orjson
import pytest
import trio
import trio.testing

from actors import Context, Forbidden, Published, Rejected, TimerFired
from actors.strategy import StrategyKind, fog
from actors.strategy.behavior import POLICY_LIMIT_S, POLICY_TIMER_S
from actors.strategy.messages import (
    CreateGame, GameCreated, JoinHouse, PolicyAsked, PolicyFellBack, SubmitOrders, TurnResolved,
)
from engine_ext.strategy_ai import orders as ai_orders
from engine_ext.strategy_orders import Order, compact
from engine_ext.strategy_state import new_game
from snapshots import Store

from ..training.hand_made import gated_registry
from training.hosted import RegistryPolicies

GM = {"token_id": "gm1", "role": "gm", "campaign": "g1"}
DAY = 24 * 3600.0
T0 = 1_767_225_600.0  # 2026-01-01T00:00:00Z


def player(name: str) -> dict:
    return {"token_id": f"tok-{name}", "role": "player", "campaign": "g1", "character": name}


def board(rt):
    return rt.state_of("strategy/g1")[0]


async def seated(rt, names=("ann", "bob"), **create) -> None:
    await rt.ask("strategy/g1", CreateGame(rings=3, houses=3, seed=11, turn_deadline_s=DAY, **create), by=GM)
    for name in names:
        await rt.ask("strategy/g1", JoinHouse(), by=player(name))


def tax(rate: int) -> list[dict]:
    return [{"kind": "set_tax", "amount": rate}]


async def test_a_turn_resolves_once_every_present_player_has_ordered(game, autojump_clock):
    rt = game
    await seated(rt)
    state = board(rt)
    assert [(s.house, s.player) for s in state.seats] == [(0, "ann"), (1, "bob"), (2, None)]
    assert state.turn == 1 and state.waiting_for() == [0, 1]
    await rt.ask("strategy/g1", SubmitOrders(turn=1, orders=tax(40)), by=player("ann"))
    assert board(rt).turn == 1 and board(rt).waiting_for() == [1]           # bob still thinking
    await rt.ask("strategy/g1", SubmitOrders(turn=1, orders=tax(30)), by=player("bob"))
    state = board(rt)
    assert state.turn == 2 and state.submitted == {}                      # house 2 was the AI's: no waiting
    assert [h["tax"] for h in state.board["houses"]][:2] == [40, 30]
    with pytest.raises(Rejected) as info:
        await rt.ask("strategy/g1", SubmitOrders(turn=1, orders=tax(10)), by=player("ann"))
    assert info.value.code == "strategy/turn_moved" and info.value.details == {"turn": 2}


async def test_an_absent_player_never_blocks_a_turn_and_goes_on_autopilot(game, autojump_clock):
    rt = game
    await seated(rt)
    for turn in (1, 2, 3):                                                # bob never orders
        await rt.ask("strategy/g1", SubmitOrders(turn=turn, orders=tax(45)), by=player("ann"))
        await trio.sleep(DAY - 10)
        assert board(rt).turn == turn                                     # waiting for bob, up to the deadline
        await trio.sleep(11)
        assert board(rt).turn == turn + 1                                 # the deadline resolved it
    bob = board(rt).seats[1]
    assert bob.missed == 3 and bob.autopilot
    await rt.ask("strategy/g1", SubmitOrders(turn=4, orders=tax(45)), by=player("ann"))
    assert board(rt).turn == 5                                             # bob no longer holds anything up
    await rt.ask("strategy/g1", SubmitOrders(turn=5, orders=tax(20)), by=player("bob"))
    assert not board(rt).seats[1].autopilot                                # back: his orders count again
    await rt.ask("strategy/g1", SubmitOrders(turn=5, orders=tax(45)), by=player("ann"))
    assert board(rt).turn == 6 and board(rt).board["houses"][1]["tax"] == 20


async def test_bad_orders_are_refused_all_at_once_and_nothing_is_submitted(game, autojump_clock):
    rt = game
    await seated(rt)
    home = board(rt).board["colonies"]
    before = board(rt)
    with pytest.raises(Rejected) as info:
        await rt.ask("strategy/g1", SubmitOrders(turn=1, orders=[
            {"kind": "set_tax", "amount": 40}, {"kind": "move", "fleet": 999, "system": 0},
            {"kind": "build", "system": int(next(iter(home))), "ship": "dreadnought"}]), by=player("ann"))
    assert info.value.code == "strategy/invalid_orders"
    assert [(d["index"], d["code"]) for d in info.value.details] == [(1, "strategy/no_such_fleet"),
                                                                    (2, "strategy/tech_too_low")]
    assert board(rt) == before
    for command, by, code in [(SubmitOrders(turn=1, orders=[]), player("zed"), "strategy/not_seated"),
                              (JoinHouse(house=0), player("cat"), "strategy/house_taken"),
                              (JoinHouse(), player("ann"), "strategy/already_seated"),
                              (CreateGame(), GM, "strategy/exists"), (CreateGame(), player("ann"), "strategy/gm_only")]:
        with pytest.raises((Rejected, Forbidden)) as info:
            await rt.ask("strategy/g1", command, by=by)
        assert info.value.code == code


async def test_a_played_game_replays_to_the_same_board(game, autojump_clock):
    rt = game
    await seated(rt, names=("ann",))
    for turn in range(1, 6):
        await rt.ask("strategy/g1", SubmitOrders(turn=turn, orders=tax(35)), by=player("ann"))
    before = board(rt)
    assert before.turn == 6
    await rt.restart("strategy/g1")
    assert board(rt) == before


def fold_journal(rt, viewer) -> None:
    """Folding each projected event into the projected snapshot gives the projection of the state after it."""
    kind = rt.behavior_of("strategy/g1")
    state = kind.initial("strategy/g1")
    seen = wire(fog.project_state(state, viewer))
    for _, stored in rt.store.read_journal("strategy/g1"):
        event = kind.load_event(stored)
        state = kind.evolve(state, event)
        seen = fog.fold(seen, type(event).__name__, wire(fog.project_event(state, event, viewer)))
        assert seen == wire(fog.project_state(state, viewer)), type(event).__name__


def wire(body):
    return orjson.loads(orjson.dumps(body))


async def test_a_player_sees_the_game_through_its_house_fog_of_war(game, autojump_clock):
    rt = game
    await seated(rt)
    kind = rt.behavior_of("strategy/g1")
    await rt.ask("strategy/g1", SubmitOrders(turn=1, orders=tax(30)), by=player("bob"))
    state = board(rt)
    assert not kind.projects(GM) and not kind.projects({"token_id": "op", "role": "operator"})
    assert kind.projects(player("ann")) and kind.projects(player("cat"))
    ann = kind.project_state(state, player("ann"))
    assert "board" not in ann and "seed" not in ann and ann["house"] == 0
    assert ann["ordered"] == [1] and ann["submitted"] == {}                 # bob has ordered; what, ann can't see
    bob_fleets = [f for f in state.board["fleets"].values() if f["owner"] == 1]
    assert bob_fleets and not any(f["owner"] == 1 for f in ann["view"]["fleets"])   # far from ann's sight
    assert {f["system"] for f in bob_fleets}.isdisjoint(ann["view"]["visible"])
    assert "treasury" in ann["view"]["houses"][0] and "treasury" not in ann["view"]["houses"][1]
    assert ann["view"]["houses"][1] == {"hid": 1, "prestige": 100, "alive": True}
    assert kind.project_state(state, player("bob"))["submitted"] == {"1": tax(30)}
    cat = kind.project_state(state, player("cat"))                         # reaches the game, holds no house
    assert cat["house"] is None and cat["view"]["fleets"] == [] and cat["view"]["colonies"] == []
    assert all(set(h) == {"hid", "prestige", "alive"} for h in cat["view"]["houses"])

    await rt.ask("strategy/g1", SubmitOrders(turn=1, orders=tax(40)), by=player("ann"))
    journal = [kind.load_event(stored) for _, stored in rt.store.read_journal("strategy/g1")]
    bob_ordered, resolved = journal[-3], journal[-1]
    assert kind.project_event(board(rt), bob_ordered, player("ann")) == {"house": 1, "turn": 1}
    seen = kind.project_event(board(rt), resolved, player("ann"))
    assert set(resolved.orders) == {0, 1, 2} and seen["orders"] == {"0": tax(40)}   # not bob's, nor the AI's
    assert seen["view"]["turn"] == 2 and seen["autopilot"] == [2]
    assert kind.project_event(board(rt), resolved, GM)["orders"].keys() == {"0", "1", "2"}


async def test_each_reader_follows_the_game_from_projected_events_alone(game, autojump_clock):
    rt = game
    await seated(rt)
    for turn in (1, 2, 3):
        await rt.ask("strategy/g1", SubmitOrders(turn=turn, orders=tax(45)), by=player("ann"))
        await trio.sleep(DAY + 1)                                          # bob never orders: the deadline resolves
    for turn in range(4, 10):
        await rt.ask("strategy/g1", SubmitOrders(turn=turn, orders=tax(20)), by=player("bob"))
        await rt.ask("strategy/g1", SubmitOrders(turn=turn, orders=tax(45)), by=player("ann"))
    await rt.ask("strategy/g1", SubmitOrders(turn=10, orders=tax(20)), by=player("bob"))
    for viewer in (player("ann"), player("bob"), player("cat"), GM):
        fold_journal(rt, viewer)


async def test_the_state_after_any_event_is_rebuilt_from_storage(game, autojump_clock):
    rt = game
    await seated(rt)
    for turn in range(1, 9):                                               # past the kind's snapshot (20 events)
        await rt.ask("strategy/g1", SubmitOrders(turn=turn, orders=tax(20)), by=player("bob"))
        await rt.ask("strategy/g1", SubmitOrders(turn=turn, orders=tax(45)), by=player("ann"))
    kind, head = rt.behavior_of("strategy/g1"), board(rt)
    snapshots = [seq for seq, _ in rt.store.snapshots_raw("strategy/g1")]
    assert len(snapshots) == 1 and 20 <= snapshots[0] < 27                  # events before it replay from the start
    state = kind.initial("strategy/g1")
    assert rt.state_at("strategy/g1", 0) == (state, 0)
    for seq, stored in rt.store.read_journal("strategy/g1"):
        state = kind.evolve(state, kind.load_event(stored))
        assert rt.state_at("strategy/g1", seq) == (state, seq)
    assert state == head and rt.state_at("strategy/g1", seq + 5) == (head, seq)   # past the head: the head


async def test_a_game_without_a_seed_gets_a_random_one_no_player_sees(game, autojump_clock):
    rt = game
    gm2 = {**GM, "campaign": "g2"}
    await rt.ask("strategy/g1", CreateGame(rings=2, houses=2), by=GM)
    await rt.ask("strategy/g2", CreateGame(rings=2, houses=2), by=gm2)
    first, second = rt.state_of("strategy/g1")[0].seed, rt.state_of("strategy/g2")[0].seed
    assert first != second  # drawn as each command arrived, not derived from anything a player knows
    await rt.ask("strategy/g1", JoinHouse(), by=player("ann"))
    seen = fog.project_state(rt.state_of("strategy/g1")[0], player("ann"))
    assert str(first) not in orjson.dumps(seen).decode()


@pytest.fixture
def still_clock() -> trio.testing.MockClock:
    """Time moves only when the test says (a worker process computes meanwhile: an autojumping clock would
    race through every periodic task while it does)."""
    return trio.testing.MockClock()


@asynccontextmanager
async def learned_game(tmp_path, clock, personalities=("balanced", "policy:duke@1")):
    """A runtime whose game ``g1`` seats ann at house 0 beside the given personalities; the registry's duke
    v1 (the settler) is deployed and v2 (the idler) was refused by the gate."""
    from actors import RuntimeConfig, TrioClock, open_runtime
    from actors.strategy import StrategyKind

    store = Store.open(tmp_path / "data")
    try:
        async with open_runtime(store, [StrategyKind(tmp_path / "models", RegistryPolicies(tmp_path / "models"))], clock=TrioClock(),
                                config=RuntimeConfig(lag_interval=None)) as rt:
            if not rt.state_of("strategy/g1")[0].created:
                await rt.ask("strategy/g1", CreateGame(rings=3, houses=2, seed=4, turn_deadline_s=DAY,
                                                       personalities=personalities), by=GM)
                await rt.ask("strategy/g1", JoinHouse(house=0), by=player("ann"))
            yield rt
    finally:
        store.close()


async def journaled(rt, kind: str) -> dict:
    """The first event of type ``kind`` in game g1's journal (waiting for it on the game's stream): its data."""
    async with rt.subscribe("strategy/g1", since=0) as items:
        async for item in items:
            if isinstance(item, Published) and type(item.event).__name__ == kind:
                return item.event.model_dump()
    raise AssertionError("the game's stream ended")


def policy_pool(rt):
    return next(pool for pool in rt.workers.statistics() if pool.name == "policy")


def stored_journal(tmp_path) -> list[str]:
    store = Store.open(tmp_path / "data")
    try:
        return [stored["t"] for _, stored in store.read_journal("strategy/g1")]
    finally:
        store.close()


def orders_of(resolved: dict, house: int) -> list[Order]:
    return [Order(**o) for o in resolved["orders"][house]]


def meta_held(models) -> tuple[Path, Path]:
    """duke v1's meta.json replaced by a FIFO: a worker that reads it blocks until the test opens the other
    end, which tells the test the worker is inside the call.  Returns (the FIFO, the real file)."""
    meta = models / "duke" / "v1" / "meta.json"
    kept = meta.with_name("meta.kept")
    meta.rename(kept)
    os.mkfifo(meta)
    return meta, kept


async def test_a_deployed_learned_policy_plays_an_absent_house_from_the_policy_worker(tmp_path, still_clock):
    registry = gated_registry(tmp_path / "models")   # v1 deployed, v2 refused by the gate
    async with learned_game(tmp_path, still_clock) as rt:
        with pytest.raises(Rejected) as refused:
            await rt.ask("strategy/g2", CreateGame(rings=3, houses=2, personalities=("policy:duke@2",)),
                         by={**GM, "campaign": "g2"})
        assert refused.value.code == "strategy/no_such_policy" and "never passed" in refused.value.message
        await rt.ask("strategy/g1", SubmitOrders(turn=1, orders=tax(40)), by=player("ann"))
        asked = await journaled(rt, "PolicyAsked")
        assert asked["turn"] == 1 and asked["houses"] == (1,)
        with pytest.raises(Rejected) as resolving:                  # the turn is resolving: no more orders for it
            await rt.ask("strategy/g1", SubmitOrders(turn=1, orders=tax(10)), by=player("ann"))
        assert resolving.value.code == "strategy/turn_resolving"
        resolved = await journaled(rt, "TurnResolved")
        policy = policy_pool(rt)
        assert (policy.name, policy.calls, policy.crashes) == ("policy", 1, 0)
        assert board(rt).turn == 2 and board(rt).asking == ()
        journal = [stored["t"] for _, stored in rt.store.read_journal("strategy/g1")]
    assert journal[-3:] == ["OrdersSubmitted", "PolicyAsked", "TurnResolved"]
    expected = registry.player("policy:duke@1")(new_game(3, 2, 4), 1)
    assert orders_of(resolved, 1) == expected and resolved["autopilot"] == (1,)
    assert any(o.kind == "build" and o.ship == "colony_ship" for o in expected)   # the settler's, not balanced's


async def test_a_crashed_policy_worker_leaves_the_turn_to_the_balanced_ai(tmp_path, still_clock):
    gated_registry(tmp_path / "models")
    async with learned_game(tmp_path, still_clock) as rt:
        fifo, _ = meta_held(tmp_path / "models")
        still_clock.jump(DAY + 1)                                   # nobody ordered: the deadline resolves the turn
        held = await trio.to_thread.run_sync(open, fifo, "wb")      # returns once the worker reads the meta
        [pid] = rt.workers.pids("policy")
        os.kill(pid, signal.SIGSEGV)
        fell_back = await journaled(rt, "PolicyFellBack")
        resolved = await journaled(rt, "TurnResolved")
        held.close()
        policy = policy_pool(rt)
    assert fell_back["houses"] == (1,) and "crashed (killed by SIGSEGV)" in fell_back["error"]
    assert policy.crashes == 1
    balanced = [Order(**compact(o)) for o in ai_orders(new_game(3, 2, 4), 1, "balanced")]
    assert orders_of(resolved, 1) == balanced and resolved["autopilot"] == (0, 1)


async def test_a_policy_worker_that_stops_answering_is_killed_and_the_balanced_ai_plays(tmp_path, still_clock):
    gated_registry(tmp_path / "models")
    async with learned_game(tmp_path, still_clock) as rt:
        fifo, _ = meta_held(tmp_path / "models")
        await rt.ask("strategy/g1", SubmitOrders(turn=1, orders=tax(40)), by=player("ann"))
        held = await trio.to_thread.run_sync(open, fifo, "wb")      # returns once the worker reads the meta
        [hung] = rt.workers.pids("policy")
        os.kill(hung, signal.SIGSTOP)                               # alive, and never answering
        still_clock.jump(POLICY_LIMIT_S - 1)
        await trio.testing.wait_all_tasks_blocked()
        assert board(rt).asking == (1,)                             # within the limit: the turn still waits
        still_clock.jump(1)
        fell_back = await journaled(rt, "PolicyFellBack")
        resolved = await journaled(rt, "TurnResolved")
        held.close()
        policy = policy_pool(rt)
        assert board(rt).turn == 2 and hung not in rt.workers.pids("policy")
        timers = [(t.name, t.due_ms) for t in rt.store.timers_of("strategy/g1")]
    assert fell_back["houses"] == (1,) and fell_back["error"] == (
        f"WorkerTimeout: the policy worker process {hung} did not answer within 30 s while it ran orders; "
        "it was killed")
    assert (policy.timeouts, policy.crashes) == (1, 0)
    balanced = [Order(**compact(o)) for o in ai_orders(new_game(3, 2, 4), 1, "balanced")]
    assert orders_of(resolved, 1) == balanced and resolved["autopilot"] == (1,)
    assert [name for name, _ in timers] == ["turn"]                 # the lost-request timer went with the turn


async def test_a_game_resolving_when_the_server_stopped_asks_its_learned_players_again(tmp_path, still_clock):
    registry = gated_registry(tmp_path / "models")
    async with learned_game(tmp_path, still_clock) as rt:
        fifo, kept = meta_held(tmp_path / "models")
        await rt.ask("strategy/g1", SubmitOrders(turn=1, orders=tax(40)), by=player("ann"))
        held = await trio.to_thread.run_sync(open, fifo, "wb")      # the worker is inside the call: stop now
    held.close()
    fifo.unlink()
    kept.rename(fifo)
    assert stored_journal(tmp_path)[-1] == "PolicyAsked"
    async with learned_game(tmp_path, still_clock) as rt:
        await trio.testing.wait_all_tasks_blocked()
        assert rt.tree()["active"] == 0                             # nothing woke at start, not even this game
        still_clock.jump(POLICY_TIMER_S)                            # its policy timer: the request was lost
        resolved = await journaled(rt, "TurnResolved")
    assert stored_journal(tmp_path)[-4:] == ["OrdersSubmitted", "PolicyAsked", "PolicyAsked", "TurnResolved"]
    assert orders_of(resolved, 1) == registry.player("policy:duke@1")(new_game(3, 2, 4), 1)


def test_a_lost_policy_request_is_asked_again_once_then_the_balanced_ai_plays():
    """The policy timer's decisions, given the journal so far (no runtime: decide alone)."""
    kind = StrategyKind("models", RegistryPolicies(Path("models")))
    created = GameCreated(rings=3, turn_limit=100, seed=4, turn_deadline_s=DAY, at=T0,
                          personalities=("balanced", "policy:duke@1"))
    asked = PolicyAsked(turn=1, houses=(1,), at=T0 + DAY)
    due = T0 + DAY + POLICY_TIMER_S

    def fired(journal, at):
        state = kind.replay(kind.initial("strategy/g1"), journal)
        timer = TimerFired(name="policy", id="t", due=datetime.fromtimestamp(due, tz=timezone.utc))
        return kind.decide(state, timer, Context("strategy/g1", len(journal),
                                                 datetime.fromtimestamp(at, tz=timezone.utc)))

    early = fired([created, asked], due - 1)                        # not yet due: wait on (and keep the timer)
    assert early.events == [] and early.work == [] and [t.name for t in early.timers] == ["policy"]
    again = fired([created, asked], due)                            # the first request was lost: ask once more
    assert [type(e).__name__ for e in again.events] == ["PolicyAsked"]
    [work] = again.work
    assert (work.pool, work.timeout_s) == ("policy", POLICY_LIMIT_S)
    [timer] = again.timers
    assert (timer.name, timer.at.timestamp()) == ("policy", due + POLICY_TIMER_S)
    last = fired([created, asked, again.events[0]], due + POLICY_TIMER_S)   # lost again: no third request
    fell_back, resolved = last.events
    assert isinstance(fell_back, PolicyFellBack) and fell_back.houses == (1,) and "asked 2 times" in fell_back.error
    assert isinstance(resolved, TurnResolved) and resolved.autopilot == (0, 1) and last.work == []
    assert [t.name for t in last.timers] == ["turn"]
    resolved_state = kind.replay(kind.initial("strategy/g1"), [created, asked, again.events[0], *last.events])
    assert resolved_state.asks == 0 and resolved_state.turn == 2
    late = fired([created, asked, again.events[0], *last.events], due + 2 * POLICY_TIMER_S)   # a timer delivered again
    assert late.events == [] and late.work == []


def test_a_server_without_learned_players_lets_the_balanced_ai_play_a_stored_learned_house():
    kind = StrategyKind("models")  # no policies given (not the server's composition)
    created = GameCreated(rings=3, turn_limit=100, seed=4, turn_deadline_s=DAY, at=T0,
                          personalities=("balanced", "policy:duke@1"))
    state = kind.replay(kind.initial("strategy/g1"), [created])
    timer = TimerFired(name="turn", id="t", due=datetime.fromtimestamp(T0 + DAY, tz=timezone.utc))
    decision = kind.decide(state, timer, Context("strategy/g1", 1, datetime.fromtimestamp(T0 + DAY, tz=timezone.utc)))
    assert decision.work == [] and any(isinstance(e, TurnResolved) for e in decision.events)
    fell = [e for e in decision.events if isinstance(e, PolicyFellBack)]
    assert fell and "offers no learned players" in fell[0].error
