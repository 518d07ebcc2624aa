"""A damaged block in the journal's SST file (issue 19, item 3): detected, contained, never a shorter history.

One byte flipped in a data block makes RocksDB's iterator stop with "Corruption: block
checksum mismatch"; read as the end of the journal, it would lose acknowledged events and
let the actor acknowledge the next command at a seq it had already used.
"""
from __future__ import annotations

import logging

import pytest
import trio
import trio.testing

from actors import Ack, ActorCorrupt, RuntimeConfig, TrioClock, open_runtime
from actors.runtime import recover
from snapshots import Store, StoreCorrupt
from snapshots.store import JOURNAL

from ..damage import KIND, corrupt_value_data, damaged_data
from ..kinds import Add


@pytest.fixture
def damaged(tmp_path):
    return damaged_data(tmp_path / "data")


def test_a_damaged_block_raises_instead_of_ending_the_journal_early(damaged):
    store = Store.open(damaged)
    try:
        with pytest.raises(StoreCorrupt) as raised:
            list(store.read_journal("ledger/a"))
        assert raised.value.cf == JOURNAL and "ledger/a" in raised.value.where
        assert raised.value.code == "storage/corrupt" and "checksum" in raised.value.cause
        with pytest.raises(StoreCorrupt):
            recover(KIND, store, "ledger/a")
        assert [seq for seq, _ in store.read_journal("ledger/b")] == [1, 2, 3]
    finally:
        store.close()


async def test_an_actor_with_a_damaged_journal_never_starts_and_never_acknowledges(damaged, autojump_clock, caplog):
    caplog.set_level(logging.CRITICAL, logger="everturn")
    store = Store.open(damaged)
    try:
        async with open_runtime(store, [KIND], clock=TrioClock(), config=RuntimeConfig(lag_interval=None)) as rt:
            written = store._db.latest_sequence_number()
            for _ in range(2):  # activated once, then refused at the door
                with pytest.raises(ActorCorrupt) as refused:
                    await rt.ask("ledger/a", Add(amount=1))
                assert refused.value.code == "storage/corrupt" and "ledger/a" in str(refused.value)
            assert store._db.latest_sequence_number() == written  # nothing acknowledged, nothing written
            assert "ledger/a" not in rt.cells and rt.figures()["corrupt"] == ["ledger/a"]
            with pytest.raises(ActorCorrupt):
                rt.state_of("ledger/a")

            assert await rt.ask("ledger/b", Add(amount=5)) == Ack(seq=4, events=1)
            assert rt.state_of("ledger/b")[0].total == 8
    finally:
        store.close()
    [line] = [r.getMessage() for r in caplog.records if "ledger/a" in r.getMessage()]
    assert "not started" in line and "journal" in line and "checksum mismatch" in line


async def test_unreadable_timers_are_logged_and_the_server_keeps_serving(store, autojump_clock, caplog, monkeypatch):
    caplog.set_level(logging.CRITICAL, logger="everturn")

    def damaged_timers(until_ms, limit=None):
        raise StoreCorrupt("timers", f"the timers due by {until_ms} ms", "Corruption: block checksum mismatch")

    monkeypatch.setattr(store, "due_timers", damaged_timers)
    async with open_runtime(store, [KIND], clock=TrioClock(), config=RuntimeConfig(lag_interval=None)) as rt:
        assert await rt.ask("ledger/b", Add(amount=5)) == Ack(seq=1, events=1)
    assert any("timers not delivered" in r.getMessage() and "checksum mismatch" in r.getMessage()
               for r in caplog.records)


async def test_a_journal_value_failing_its_checksum_stops_that_actor_as_corrupt_not_in_a_crash_loop(
        tmp_path, autojump_clock, caplog):
    caplog.set_level(logging.WARNING, logger="everturn")
    data = corrupt_value_data(tmp_path / "data")
    store = Store.open(data)
    try:
        with pytest.raises(StoreCorrupt) as raised:
            list(store.read_journal("ledger/c"))
        assert raised.value.where == "ledger/c seq 3" and "checksum mismatch" in raised.value.cause
        async with open_runtime(store, [KIND], clock=TrioClock(), config=RuntimeConfig(lag_interval=None)) as rt:
            await rt.tell("ledger/c", Add(amount=7))  # queued before the damage is found: a dead letter
            with pytest.raises(ActorCorrupt) as refused:
                await rt.ask("ledger/c", Add(amount=1))
            assert "ledger/c seq 3" in str(refused.value)
            with pytest.raises(ActorCorrupt):
                await rt.ask("ledger/c", Add(amount=1))
            with pytest.raises(ActorCorrupt):
                rt.state_of("ledger/c")
            assert rt.cells.get("ledger/c") is None and rt.figures()["corrupt"] == ["ledger/c"]
            [kind] = rt.tree()["children"]
            assert kind["degraded"] and kind["corrupt"] == ["ledger/c"]
            await trio.testing.wait_all_tasks_blocked()  # its mailbox went to the dead letters
            [letter] = store.dead_letters()
            assert letter["address"] == "ledger/c" and letter["data"] == {"amount": 7}
            assert await rt.ask("ledger/d", Add(amount=2)) == Ack(seq=1, events=1)
    finally:
        store.close()
    crashes = [r for r in caplog.records if "crashed" in r.getMessage()]
    assert crashes == []  # never restarted: a restart reads the same damage
    [line] = [r.getMessage() for r in caplog.records if "not started" in r.getMessage()]
    assert "ledger/c" in line and "seq 3" in line and "checksum mismatch" in line
