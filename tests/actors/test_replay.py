"""decide/evolve as pure functions, and replay: rebuilt state equals live state."""
from __future__ import annotations

from datetime import datetime, timezone

import pytest
from hypothesis import given, settings, strategies as st

from actors import Context, Event, Rejected, RuntimeConfig, TrioClock, open_runtime
from snapshots import Store, codec

from ..kinds import Add, Added, Ledger, LedgerKind

KIND = LedgerKind()
CTX = Context("ledger/a", 0, datetime(2026, 1, 1, tzinfo=timezone.utc))


@pytest.mark.parametrize(
    ("given_events", "command", "expected"),
    [
        ([], Add(amount=3), [Added(amount=3)]),
        ([Added(amount=3)], Add(amount=-1), [Added(amount=-1)]),
        ([Added(amount=3)], Add(amount=0), Rejected("ledger/zero", "")),
    ],
)
def test_decide_table(given_events, command, expected):
    state = KIND.replay(KIND.initial("ledger/a"), given_events)
    if isinstance(expected, Rejected):
        with pytest.raises(Rejected) as info:
            KIND.decide(state, command, CTX)
        assert info.value.code == expected.code
    else:
        assert KIND.decide(state, command, CTX) == expected


def test_events_round_trip_through_storage_form():
    event = Added(amount=7)
    assert KIND.load_event(codec.decode(codec.encode(KIND.dump_event(event)))) == event


def test_old_event_versions_are_upcast_on_load():
    class Deposited(Event):
        version = 2
        cents: int

        @classmethod
        def upcast(cls, version, data):
            return {"cents": data["amount"] * 100} if version == 1 else data

    class Bank(LedgerKind):
        kind = "bank"
        events = (Deposited,)

    assert Bank().load_event({"t": "Deposited", "v": 1, "d": {"amount": 3}}) == Deposited(cents=300)


def test_newer_versions_than_the_code_are_refused():
    from snapshots import UnknownSchema

    with pytest.raises(UnknownSchema):
        KIND.load_event({"t": "Added", "v": 99, "d": {"amount": 1}})


def _rebuild(store: Store, address: str, use_snapshot: bool) -> Ledger:
    state, start = KIND.initial(address), 0
    if use_snapshot and (snaps := list(store.snapshots_raw(address))):
        start, raw = snaps[0]
        state = KIND.load_state(codec.decode(raw))
    for _, stored in store.read_journal(address, after=start):
        state = KIND.evolve(state, KIND.load_event(stored))
    return state


@settings(max_examples=25, deadline=None)
@given(amounts=st.lists(st.integers(-1000, 1000), max_size=60), every=st.integers(1, 15))
def test_rebuilding_from_journal_or_snapshot_equals_the_live_state(tmp_path_factory, amounts, every):
    import trio
    import trio.testing

    store = Store.open(tmp_path_factory.mktemp("replay"))

    async def run():
        config = RuntimeConfig(snapshot_every=every, lag_interval=None)
        async with open_runtime(store, [KIND], clock=TrioClock(), config=config) as rt:
            for amount in amounts:
                try:
                    await rt.ask("ledger/a", Add(amount=amount))
                except Rejected:
                    pass
            return rt.cells["ledger/a"].state if "ledger/a" in rt.cells else KIND.initial("ledger/a")

    try:
        live = trio.run(run, clock=trio.testing.MockClock(autojump_threshold=0))
        assert _rebuild(store, "ledger/a", use_snapshot=False) == live
        assert _rebuild(store, "ledger/a", use_snapshot=True) == live
        assert len(list(store.snapshots_raw("ledger/a"))) <= 2
    finally:
        store.close()


@pytest.mark.parametrize("name", ["", "a\x00b", "\ud800", "x" * 129])
def test_timer_names_that_cannot_be_stored_are_refused_where_they_are_written(name):
    from datetime import timedelta

    from actors import Cancel, Schedule

    with pytest.raises(ValueError, match="timer name"):
        Schedule(name, after=timedelta(seconds=1))
    with pytest.raises(ValueError, match="timer name"):
        Cancel(name)
