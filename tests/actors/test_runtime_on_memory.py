"""The runtime on the memory store: the same stories as on RocksDB, and a restart that replays
what the memory store kept (the store, not the process, is what a runtime starts from)."""
from __future__ import annotations

import pytest
import trio
import trio.testing

from actors import Ack, RuntimeConfig, TrioClock, VirtualClock, open_runtime
from snapshots import MemoryStore

from ..kinds import Add, LedgerKind, Remind, SubLedgerKind
# Collected here again, these stories run on this module's ``store`` fixture: the memory store.
from .test_runtime import (  # noqa: F401
    test_ask_acks_with_sequence_and_state_follows, test_crash_restarts_with_state_intact_and_others_unaffected,
    test_escalation_reaches_the_parent, test_poison_message_is_dead_lettered_and_the_actor_goes_on,
    test_rejection_changes_nothing,
)
from .test_timers import (  # noqa: F401
    test_cancel_and_reschedule_by_name, test_exactly_the_due_timers_fire_in_due_order,
    test_the_figures_count_the_timers_stored_beside_those_firing, test_timer_wakes_a_passivated_actor,
)

KINDS = [LedgerKind(), SubLedgerKind()]


@pytest.fixture
def store():
    store = MemoryStore()
    yield store
    store.close()


def config(**overrides) -> RuntimeConfig:
    return RuntimeConfig(lag_interval=None, **overrides)


async def test_a_new_runtime_on_the_same_memory_store_recovers_state_and_timers(store, autojump_clock):
    clock = VirtualClock()
    async with open_runtime(store, KINDS, clock=clock, config=config(snapshot_every=3)) as rt:
        for n in range(1, 8):
            await rt.ask("ledger/a", Add(amount=n))
        await rt.ask("ledger/a", Remind(name="later", after_s=100))
    assert [seq for seq, _ in store.snapshots_raw("ledger/a")]  # snapshotted on the way out

    clock.advance(150)   # down past the due time
    async with open_runtime(store, KINDS, clock=clock, config=config(snapshot_every=3)) as rt:
        await trio.testing.wait_all_tasks_blocked()
        state = rt.state_of("ledger/a")[0]
        assert (state.total, state.reminders) == (28, ("later",))
        assert await rt.ask("ledger/a", Add(amount=100)) == Ack(seq=9, events=1)  # seven added, one reminded


@pytest.mark.parametrize("commit_mode", ["thread", "inline"])
async def test_both_commit_modes_run_on_the_memory_store(store, autojump_clock, commit_mode):
    async with open_runtime(store, KINDS, clock=TrioClock(), config=config(commit_mode=commit_mode)) as rt:
        assert await rt.ask("ledger/a", Add(amount=2)) == Ack(seq=1, events=1)
    assert store.last_seq("ledger/a") == 1 and store.actor_known("ledger/a")
