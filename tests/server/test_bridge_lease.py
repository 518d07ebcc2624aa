"""The emitter's election among a world's bridges (issue 24), as a table over time: no runtime."""
from __future__ import annotations

import pytest

from server.bridge.lease import Emitters


@pytest.mark.parametrize("beats, emitter", [
    ([("a", 0.0)], "a"),
    ([("a", 0.0), ("b", 1.0)], "a"),                # the first keeps it while it beats
    ([("a", 0.0), ("b", 1.0), ("a", 9.0), ("b", 12.0)], "a"),
    ([("a", 0.0), ("b", 5.0), ("b", 10.5)], "b"),   # a went silent for the lease: b takes over
])
def test_one_emitter_per_world(beats, emitter):
    emitters = Emitters(lease_s=10.0)
    answers = [emitters.heartbeat("c1/w", instance, "tok", at) for instance, at in beats]
    assert emitters.emitter("c1/w", beats[-1][1]).instance == emitter
    assert answers[-1] is (beats[-1][0] == emitter)


def test_worlds_elect_apart_and_a_silent_world_has_none():
    emitters = Emitters(lease_s=10.0)
    assert emitters.heartbeat("c1/w", "a", "t1", 0.0) and emitters.heartbeat("c2/w", "b", "t2", 0.0)
    assert emitters.connected("c1/w", 5.0) == ["a"]
    assert emitters.emitter("c1/w", 11.0) is None and emitters.connected("c1/w", 11.0) == []


def test_a_bridge_that_leaves_frees_its_lease_at_once_and_the_long_gone_are_forgotten():
    emitters = Emitters(lease_s=10.0)
    emitters.heartbeat("c1/w", "a", "t", 0.0)
    assert not emitters.heartbeat("c1/w", "b", "t", 1.0)
    assert not emitters.release("c1/w", "b")  # not the emitter: nothing to hand over
    assert emitters.release("c1/w", "a") and emitters.emitter("c1/w", 1.5) is None
    assert emitters.heartbeat("c1/w", "b", "t", 1.5)  # long before a's lease would have lapsed
    emitters.heartbeat("c1/w", "c", "t", 2.0)
    emitters.heartbeat("c1/w", "b", "t", 7200.0)  # c, silent for two hours, leaves the listing
    assert list(emitters.seen["c1/w"]) == ["b"]
