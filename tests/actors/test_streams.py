"""Streams: snapshot then live, resume by sequence with no gap and no duplicate, resync."""
from __future__ import annotations

import pytest
import trio
import trio.testing
from hypothesis import given, settings, strategies as st

from actors import BadSince, Published, Resync, RuntimeConfig, Snapshot, TrioClock, open_runtime
from snapshots import Store

from ..kinds import Add, Added, LedgerKind

KINDS = [LedgerKind()]


def config(**overrides) -> RuntimeConfig:
    return RuntimeConfig(lag_interval=None, **overrides)


async def collect(rt, address, since, count, into):
    async with rt.subscribe(address, since) as items:
        async for item in items:
            into.append(item)
            if len(into) == count:
                return


async def test_a_new_subscriber_gets_a_snapshot_then_live_events(store, autojump_clock):
    async with open_runtime(store, KINDS, clock=TrioClock(), config=config()) as rt:
        await rt.ask("ledger/a", Add(amount=5))
        got = []
        async with trio.open_nursery() as nursery:
            nursery.start_soon(collect, rt, "ledger/a", None, 3, got)
            await trio.testing.wait_all_tasks_blocked()
            await rt.ask("ledger/a", Add(amount=6))
            await rt.ask("ledger/a", Add(amount=7))
        assert isinstance(got[0], Snapshot) and got[0].seq == 1 and got[0].state.total == 5
        assert got[1:] == [Published(2, Added(amount=6)), Published(3, Added(amount=7))]


@settings(max_examples=20, deadline=None)
@given(before=st.integers(0, 30), since=st.integers(0, 30), during=st.integers(0, 30))
def test_resume_delivers_every_later_event_exactly_once(tmp_path_factory, before, since, during):
    since = min(since, before)
    store = Store.open(tmp_path_factory.mktemp("streams"))

    async def run():
        async with open_runtime(store, KINDS, clock=TrioClock(), config=config()) as rt:
            for n in range(1, before + 1):
                await rt.ask("ledger/a", Add(amount=n))
            got = []

            async def writer():
                for n in range(before + 1, before + during + 1):
                    await rt.tell("ledger/a", Add(amount=n))

            async with trio.open_nursery() as nursery:
                nursery.start_soon(writer)   # writes race the backfill
                if before + during > since:
                    await collect(rt, "ledger/a", since, before + during - since, got)
            return got

    try:
        got = trio.run(run, clock=trio.testing.MockClock(autojump_threshold=0))
        assert [item.seq for item in got] == list(range(since + 1, before + during + 1))
        assert [item.event.amount for item in got] == list(range(since + 1, before + during + 1))
    finally:
        store.close()


async def test_resuming_ahead_of_the_journal_is_refused(store, autojump_clock):
    async with open_runtime(store, KINDS, clock=TrioClock(), config=config()) as rt:
        await rt.ask("ledger/a", Add(amount=1))
        with pytest.raises(BadSince):
            await collect(rt, "ledger/a", 5, 1, [])


async def test_resuming_further_back_than_the_window_gets_a_snapshot(store, autojump_clock):
    async with open_runtime(store, KINDS, clock=TrioClock(), config=config(resume_window=3)) as rt:
        for n in range(1, 8):
            await rt.ask("ledger/a", Add(amount=n))
        got = []
        await collect(rt, "ledger/a", 2, 1, got)
        assert got == [Snapshot(7, rt.state_of("ledger/a")[0])]


async def test_a_slow_subscriber_is_resynced_and_never_slows_the_actor(store, autojump_clock):
    async with open_runtime(store, KINDS, clock=TrioClock(), config=config()) as rt:
        await rt.ask("ledger/a", Add(amount=1))
        async with rt.subscribe("ledger/a", capacity=4) as items:
            first = await items.__anext__()
            assert first == Snapshot(1, rt.state_of("ledger/a")[0])
            for n in range(2, 12):                      # the subscriber reads nothing meanwhile
                await rt.ask("ledger/a", Add(amount=n))
            assert await items.__anext__() == Resync("more than 4 events behind")
            again = await items.__anext__()
            assert isinstance(again, Snapshot) and again.seq == 11 and again.state.total == 66
            await rt.ask("ledger/a", Add(amount=100))
            assert await items.__anext__() == Published(12, Added(amount=100))


async def test_a_stream_survives_its_actor_stopping(store, autojump_clock):
    async with open_runtime(store, KINDS, clock=TrioClock(), config=config()) as rt:
        await rt.ask("ledger/a", Add(amount=1))
        got = []
        async with trio.open_nursery() as nursery:
            nursery.start_soon(collect, rt, "ledger/a", 1, 2, got)
            await trio.testing.wait_all_tasks_blocked()
            await rt.ask("ledger/a", Add(amount=2))
            rt.passivate("ledger/a")                     # operator stop
            await trio.testing.wait_all_tasks_blocked()
            await rt.ask("ledger/a", Add(amount=3))      # a fresh activation
        assert got == [Published(2, Added(amount=2)), Published(3, Added(amount=3))]


async def test_subscribers_keep_an_actor_in_memory_until_they_leave(store, autojump_clock):
    async with open_runtime(store, KINDS, clock=TrioClock(), config=config(idle_passivate=60)) as rt:
        await rt.ask("ledger/a", Add(amount=1))
        async with rt.subscribe("ledger/a") as items:
            await items.__anext__()
            await trio.sleep(600)
            assert "ledger/a" in rt.cells
        await trio.sleep(70)
        assert "ledger/a" not in rt.cells
