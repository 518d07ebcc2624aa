"""A VTT world's command queue (issue 24), on a real RocksDB and in memory: delivery order by priority,
at-least-once until acked, visible expiry, backpressure by priority, and a restart in between."""
from __future__ import annotations

import pytest

from server.bridge.queue import CAPACITY, LIMITS, BridgeQueue, QueueFull
from snapshots import Store
from snapshots.memory import MemoryStore

WORLD = "c1/world-1"


@pytest.fixture(params=["rocksdb", "memory"])
def queue(request, tmp_path):
    opened = Store.open(tmp_path / "data") if request.param == "rocksdb" else MemoryStore()
    yield BridgeQueue(opened)
    opened.close()


def test_commands_are_delivered_combat_first_and_again_until_acked(queue):
    token = queue.enqueue(WORLD, "move_token", {"token": "t1", "x": 3, "y": 4}, now=0.0)
    chat = queue.enqueue(WORLD, "create_chat_message", {"content": "Hi", "speaker": "GM"}, now=1.0)
    damage = queue.enqueue(WORLD, "apply_damage", {"actor": "Ayla", "amount": 5}, now=2.0)
    assert [c["id"] for c in queue.pending(WORLD, now=3.0)] == [damage["id"], chat["id"], token["id"]]
    assert [c["id"] for c in queue.pending(WORLD, now=3.0)] == [damage["id"], chat["id"], token["id"]]  # no ack yet
    assert queue.ack(WORLD, damage["id"], now=4.0)["status"] == "acked"
    assert queue.ack(WORLD, damage["id"], now=5.0)["status"] == "acked"  # a second ack changes nothing
    failed = queue.ack(WORLD, chat["id"], now=5.0, ok=False, reason="no such speaker")
    assert (failed["status"], failed["reason"]) == ("failed", "no such speaker")
    assert [c["id"] for c in queue.pending(WORLD, now=6.0)] == [token["id"]]
    assert queue.ack(WORLD, "nope", now=6.0) is None


def test_a_batch_of_acks_is_each_ack_in_turn(queue):
    one, two = (queue.enqueue(WORLD, "create_chat_message", {"content": c}, now=0.0) for c in ("a", "b"))
    answered = queue.ack_many(WORLD, [(one["id"], True, None), ("nope", True, None), (two["id"], False, "no speaker"),
                                      (one["id"], False, "late")], now=2.0)
    assert [(a or {}).get("status") for a in answered] == ["acked", None, "failed", "acked"]  # the first ack stands
    assert answered[2]["reason"] == "no speaker" and queue.pending(WORLD, now=3.0) == []
    assert [r["id"] for r in queue.done(WORLD)] == [two["id"], one["id"]]  # newest first, as one at a time


def test_a_command_past_its_time_to_live_expires_visibly(queue):
    made = queue.enqueue(WORLD, "show_journal", {"journal": "Handout"}, now=0.0, ttl_s=60.0)
    assert queue.find(WORLD, made["id"])["status"] == "queued"
    assert queue.counts(WORLD, now=10.0).depth["cosmetic"] == 1
    assert queue.pending(WORLD, now=61.0) == []
    expired = queue.find(WORLD, made["id"])
    assert expired["status"] == "expired" and "time to live" in expired["reason"]
    assert queue.counts(WORLD, now=61.0).expired == 1


def test_the_same_command_id_queues_once(queue):
    first = queue.enqueue(WORLD, "advance_turn", {}, now=0.0, command_id="turn-3-1")
    again = queue.enqueue(WORLD, "advance_turn", {}, now=1.0, command_id="turn-3-1")
    assert again["seq"] == first["seq"] and len(queue.pending(WORLD, now=2.0)) == 1


def test_a_full_queue_refuses_cosmetic_then_chat_and_keeps_room_for_combat(queue):
    for i in range(LIMITS["cosmetic"]):
        queue.enqueue(WORLD, "move_token", {"i": i}, now=0.0, ttl_s=10_000)
    with pytest.raises(QueueFull) as full:
        queue.enqueue(WORLD, "spawn_token", {}, now=0.0)
    assert full.value.code == "bridge/queue_full" and "is a bridge connected" in str(full.value)
    for i in range(CAPACITY - LIMITS["cosmetic"]):
        queue.enqueue(WORLD, "create_chat_message", {"i": i}, now=0.0, ttl_s=10_000)
    with pytest.raises(QueueFull):
        queue.enqueue(WORLD, "create_chat_message", {}, now=0.0)
    assert queue.enqueue(WORLD, "apply_damage", {"amount": 1}, now=0.0)["status"] == "queued"
    assert sum(queue.counts(WORLD, now=1.0).depth.values()) == CAPACITY + 1  # nothing queued was dropped
    # what the server itself could not queue (the campaign's own chat for the world) is expired at once, with why
    queue.shed(WORLD, "create_chat_message", {"content": "The torch gutters."}, "c7-0", now=2.0, reason="never sent: full")
    queue.shed(WORLD, "create_chat_message", {"content": "The torch gutters."}, "c7-0", now=3.0, reason="again")
    shed = queue.find(WORLD, "c7-0")
    assert (shed["status"], shed["reason"], shed["finished_at"]) == ("expired", "never sent: full", 2.0)
    assert queue.counts(WORLD, now=3.0).expired == 1 and sum(queue.counts(WORLD, now=3.0).depth.values()) == CAPACITY + 1


def test_the_queue_outlives_a_restart(tmp_path):
    store = Store.open(tmp_path / "data")
    made = BridgeQueue(store).enqueue(WORLD, "apply_condition", {"actor": "Ayla", "condition": "frightened"}, now=0.0)
    store.close()
    store = Store.open(tmp_path / "data")
    try:
        assert [c["id"] for c in BridgeQueue(store).pending(WORLD, now=1.0)] == [made["id"]]
        assert BridgeQueue(store).pending("c1/other", now=1.0) == []  # worlds do not share a queue
    finally:
        store.close()


def test_an_unknown_command_is_refused(queue):
    with pytest.raises(ValueError, match="unknown bridge command"):
        queue.enqueue(WORLD, "launch_missiles", {}, now=0.0)


def test_a_bridge_gets_what_it_has_not_seen_and_what_it_left_unacked_for_a_while(queue):
    first = queue.enqueue(WORLD, "create_chat_message", {"content": "one"}, now=0.0)
    assert [c["id"] for c in queue.pending(WORLD, now=1.0)] == [first["id"]]
    second = queue.enqueue(WORLD, "create_chat_message", {"content": "two"}, now=2.0)
    assert [c["id"] for c in queue.pending(WORLD, now=3.0, after=first["seq"])] == [second["id"]]
    assert queue.pending(WORLD, now=4.0, after=second["seq"]) == []  # both seen, not yet acked
    again = queue.pending(WORLD, now=40.0, after=second["seq"])  # unacked past the redelivery time
    assert [(c["id"], c["deliveries"]) for c in again] == [(first["id"], 2), (second["id"], 2)]
