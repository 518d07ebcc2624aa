"""Durable timers: due ones fire in order, survive passivation and restarts, cancel by name."""
from __future__ import annotations

import pytest
import trio
import trio.testing

from actors import ActorHalted, RuntimeConfig, TrioClock, VirtualClock, open_runtime
from snapshots import Store

from ..kinds import Add, Forget, LedgerKind, Remind

KINDS = [LedgerKind()]


def config(**overrides) -> RuntimeConfig:
    return RuntimeConfig(lag_interval=None, **overrides)


async def test_timer_fires_at_its_due_time_and_is_then_gone(store, autojump_clock):
    async with open_runtime(store, KINDS, clock=TrioClock(), config=config()) as rt:
        await rt.ask("ledger/a", Remind(name="turn", after_s=3600, note="skip"))
        assert [t.name for t in store.timers_of("ledger/a")] == ["turn"]
        await trio.sleep(3599)
        assert rt.state_of("ledger/a")[0].reminders == ()
        await trio.sleep(2)
        assert rt.state_of("ledger/a")[0].reminders == ("turn",)
        assert store.timers_of("ledger/a") == []
        assert rt.timers.pending == 0


async def test_the_figures_count_the_timers_stored_beside_those_firing(store, autojump_clock):
    async with open_runtime(store, KINDS, clock=TrioClock(), config=config(idle_passivate=60)) as rt:
        assert rt.figures()["timers_stored"] == 0
        await rt.ask("ledger/a", Remind(name="turn", after_s=3600))
        await rt.ask("ledger/a", Remind(name="deadline", after_s=86_400))
        await rt.ask("ledger/b", Remind(name="stall", after_s=7200))
        await rt.ask("ledger/a", Remind(name="turn", after_s=1800))       # rescheduled: still one timer
        await trio.sleep(120)                                              # both passivated: their timers remain
        figures = rt.figures()
        assert figures["active"] == 0
        assert (figures["timers_stored"], figures["timers_pending"]) == (3, 0)
        await trio.sleep(1800)
        assert rt.state_of("ledger/a")[0].reminders == ("turn",)
        assert rt.figures()["timers_stored"] == store.timer_count() == 2


async def test_exactly_the_due_timers_fire_in_due_order(store, autojump_clock):
    async with open_runtime(store, KINDS, clock=TrioClock(), config=config()) as rt:
        dues = {"e": 50, "a": 10, "d": 40, "b": 20, "late": 500, "c": 30}
        for name, after in dues.items():
            await rt.ask("ledger/a", Remind(name=name, after_s=after))
        await rt.ask("ledger/b", Remind(name="b-late", after_s=100))
        await rt.ask("ledger/b", Remind(name="b-early", after_s=45))
        await trio.sleep(60)
        assert rt.state_of("ledger/a")[0].reminders == ("a", "b", "c", "d", "e")
        assert rt.state_of("ledger/b")[0].reminders == ("b-early",)
        assert {t.name for t in store.timers_of("ledger/a")} == {"late"}


async def test_cancel_and_reschedule_by_name(store, autojump_clock):
    async with open_runtime(store, KINDS, clock=TrioClock(), config=config()) as rt:
        await rt.ask("ledger/a", Remind(name="x", after_s=10))
        await rt.ask("ledger/a", Remind(name="y", after_s=10))
        await rt.ask("ledger/a", Forget(name="x"))
        await rt.ask("ledger/a", Remind(name="y", after_s=100))   # reschedule replaces
        await trio.sleep(50)
        assert rt.state_of("ledger/a")[0].reminders == ()
        await trio.sleep(60)
        assert rt.state_of("ledger/a")[0].reminders == ("y",)


async def test_timer_wakes_a_passivated_actor(store, autojump_clock):
    async with open_runtime(store, KINDS, clock=TrioClock(), config=config(idle_passivate=60)) as rt:
        await rt.ask("ledger/a", Add(amount=1))
        await rt.ask("ledger/a", Remind(name="deadline", after_s=4 * 3600))
        await trio.sleep(120)
        assert "ledger/a" not in rt.cells
        await trio.sleep(4 * 3600)
        # woke, handled the timer, went idle again: the journal shows it
        events = [stored["t"] for _, stored in store.read_journal("ledger/a")]
        assert events == ["Added", "Reminded"]
        assert rt.activations == 2


async def test_timers_survive_a_restart_and_fire_when_it_comes_back_late(tmp_path, autojump_clock):
    clock = VirtualClock()
    store = Store.open(tmp_path / "d")
    async with open_runtime(store, KINDS, clock=clock, config=config()) as rt:
        await rt.ask("ledger/a", Remind(name="one", after_s=100))
        await rt.ask("ledger/a", Remind(name="two", after_s=200))
        await rt.ask("ledger/a", Remind(name="three", after_s=300))
    store.close()

    clock.advance(250)   # the server was down past two due times
    store = Store.open(tmp_path / "d")
    async with open_runtime(store, KINDS, clock=clock, config=config()) as rt:
        await trio.testing.wait_all_tasks_blocked()
        assert rt.state_of("ledger/a")[0].reminders == ("one", "two")
        clock.advance(49)
        await trio.testing.wait_all_tasks_blocked()
        assert rt.state_of("ledger/a")[0].reminders == ("one", "two")
        clock.advance(1)
        await trio.testing.wait_all_tasks_blocked()
        assert rt.state_of("ledger/a")[0].reminders == ("one", "two", "three")
    store.close()


async def test_virtual_clock_advance_fires_timers_across_many_actors_once(store, autojump_clock):
    clock = VirtualClock()
    async with open_runtime(store, KINDS, clock=clock, config=config()) as rt:
        for n in range(50):
            await rt.ask(f"ledger/{n}", Remind(name="tick", after_s=n + 1))
        clock.advance(25.5)
        await trio.testing.wait_all_tasks_blocked()
        fired = {n for n in range(50) if rt.state_of(f"ledger/{n}")[0].reminders}
        assert fired == set(range(25))
        clock.advance(1000)
        await trio.testing.wait_all_tasks_blocked()
        assert all(rt.state_of(f"ledger/{n}")[0].reminders == ("tick",) for n in range(50))
        assert rt.timers.fired == 50


async def test_a_timer_that_reschedules_itself_keeps_firing(store, autojump_clock):
    async with open_runtime(store, KINDS, clock=TrioClock(), config=config()) as rt:
        await rt.ask("ledger/a", Remind(name="tick", after_s=10, note="every 10"))
        await trio.sleep(55)
        assert rt.state_of("ledger/a")[0].reminders == ("tick",) * 5
        [pending] = store.timers_of("ledger/a")
        assert pending.name == "tick"


async def test_advancing_a_virtual_clock_stops_at_each_due_time(store, autojump_clock):
    """One jump of 55 s fires a 10 s repeating timer five times, each before time moves on."""
    clock = VirtualClock()
    start = clock.now()
    async with open_runtime(store, KINDS, clock=clock, config=config()) as rt:
        await rt.ask("ledger/a", Remind(name="tick", after_s=10, note="every 10"))
        await rt.ask("ledger/b", Remind(name="once", after_s=25))
        assert await rt.timers.advance(clock, 55) == 6
        assert clock.now() == start + 55
        assert rt.state_of("ledger/a")[0].reminders == ("tick",) * 5
        assert rt.state_of("ledger/b")[0].reminders == ("once",)
        [pending] = store.timers_of("ledger/a")
        assert pending.due_ms == round((start + 60) * 1000)
        assert await rt.timers.advance(clock, 0) == 0


async def test_a_stopped_actor_refuses_messages_holds_its_timers_and_stays_stopped(tmp_path, autojump_clock):
    clock, store = TrioClock(), Store.open(tmp_path / "d")
    async with open_runtime(store, KINDS, clock=clock, config=config()) as rt:
        await rt.ask("ledger/a", Remind(name="dusk", after_s=60))
        assert await rt.halt("ledger/a", "runaway", by="op-1") is True
        assert await rt.halt("ledger/a") is False
        assert "ledger/a" not in rt.cells and rt.figures()["stopped"] == ["ledger/a"]
        with pytest.raises(ActorHalted):
            await rt.ask("ledger/a", Add(amount=1))
        await trio.sleep(120)                                  # due meanwhile: held, not lost
        assert rt.state_of("ledger/a")[0].reminders == ()
        assert [t.name for t in store.timers_of("ledger/a")] == ["dusk"]
        assert await rt.ask("ledger/b", Add(amount=1))         # others go on
    store.close()
    store = Store.open(tmp_path / "d")                         # still stopped after a restart
    async with open_runtime(store, KINDS, clock=clock, config=config()) as rt:
        assert rt.halted["ledger/a"]["reason"] == "runaway" and rt.halted["ledger/a"]["by"] == "op-1"
        with pytest.raises(ActorHalted):
            await rt.ask("ledger/a", Add(amount=1))
        assert await rt.unhalt("ledger/a") is True
        assert await rt.unhalt("ledger/a") is False
        await trio.testing.wait_all_tasks_blocked()
        assert rt.state_of("ledger/a")[0].reminders == ("dusk",)   # the held timer fired
        assert (await rt.ask("ledger/a", Add(amount=1))).seq == 2     # Reminded was 1
    store.close()
