"""Bring a store at fault back to writing, by itself, once the disk takes writes again.

While the store's breaker is open (``store.health``), this task tries again after 0.5 s,
then after twice as long each time up to 30 s: it writes and syncs a probe file beside
the data (the disk itself: space freed, writable again), reopens RocksDB (which, once a
WAL write failed, refuses every write until reopened) and writes a probe record through
it.  Only then does the breaker close and ``recovered`` run.  One attempt at a time, with
the group commit's write lock held, so no write races the reopening.
"""
from __future__ import annotations

import logging
import time
from typing import Callable

import trio

from .commit import GroupCommit
from .errors import StoreError

log = logging.getLogger("everturn.storage")

FIRST_RETRY_S = 0.5
LAST_RETRY_S = 30.0
STEADY_S = 60.0  # healthy this long after a recovery: the next fault starts the backoff over


async def keep_writable(commits: GroupCommit, recovered: Callable[[], None], *, first: float = FIRST_RETRY_S,
                        last: float = LAST_RETRY_S, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
    """Run for the store's life; ``recovered()`` is called on the loop each time writes work again."""
    health = commits.store.health
    token = trio.lowlevel.current_trio_token()
    faulted = trio.Event()

    def wake() -> None:  # from any thread: a sync in a worker thread trips the breaker too
        token.run_sync_soon(faulted.set)

    health.listener = wake
    task_status.started()
    delay = first
    while True:
        if health.fault is None:
            await faulted.wait()
            faulted = trio.Event()
            if health.fault is None:
                continue
            if health.last_recovered is None or time.time() - health.last_recovered > STEADY_S:
                delay = first
            log.error("storage degraded (%s): %s; writes are refused, reads go on; trying again in %.1f s",
                      health.fault.code, health.fault.cause, delay)
        health.next_attempt_at = time.time() + delay
        await trio.sleep(delay)
        error = await _attempt(commits)
        if error is None:
            fault = health.fault
            health.cleared()
            log.warning("storage recovered after %.1f s (%s): writes are taken again",
                        time.time() - fault.since if fault else 0.0, fault.code if fault else "?")
            recovered()
            continue
        delay = min(delay * 2, last)
        health.attempt_failed(error, time.time() + delay)
        log.warning("storage still at fault: %s; trying again in %.1f s", error, delay)


async def _attempt(commits: GroupCommit) -> str | None:
    """One recovery attempt; None when writes work again, else what stopped it."""
    store = commits.store
    try:
        await trio.to_thread.run_sync(store.probe_disk)
    except OSError as exc:
        return f"the disk still refuses writes: {exc}"
    async with commits.io:
        try:
            store.reopen()
        except StoreError as exc:
            return f"reopening the data directory failed: {exc}"
        try:
            store.write_probe()
            await trio.to_thread.run_sync(store.sync_wal)
        except StoreError as exc:
            return f"a probe write failed: {exc}"
    return None

