"""The store against a real RocksDB: journal, snapshots, timers, dead letters, locking, group commit."""
from __future__ import annotations

from contextlib import contextmanager
from typing import Iterator

import pytest
import trio
from hypothesis import given, settings
from hypothesis import strategies as st

from snapshots import Batch, CorruptRecord, GroupCommit, Store, StoreError, StoreLocked, Timer, codec, keys
from snapshots.store import SNAPSHOTS, TIMERS

ADDRESSES = ["campaign/7f3a", "combat/7f3a.2", "c/1", "c/10"]  # 'c/1' is a prefix of 'c/10'
modest = settings(max_examples=50, deadline=None)


@pytest.fixture(scope="module")
def fresh_store(tmp_path_factory):
    """Open a new store per hypothesis example (a function-scoped fixture would be shared)."""

    @contextmanager
    def open_fresh() -> Iterator[Store]:
        store = Store.open(tmp_path_factory.mktemp("data"))
        try:
            yield store
        finally:
            store.close()

    return open_fresh


def appended(store: Store, address: str, values: list[object], first_seq: int = 1) -> Batch:
    batch = Batch()
    for seq, value in enumerate(values, start=first_seq):
        store.append_event(batch, address, seq, value)
    return batch


# -- journal --------------------------------------------------------------------------

# A history: several Store.write calls, each of several batches, each appending to a few actors.
WRITES = st.lists(
    st.lists(st.lists(st.sampled_from(range(len(ADDRESSES))), max_size=5), min_size=1, max_size=4),
    min_size=1, max_size=6,
)


@modest
@given(writes=WRITES, pages=st.lists(st.tuples(st.integers(0, 25), st.integers(0, 10)), max_size=5))
def test_the_journal_returns_each_actors_events_in_seq_order(fresh_store, writes, pages):
    expected: dict[str, list[tuple[int, dict]]] = {address: [] for address in ADDRESSES}
    with fresh_store() as store:
        for write in writes:
            batches = []
            for appends in write:
                batch = Batch()
                for index in appends:
                    address = ADDRESSES[index]
                    seq = len(expected[address]) + 1
                    value = {"address": address, "seq": seq, "write": len(batches)}
                    store.append_event(batch, address, seq, value)
                    expected[address].append((seq, value))
                batches.append(batch)
            store.write(batches)

        for address, events in expected.items():
            assert list(store.read_journal(address)) == events
            assert store.last_seq(address) == len(events)
            for after, limit in pages:
                assert list(store.read_journal(address, after=after, limit=limit)) == events[after:after + limit]


def test_reading_a_journal_page_by_page_yields_every_event_once(store):
    store.write([appended(store, "campaign/7f3a", [{"n": n} for n in range(1, 24)])])
    seen, after = [], 0
    while page := list(store.read_journal("campaign/7f3a", after=after, limit=5)):
        seen.extend(page)
        after = page[-1][0]
    assert seen == [(n, {"n": n}) for n in range(1, 24)]


def test_an_actor_that_never_wrote_has_an_empty_journal(store):
    store.write([appended(store, "c/10", [{"n": 1}])])
    assert store.last_seq("c/1") == 0
    assert list(store.read_journal("c/1")) == []


# -- snapshots --------------------------------------------------------------------------

def test_only_the_newest_two_snapshots_are_kept(store):
    for seq in range(1, 6):
        batch = Batch()
        store.put_snapshot(batch, "campaign/7f3a", seq * 10, {"at": seq * 10})
        store.write([batch])
        kept = [s for s, _ in store.snapshots_raw("campaign/7f3a")]
        assert kept == ([seq * 10, (seq - 1) * 10] if seq > 1 else [10])
    assert [codec.decode(raw) for _, raw in store.snapshots_raw("campaign/7f3a")] == [{"at": 50}, {"at": 40}]


TORN = st.one_of(
    st.tuples(st.just("truncate"), st.integers(min_value=0, max_value=10_000)),
    st.tuples(st.just("flip"), st.integers(min_value=0, max_value=10_000), st.integers(1, 255)),
)


@modest
@given(damage=TORN)
def test_a_torn_snapshot_fails_its_checksum_while_the_older_one_still_decodes(fresh_store, damage):
    older, newer = {"hp": 12, "log": ["a"] * 3}, {"hp": 9, "log": ["a"] * 30}
    with fresh_store() as store:
        for seq, value in ((10, older), (20, newer)):
            batch = Batch()
            store.put_snapshot(batch, "combat/7f3a.2", seq, value)
            store.write([batch])
        key = keys.seq_key("combat/7f3a.2", 20)
        raw = store._cf[SNAPSHOTS][key]
        if damage[0] == "truncate":
            torn = raw[:damage[1] % len(raw)]
        else:
            at = damage[1] % len(raw)
            torn = raw[:at] + bytes([raw[at] ^ damage[2]]) + raw[at + 1:]
        store._cf[SNAPSHOTS][key] = torn  # what a torn write leaves behind

        (newest_seq, newest), (older_seq, older_raw) = store.snapshots_raw("combat/7f3a.2")
        assert (newest_seq, older_seq) == (20, 10)
        with pytest.raises(CorruptRecord):
            codec.decode(newest)
        assert codec.decode(older_raw) == older


# -- timers ------------------------------------------------------------------------------

def schedule(store: Store, *timers: Timer) -> None:
    batch = Batch()
    for timer in timers:
        store.put_timer(batch, timer)
    store.write([batch])


def test_a_timer_is_found_and_cancelled_by_name(store):
    schedule(store, Timer("campaign/7f3a", "turn", 5_000, "id1", {"round": 3}))
    assert store.get_timer("campaign/7f3a", "turn") == Timer("campaign/7f3a", "turn", 5_000, "id1", {"round": 3})

    batch = Batch()
    assert store.delete_timer(batch, "campaign/7f3a", "turn")
    store.write([batch])
    assert store.get_timer("campaign/7f3a", "turn") is None
    assert store.due_timers(10_000) == []
    assert store.next_timer_due() is None


def test_rescheduling_a_timer_replaces_it(store):
    schedule(store, Timer("campaign/7f3a", "turn", 5_000, "old"))
    schedule(store, Timer("campaign/7f3a", "turn", 2_000, "new"))

    assert store.get_timer("campaign/7f3a", "turn") == Timer("campaign/7f3a", "turn", 2_000, "new")
    assert store.timers_of("campaign/7f3a") == [Timer("campaign/7f3a", "turn", 2_000, "new")]
    assert store.due_timers(10_000) == [Timer("campaign/7f3a", "turn", 2_000, "new")]
    assert store._cf[TIMERS].get(keys.timer_due_key(5_000, "campaign/7f3a", "turn")) is None


def test_cancelling_a_stale_schedule_leaves_the_new_one_alone(store):
    schedule(store, Timer("campaign/7f3a", "turn", 5_000, "old"))
    schedule(store, Timer("campaign/7f3a", "turn", 6_000, "new"))

    batch = Batch()
    assert not store.delete_timer(batch, "campaign/7f3a", "turn", only_id="old")
    assert len(batch) == 0
    assert store.get_timer("campaign/7f3a", "turn") == Timer("campaign/7f3a", "turn", 6_000, "new")


def test_a_timer_rescheduled_in_the_batch_that_consumes_it_survives(store):
    # The runtime's pattern for a repeating timer: the handler of TimerFired schedules the
    # same name again, and the same batch consumes the fired schedule by its id.
    schedule(store, Timer("campaign/7f3a", "tick", 1_000, "fired"))
    batch = Batch()
    store.put_timer(batch, Timer("campaign/7f3a", "tick", 2_000, "next"))
    store.delete_timer(batch, "campaign/7f3a", "tick", only_id="fired")
    store.write([batch])

    assert store.get_timer("campaign/7f3a", "tick") == Timer("campaign/7f3a", "tick", 2_000, "next")


def test_a_timer_scheduled_twice_in_one_batch_keeps_only_the_second(store):
    batch = Batch()
    store.put_timer(batch, Timer("campaign/7f3a", "tick", 1_000, "first"))
    store.put_timer(batch, Timer("campaign/7f3a", "tick", 2_000, "second"))
    store.write([batch])

    assert store.due_timers(10_000) == [Timer("campaign/7f3a", "tick", 2_000, "second")]


TIMER_SETS = st.dictionaries(
    st.tuples(st.sampled_from(ADDRESSES), st.sampled_from(["turn", "rest", "a", "ab"])),
    st.integers(min_value=0, max_value=50),
    max_size=16,
)


@modest
@given(timers=TIMER_SETS, until=st.integers(min_value=-1, max_value=55))
def test_exactly_the_due_timers_come_back_in_due_order(fresh_store, timers, until):
    with fresh_store() as store:
        schedule(store, *(Timer(address, name, due, f"{address}:{name}") for (address, name), due in timers.items()))

        due = store.due_timers(until) if until >= 0 else []
        assert {(t.address, t.name, t.due_ms) for t in due} == {
            (address, name, at) for (address, name), at in timers.items() if at <= until
        }
        assert [t.due_ms for t in due] == sorted(t.due_ms for t in due)
        later = [at for at in timers.values() if at > until]
        assert store.next_timer_due(after_ms=until) == (min(later) if later else None)


TIMER_STEPS = st.lists(st.tuples(
    st.sampled_from(["schedule", "cancel", "fire"]), st.sampled_from(["turn", "rest", "a"]),
    st.integers(min_value=0, max_value=60)), max_size=40)


@modest
@given(steps=TIMER_STEPS)
def test_due_timers_stay_exact_as_timers_fire_and_earlier_ones_arrive(fresh_store, steps):
    # due_timers seeks past the tombstones of fired timers; a timer scheduled earlier than
    # anything it has seen (a late timer, a shorter threshold) must still come back.
    with fresh_store() as store:
        model: dict[str, int] = {}
        for op, name, at in steps:
            batch = Batch()
            if op == "schedule":
                store.put_timer(batch, Timer("campaign/7f3a", name, at, f"{name}@{at}"))
                model[name] = at
            elif op == "cancel":
                store.delete_timer(batch, "campaign/7f3a", name)
                model.pop(name, None)
            else:  # the timer service: everything due by ``at`` fires and is consumed
                for timer in store.due_timers(at):
                    store.delete_timer(batch, timer.address, timer.name, only_id=timer.id)
                    del model[timer.name]
            store.write([batch])
            assert [(t.name, t.due_ms) for t in store.due_timers(60)] == sorted(
                model.items(), key=lambda item: (item[1], item[0]))


# -- dead letters, locking, reopening ------------------------------------------------------

def test_dead_letter_numbers_continue_after_a_reopen(tmp_path):
    store = Store.open(tmp_path / "data")
    batch = Batch()
    assert [store.add_dead_letter(batch, {"reason": f"r{i}"}) for i in range(3)] == [1, 2, 3]
    store.write([batch])
    store.close()

    store = Store.open(tmp_path / "data")
    try:
        batch = Batch()
        assert store.add_dead_letter(batch, {"reason": "after reopen"}) == 4
        store.write([batch])
        assert [letter["n"] for letter in store.dead_letters()] == [1, 2, 3, 4]
        assert [letter["n"] for letter in store.dead_letters(after=2)] == [3, 4]
    finally:
        store.close()


def test_a_data_directory_opens_only_once(store):
    with pytest.raises(StoreLocked) as refused:
        Store.open(store.path)
    assert str(store.path) in str(refused.value)


def test_a_closed_store_reopens_with_everything_it_wrote(tmp_path):
    store = Store.open(tmp_path / "data")
    store.write([appended(store, "campaign/7f3a", [{"n": 1}, {"n": 2}])])
    store.close()
    store.close()  # closing twice is harmless

    store = Store.open(tmp_path / "data")
    try:
        assert list(store.read_journal("campaign/7f3a")) == [(1, {"n": 1}), (2, {"n": 2})]
    finally:
        store.close()


# -- group commit ---------------------------------------------------------------------------

async def test_concurrent_commits_become_durable_in_fewer_writes(store):
    commits = GroupCommit(store)
    async with trio.open_nursery() as nursery:
        await nursery.start(commits.run)
        async with trio.open_nursery() as writers:
            for n in range(200):
                address = ADDRESSES[n % len(ADDRESSES)]
                writers.start_soon(commits.commit, appended(store, address, [{"n": n}], first_seq=n // len(ADDRESSES) + 1))
        nursery.cancel_scope.cancel()

    for i, address in enumerate(ADDRESSES):
        assert list(store.read_journal(address)) == [(k + 1, {"n": k * len(ADDRESSES) + i}) for k in range(50)]
    assert commits.stats.batches == 200
    assert commits.stats.writes < 200, f"no grouping: {commits.stats}"


async def test_a_commit_after_the_committer_stopped_is_refused(store):
    commits = GroupCommit(store)
    async with trio.open_nursery() as nursery:
        await nursery.start(commits.run)
        nursery.cancel_scope.cancel()

    with pytest.raises(StoreError, match="closed"):
        await commits.commit(appended(store, "campaign/7f3a", [{"n": 1}]))
    assert store.last_seq("campaign/7f3a") == 0
