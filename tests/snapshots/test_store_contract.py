"""One contract, every store: the RocksDB store in a temporary directory and the memory store
answer the runtime's questions the same way."""
from __future__ import annotations

import pytest
import trio

from snapshots import Batch, GroupCommit, MemoryStore, Store, StoreCorrupt, Timer, codec
from snapshots.protocol import JOURNAL, META, SNAPSHOTS_KEPT
from snapshots.protocol import Store as StoreProtocol


@pytest.fixture(params=["rocksdb", "memory"])
def store(request, tmp_path):
    store = Store.open(tmp_path / "data") if request.param == "rocksdb" else MemoryStore()
    yield store
    store.close()


def written(store, build) -> Batch:
    batch = Batch()
    build(batch)
    store.write([batch])
    return batch


def test_both_stores_implement_the_protocol(store):
    assert isinstance(store, StoreProtocol)
    assert store.generation == 0 and not store.closed and not store.health.degraded


# -- journal --------------------------------------------------------------------------

def test_the_journal_reads_back_in_seq_order_after_and_within_limits(store):
    for seq in range(1, 6):
        written(store, lambda b, seq=seq: store.append_event(b, "c/1", seq, {"n": seq}))
    written(store, lambda b: store.append_event(b, "c/10", 1, {"n": 100}))  # 'c/1' is a prefix of 'c/10'
    assert store.last_seq("c/1") == 5 and store.last_seq("c/10") == 1 and store.last_seq("c/2") == 0
    assert [seq for seq, _ in store.read_journal("c/1")] == [1, 2, 3, 4, 5]
    assert list(store.read_journal("c/1", after=2, limit=2)) == [(3, {"n": 3}), (4, {"n": 4})]
    assert list(store.read_journal("c/1", after=5)) == []
    assert list(store.read_journal("c/10")) == [(1, {"n": 100})]


def test_an_unsynced_write_is_read_at_once_and_sync_wal_makes_it_durable(store):
    batch = Batch()
    store.append_event(batch, "c/1", 1, "x")
    store.write([batch], sync=False)
    assert store.last_seq("c/1") == 1
    store.sync_wal()
    assert list(store.read_journal("c/1")) == [(1, "x")]


def test_a_damaged_journal_record_is_reported_with_its_address_and_seq(store):
    written(store, lambda b: b.put(JOURNAL, b"c/1\x00" + (1).to_bytes(8, "big"), b"E1garbage"))
    with pytest.raises(StoreCorrupt, match="c/1 seq 1"):
        list(store.read_journal("c/1"))


def test_batches_written_together_land_together_or_not_at_all(store):
    first, second = Batch(), Batch()
    store.append_event(first, "c/1", 1, "a")
    store.register_actor(first, "c/1", {"kind": "c"})
    store.append_event(second, "c/2", 1, "b")
    store.write([first, second])
    assert store.last_seq("c/1") == store.last_seq("c/2") == 1 and store.actor_known("c/1")

    broken = Batch()
    store.append_event(broken, "c/3", 1, "c")
    broken.put("no-such-family", b"k", b"v")
    with pytest.raises(Exception):
        store.write([broken])
    assert store.last_seq("c/3") == 0


# -- snapshots ------------------------------------------------------------------------

def test_only_the_newest_snapshots_are_kept(store):
    for seq in (3, 6, 9, 12):
        written(store, lambda b, seq=seq: store.put_snapshot(b, "c/1", seq, {"at": seq}))
    kept = list(store.snapshots_raw("c/1"))
    assert [seq for seq, _ in kept] == [12, 9][:SNAPSHOTS_KEPT]
    assert list(store.snapshots_raw("c/10")) == []


def test_snapshots_are_read_newest_first_below_a_seq_and_never_past_their_address(store):
    for address, seq in (("c/1", 10), ("c/1", 20), ("c/10", 30), ("c/", 40)):
        written(store, lambda b, a=address, s=seq: store.put_snapshot(b, a, s, {"at": s}))
    assert [seq for seq, _ in store.snapshots_raw("c/1")] == [20, 10]
    assert [seq for seq, _ in store.snapshots_raw("c/1", before=20)] == [10]
    assert [seq for seq, _ in store.snapshots_raw("c/1", before=11)] == [10]
    assert list(store.snapshots_raw("c/1", before=10)) == list(store.snapshots_raw("c/1", before=0)) == []
    assert [seq for seq, _ in store.snapshots_raw("c/10")] == [30]


# -- timers ---------------------------------------------------------------------------

def test_timers_come_due_in_order_and_a_new_schedule_replaces_the_old(store):
    written(store, lambda b: (store.put_timer(b, Timer("c/1", "tick", 300, "a")),
                              store.put_timer(b, Timer("c/2", "tick", 100, "b", {"p": 1})),
                              store.put_timer(b, Timer("c/1", "nag", 200, "c"))))
    assert [t.id for t in store.due_timers(250)] == ["b", "c"]
    assert store.next_timer_due() == 100 and store.next_timer_due(after_ms=100) == 200
    assert store.next_timer_due(after_ms=300) is None
    assert store.timer_count() == 3

    written(store, lambda b: store.put_timer(b, Timer("c/1", "tick", 50, "d")))  # rescheduled earlier
    assert [(t.name, t.due_ms) for t in store.timers_of("c/1")] == [("tick", 50), ("nag", 200)]
    assert store.get_timer("c/2", "tick") == Timer("c/2", "tick", 100, "b", {"p": 1})
    assert [t.id for t in store.due_timers(10_000, limit=2)] == ["d", "b"]
    assert store.timer_count() == 3


def test_a_timer_is_cancelled_only_while_it_is_the_same_schedule(store):
    written(store, lambda b: store.put_timer(b, Timer("c/1", "tick", 100, "a")))
    batch = Batch()
    assert not store.delete_timer(batch, "c/1", "tick", only_id="stale")
    assert store.delete_timer(batch, "c/1", "tick", only_id="a")
    store.put_timer(batch, Timer("c/1", "tick", 500, "b"))  # the same batch sees its own cancellation
    store.write([batch])
    assert store.timers_of("c/1") == [Timer("c/1", "tick", 500, "b")]
    assert store.due_timers(400) == [] and store.next_timer_due() == 500

    written(store, lambda b: store.delete_timer(b, "c/1", "tick"))
    assert store.get_timer("c/1", "tick") is None and store.timer_count() == 0 and store.next_timer_due() is None
    assert not store.delete_timer(Batch(), "c/1", "tick") and not store.delete_timer(Batch(), "c/1", "never")


# -- meta: idempotency, actors, stops, dead letters ------------------------------------

def test_idempotency_records_are_found_until_pruned(store):
    written(store, lambda b: (store.put_idempotent(b, "c/1", "k1", {"seq": 1}, at_ms=1_000),
                              store.put_idempotent(b, "c/1", "k2", {"seq": 2}, at_ms=2_000),
                              store.put_idempotent(b, "c/2", "k1", {"seq": 7}, at_ms=3_000)))
    assert store.get_idempotent("c/1", "k1") == {"seq": 1} and store.get_idempotent("c/2", "k1") == {"seq": 7}
    assert store.prune_idempotent(before_ms=2_500, limit=1) == 1
    assert store.get_idempotent("c/1", "k1") is None and store.get_idempotent("c/1", "k2") == {"seq": 2}
    assert store.prune_idempotent(before_ms=2_500) == 1
    assert store.prune_idempotent(before_ms=2_500) == 0
    assert store.get_idempotent("c/2", "k1") == {"seq": 7}


def test_known_actors_page_by_prefix_and_cursor(store):
    addresses = ["campaign/b", "combat/a", "campaign/a", "campaign/c", "c/1"]
    written(store, lambda b: [store.register_actor(b, a, {"kind": a.split("/")[0]}) for a in addresses])
    assert [a for a, _ in store.known_actors()] == sorted(addresses)
    assert list(store.known_actors("campaign/")) == [(f"campaign/{x}", {"kind": "campaign"}) for x in "abc"]
    assert [a for a, _ in store.known_actors("campaign/", after="campaign/a")] == ["campaign/b", "campaign/c"]
    assert [a for a, _ in store.known_actors("campaign/", after="campaign/bb")] == ["campaign/c"]
    assert [a for a, _ in store.known_actors("combat/", after="campaign/z")] == ["combat/a"]
    assert store.actor_known("combat/a") and not store.actor_known("combat/b")


def test_stopped_actors_are_marked_and_cleared(store):
    written(store, lambda b: (store.set_halted(b, "c/1", {"by": "op"}), store.set_halted(b, "c/2", {"by": "op2"})))
    assert store.halted_actors() == {"c/1": {"by": "op"}, "c/2": {"by": "op2"}}
    written(store, lambda b: store.set_halted(b, "c/1", None))
    assert store.halted_actors() == {"c/2": {"by": "op2"}}


def test_dead_letters_are_numbered_and_paged(store):
    numbers = []
    for n in range(5):
        written(store, lambda b, n=n: numbers.append(store.add_dead_letter(b, {"reason": f"r{n}"})))
    assert numbers == [1, 2, 3, 4, 5]
    assert [d["n"] for d in store.dead_letters()] == [1, 2, 3, 4, 5]
    assert [(d["n"], d["reason"]) for d in store.dead_letters(after=1, limit=2)] == [(2, "r1"), (3, "r2")]
    assert store.dead_letters(after=5) == []


def test_raw_meta_records_of_the_layers_above(store):
    written(store, lambda b: (b.put(META, b"token:1", codec.encode({"t": 0})), b.put(META, b"token:2", codec.encode(2))))
    written(store, lambda b: b.put(META, b"token:1", codec.encode({"t": 1})))
    assert store.get_meta(b"token:1") == {"t": 1} and store.get_meta(b"token:3") is None
    assert store.meta_prefix_exists(b"token:") and not store.meta_prefix_exists(b"tokens:")
    assert list(store.meta_items(b"token:")) == [(b"token:1", {"t": 1}), (b"token:2", 2)]
    assert list(store.meta_items(b"tokens:")) == []
    written(store, lambda b: (b.delete(META, b"token:1"), b.delete(META, b"token:2")))
    assert not store.meta_prefix_exists(b"token:")


# -- through the group commit ---------------------------------------------------------

@pytest.mark.parametrize("mode", ["thread", "inline"])
async def test_the_group_commit_writes_many_commits_to_either_store(store, mode):
    commits = GroupCommit(store, mode=mode)
    async with trio.open_nursery() as nursery:
        await nursery.start(commits.run)
        async with trio.open_nursery() as writers:
            for n in range(1, 9):
                batch = Batch()
                store.append_event(batch, f"c/{n}", 1, n)
                writers.start_soon(commits.commit, batch)
        nursery.cancel_scope.cancel()
    assert [store.last_seq(f"c/{n}") for n in range(1, 9)] == [1] * 8
    assert commits.stats.batches == 8
