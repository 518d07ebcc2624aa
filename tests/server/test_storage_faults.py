"""A live server whose disk fails under it (issue 19): full, read-only, slow.

Real RocksDB on a real file system, faults from the kernel: a tmpfs that fills up, and
fsync failing with EROFS or taking seconds (strace's syscall fault injection into this
process).  Each test: the server stays up, answers with the documented code, loses
nothing acknowledged, and recovers without a restart once the fault clears.
"""
from __future__ import annotations

import gc
import os
from contextlib import asynccontextmanager
from functools import partial
from pathlib import Path
from typing import Any, AsyncIterator

import httpx
import pytest
import trio

from actors import RuntimeConfig
from server.serve import Running, run_server
from snapshots import Store

from ..faults import Strace, ext4_disk, fill, small_disk
from ..kinds import LedgerKind
from .conftest import GENEROUS, WAIT, add, assert_error, bearer, http_client, operator_token

MOST_POSTS = 20_000
QUICK_RECOVERY = dict(lag_interval=None, storage_retry_first=0.05, storage_retry_last=0.4)


@asynccontextmanager
async def serving(data: Path, **config: Any) -> AsyncIterator[Running]:
    """A server on ``data`` for the ``async with``; stopped (its store closed) when it ends."""
    async with trio.open_nursery() as nursery:
        running = await nursery.start(partial(run_server, data, [LedgerKind()], port=0, settings=GENEROUS,
                                              config=RuntimeConfig(**{**QUICK_RECOVERY, **config})))
        try:
            yield running
        finally:
            running.stop.set()


def once(key: str) -> dict[str, str]:
    return {"Idempotency-Key": key}


async def until_ready(http: httpx.AsyncClient) -> dict[str, Any]:
    with trio.fail_after(WAIT):
        while (response := await http.get("/health/ready")).status_code != 200:
            await trio.sleep(0.05)
    return response.json()


def journal(data: Path, address: str) -> list[int]:
    store = Store.open(data)
    try:
        return [seq for seq, _ in store.read_journal(address)]
    finally:
        store.close()


async def test_a_full_disk_refuses_writes_with_507_keeps_reading_and_recovers_once_space_is_freed(tmp_path):
    with small_disk(tmp_path / "disk", 24) as disk:
        async with serving(disk / "data") as running, http_client(running) as http:
            token = operator_token(running)
            for n in range(1, 4):
                assert (await add(http, token, "ledger/a", n)).json()["seq"] == n
            gc.disable()  # as 'everturn serve' tunes it: cycles wait long for a collection
            filler = fill(disk)
            seq = 3
            for _ in range(MOST_POSTS):  # what RocksDB preallocated for its WAL fills up first
                response = await add(http, token, "ledger/a", 100)
                if response.status_code != 200:
                    break
                seq += 1
                assert response.json()["seq"] == seq
            error = assert_error(response, 507, "storage/full")
            assert error["details"] == {"applied": False}
            assert "disk is full" in error["message"]
            refused = await add(http, token, "ledger/b", 1)  # refused at once: the breaker is open
            assert_error(refused, 507, "storage/full")
            assert int(refused.headers["Retry-After"]) >= 1

            state = await http.get("/api/v1/actors/ledger/a", headers=bearer(token))
            assert state.status_code == 200 and state.json()["seq"] == seq
            assert (await http.get("/health/live")).status_code == 200
            ready = await http.get("/health/ready")
            assert ready.status_code == 503
            assert ready.json()["status"] == "degraded" and ready.json()["reason"]["code"] == "storage/full"
            metrics = (await http.get("/metrics")).text
            assert 'everturn_storage_degraded{code="storage/full"} 1' in metrics
            figures = (await http.get("/api/v1/admin/runtime", headers=bearer(token))).json()
            assert figures["storage"]["state"] == "degraded"

            filler.unlink()
            try:
                await until_ready(http)
            finally:
                gc.enable()
            accepted = await add(http, token, "ledger/a", 4)
            assert accepted.status_code == 200 and accepted.json()["seq"] == seq + 1  # none skipped, none reused
            assert (await add(http, token, "ledger/b", 1)).json()["seq"] == 1
            metrics = (await http.get("/metrics")).text
            assert 'everturn_storage_degraded{code="storage/full"} 0' in metrics
            assert "everturn_storage_recoveries_total 1" in metrics
        assert journal(disk / "data", "ledger/a") == list(range(1, seq + 2))  # every acknowledged event, no other


async def test_a_disk_that_turns_read_only_degrades_the_server_and_recovers_when_it_writes_again(tmp_path):
    async with serving(tmp_path / "data") as running, http_client(running) as http:
        token = operator_token(running)
        assert (await add(http, token, "ledger/a", 1)).json()["seq"] == 1
        with Strace(os.getpid(), "fdatasync,fsync", "error=EROFS"):
            first = await add(http, token, "ledger/a", 2, **once("two"))
            error = assert_error(first, 503, "storage/read_only")
            assert error["details"] == {"applied": None}  # in RocksDB, its sync failed: a retry tells
            assert_error(await add(http, token, "ledger/a", 3), 503, "storage/read_only")
            assert (await http.get("/api/v1/actors/ledger/a", headers=bearer(token))).status_code == 200
            assert (await http.get("/health/ready")).json()["reason"]["code"] == "storage/read_only"
            await trio.sleep(0.3)  # several recovery attempts meet the fault
            assert (await http.get("/health/ready")).status_code == 503
        await until_ready(http)
        retried = await add(http, token, "ledger/a", 2, **once("two"))  # same key: the outcome, exactly once
        assert retried.status_code == 200 and retried.json()["seq"] == 2
        after = await add(http, token, "ledger/a", 5)
        assert after.json()["seq"] == retried.json()["seq"] + 1
    assert journal(tmp_path / "data", "ledger/a") == list(range(1, after.json()["seq"] + 1))


async def test_a_stalled_disk_delays_acknowledgements_but_never_health_reads_or_timeouts(tmp_path):
    async with serving(tmp_path / "data", ask_timeout=1.0) as running, http_client(running) as http:
        token = operator_token(running)
        assert (await add(http, token, "ledger/b", 7)).json()["seq"] == 1
        order: list[str] = []

        async def write() -> None:
            response = await add(http, token, "ledger/a", 1, **once("slow"))
            order.append(f"write {response.status_code}")
            assert_error(response, 503, "runtime/ask_timeout")
            assert "may still be applied" in response.json()["error"]["message"]

        with Strace(os.getpid(), "fdatasync", "delay_enter=4000000"):  # each sync of the WAL takes 4 s more
            async with trio.open_nursery() as requests:
                requests.start_soon(write)
                await trio.sleep(0.2)
                assert (await http.get("/health/live")).status_code == 200
                order.append("live")
                state = await http.get("/api/v1/actors/ledger/b", headers=bearer(token))
                assert state.json()["seq"] == 1
                order.append("read")
                pending = await http.get("/api/v1/actors/ledger/a/events", headers=bearer(token))
                assert pending.json()["items"] == []  # in RocksDB, not yet durable: not shown
        assert order == ["live", "read", "write 503"]  # answered while the write waited on the disk
        retried = await add(http, token, "ledger/a", 1, **once("slow"))  # the timed-out command was applied, once
        assert retried.status_code == 200 and retried.json()["seq"] == 1


async def test_a_file_system_the_kernel_remounts_read_only_degrades_the_server_which_keeps_reading(tmp_path):
    """The real thing behind EROFS: ext4 remounting itself read-only after an error, under a running server."""
    with ext4_disk(tmp_path / "ext4", 64) as remount_read_only:
        async with serving(tmp_path / "ext4" / "data") as running, http_client(running) as http:
            token = operator_token(running)
            for n in range(1, 4):
                assert (await add(http, token, "ledger/a", n)).json()["seq"] == n
            remount_read_only()
            error = assert_error(await add(http, token, "ledger/a", 4), 503, "storage/read_only")
            assert error["details"]["applied"] in (False, None)
            assert_error(await add(http, token, "ledger/b", 1), 503, "storage/read_only")  # refused at once
            state = await http.get("/api/v1/actors/ledger/a", headers=bearer(token))
            assert state.status_code == 200 and state.json()["seq"] == 3  # reads go on, nothing unacknowledged
            assert (await http.get("/health/live")).status_code == 200
            await trio.sleep(1)  # recovery attempts meet the read-only disk and back off; the server stays up
            ready = (await http.get("/health/ready")).json()
            assert ready["reason"]["code"] == "storage/read_only"
            figures = (await http.get("/api/v1/admin/runtime", headers=bearer(token))).json()
            assert figures["storage"]["attempts"] >= 1
