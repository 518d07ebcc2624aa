"""Hosted strategy games on the real runtime and RocksDB, time from trio's MockClock: turns
resolve when every present player has ordered or at the deadline; the AI covers the absent."""
from __future__ import annotations

import pytest
import trio

from actors import Forbidden, Rejected
from actors.strategy.messages import CreateGame, JoinHouse, SubmitOrders

GM = {"token_id": "gm1", "role": "gm", "campaign": "g1"}
DAY = 24 * 3600.0


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
