"""The runtime on a disk that fills up (issue 19, item 1): it degrades and comes back, never dies.

A real RocksDB on a tmpfs of a few MiB.  The fault that used to end the process: a
command crashes its actor on every attempt, and its dead letter cannot be written either.
"""
from __future__ import annotations

import logging

import pytest
import trio

from actors import Ack, ActorCrashed, RuntimeConfig, StorageDown, TrioClock, open_runtime
from snapshots import Store

from ..faults import fill, small_disk
from ..kinds import Add, Boom, LedgerKind, Remind

KIND = LedgerKind()
CONFIG = RuntimeConfig(lag_interval=None, storage_retry_first=0.5, storage_retry_last=2.0)


async def filled_up(rt, address: str) -> int:
    """Add to ``address`` until the disk refuses; the last acknowledged seq."""
    seq = 0
    for _ in range(20_000):
        try:
            seq = (await rt.ask(address, Add(amount=1))).seq
        except StorageDown as exc:
            assert exc.code == "storage/full" and exc.applied is False
            return seq
    raise AssertionError("the disk never filled up")


async def test_a_full_disk_fails_commands_holds_timers_and_recovers_without_losing_anything(
        tmp_path, autojump_clock, caplog):
    caplog.set_level(logging.WARNING, logger="everturn")
    with small_disk(tmp_path / "disk", 16) as disk:
        store = Store.open(disk / "data")
        try:
            async with open_runtime(store, [KIND], clock=TrioClock(), config=CONFIG) as rt:
                await rt.ask("ledger/t", Remind(name="nudge", after_s=60, note="due"))
                filler = fill(disk)
                acked = await filled_up(rt, "ledger/a")

                with pytest.raises(ActorCrashed):  # crashed twice; its dead letter not writable either
                    await rt.ask("ledger/b", Boom(times=5))
                with pytest.raises(StorageDown):
                    await rt.ask("ledger/a", Add(amount=1))
                assert rt.state_of("ledger/a") == (rt.cells["ledger/a"].state, acked)
                await trio.sleep(120)  # the timer comes due while nothing can be stored: held
                assert rt.state_of("ledger/t")[0].reminders == ()
                assert rt.figures()["storage"]["state"] == "degraded"

                filler.unlink()
                while store.health.degraded:
                    await trio.sleep(0.5)
                await trio.testing.wait_all_tasks_blocked()
                assert rt.state_of("ledger/t")[0].reminders == ("nudge",)  # fired once it could be stored
                assert await rt.ask("ledger/a", Add(amount=1)) == Ack(seq=acked + 1, events=1)
                assert rt.figures()["storage"]["recoveries"] == 1
        finally:
            store.close()
        store = Store.open(disk / "data")
        try:
            assert [seq for seq, _ in store.read_journal("ledger/a")] == list(range(1, acked + 2))
        finally:
            store.close()
    lost = [r.getMessage() for r in caplog.records if "could not be dead-lettered" in r.getMessage()]
    assert lost and "Boom" in lost[0] and "'times': 5" in lost[0]  # the log keeps what the disk could not
