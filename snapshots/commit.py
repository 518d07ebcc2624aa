"""Group commit: many actors' batches, one durable RocksDB write.

Actors call :meth:`GroupCommit.commit` and wait (or :meth:`GroupCommit.submit` now and
:meth:`GroupCommit.wait` later, to decide their next command while this one is on its way
to disk); a single committer task takes everything queued since its last write and writes it
as one ``WriteBatch``.  Groups are written one after another, so they finish in the order
they were submitted.  While one write is on its way to disk the next group gathers, so the
cost of an fsync is shared by every actor that committed meanwhile.  ``commit`` returns only once its batch is durable: an
acknowledgement built on it survives ``kill -9`` and power loss.

By default (``mode="thread"``) the committer writes the group to RocksDB unsynced, on the
loop (a write into the WAL file's page cache), and syncs the WAL in a worker thread that
does not hold the GIL: a slow or stalled disk delays these acknowledgements, never reads,
health checks or other work.  ``mode="inline"`` makes one synced RocksDB write on the loop
instead; rocksdict holds the GIL through its fsync, so it is only for tests and benchmarks.

A failed write fails every batch of its group with ``StorageUnavailable`` and trips the
store's breaker; while it is open, commits are refused at once (``snapshots.recovery``
closes it again).

Under an autojumping ``trio.testing.MockClock`` a task waiting for a thread looks idle, and
the clock would jump past the sync (every ask timing out at once): there the WAL is
synced on the loop instead, the same calls without the thread.
"""
from __future__ import annotations

import math
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Literal

import trio

from .errors import StorageUnavailable, StoreError
from .protocol import Batch, Store


@dataclass(slots=True, eq=False)
class Group:
    """The batches written together by one write; ``done`` once its outcome (``error``) is known."""

    batches: list[Batch] = field(default_factory=list)
    waiters: list[trio.lowlevel.Task] = field(default_factory=list)
    notify: list[Callable[[], None]] = field(default_factory=list)
    error: BaseException | None = None
    done: bool = False


def _uncancellable(_: object) -> trio.lowlevel.Abort:
    return trio.lowlevel.Abort.FAILED


@dataclass(slots=True)
class CommitStats:
    writes: int = 0
    batches: int = 0
    largest_group: int = 0
    failed_writes: int = 0


class GroupCommit:
    """Batches concurrent commits into durable writes.  Run :meth:`run` in a nursery."""

    def __init__(self, store: Store, mode: Literal["inline", "thread"] = "thread") -> None:
        if mode not in ("inline", "thread"):
            raise ValueError(f"commit mode is 'thread' or 'inline', not {mode!r}")
        self.store = store
        self.mode = mode
        self.stats = CommitStats()
        self.io = trio.Lock()  # held through each write; the recovery holds it to reopen the store
        self._syncer = trio.CapacityLimiter(1)  # the WAL sync's own thread: never queued behind other work
        self._open = Group()
        self._committer: trio.lowlevel.Task | None = None  # set while it waits for work
        self._closed = False
        self._sync_in_thread = True

    async def commit(self, batch: Batch) -> None:
        """Write ``batch`` durably together with whatever else is queued.

        Raises ``StorageUnavailable`` when the write fails or the store is refusing writes
        (its breaker open), ``StoreError`` when the store is closed.
        """
        await self.wait(self.submit(batch))

    def submit(self, batch: Batch, notify: Callable[[], None] | None = None) -> Group:
        """Queue ``batch`` for the next write and return its group; ``notify`` is called (on the loop)
        once the group's outcome is known.  Raises at once what :meth:`commit` raises for a refused write.
        """
        if self._closed:
            raise StoreError("store is closed")
        if self.store.health.fault is not None:
            raise self.store.health.refusal()
        group = self._open
        group.batches.append(batch)
        if notify is not None:
            group.notify.append(notify)
        if self._committer is not None:
            trio.lowlevel.reschedule(self._committer)
            self._committer = None
        return group

    async def wait(self, group: Group) -> None:
        """Wait until ``group`` is written; raise its failure as :meth:`commit` does.

        Once queued the batch will be written; the caller must see the outcome so its
        in-memory state never diverges from the journal, so this wait is not cancellable.
        """
        if group.done:
            await trio.lowlevel.cancel_shielded_checkpoint()
        else:
            group.waiters.append(trio.lowlevel.current_task())
            await trio.lowlevel.wait_task_rescheduled(_uncancellable)
        raise_failure(group)

    async def run(self, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        clock = trio.lowlevel.current_clock()
        # A MockClock's module is imported by whoever made it; the server never does (trio.testing
        # imports pytest when it is installed: 8 MB in every shard).
        testing = sys.modules.get("trio.testing")
        mock = testing is not None and isinstance(clock, testing.MockClock)
        self._sync_in_thread = not (mock and clock.autojump_threshold != math.inf)
        task_status.started()
        try:
            while True:
                if not self._open.batches:
                    self._committer = trio.lowlevel.current_task()

                    def abort(_: object) -> trio.lowlevel.Abort:
                        self._committer = None
                        return trio.lowlevel.Abort.SUCCEEDED

                    await trio.lowlevel.wait_task_rescheduled(abort)
                await self._flush()
                await trio.lowlevel.checkpoint()
        finally:
            with trio.CancelScope(shield=True):
                self._closed = True
                await self._flush()

    async def _flush(self) -> None:
        group, self._open = self._open, Group()
        if not group.batches:
            return
        try:
            async with self.io:
                if self.mode == "inline":
                    self.store.write(group.batches)
                else:
                    self.store.write(group.batches, sync=False)
                    if self._sync_in_thread:
                        await trio.to_thread.run_sync(self.store.sync_wal, limiter=self._syncer)
                    else:
                        self.store.sync_wal()
        except BaseException as exc:  # every waiter must learn the outcome
            group.error = exc
            self.stats.failed_writes += 1
            if not isinstance(exc, Exception):
                raise
        finally:
            self.stats.writes += 1
            self.stats.batches += len(group.batches)
            self.stats.largest_group = max(self.stats.largest_group, len(group.batches))
            group.done = True
            for task in group.waiters:
                trio.lowlevel.reschedule(task)
            for notify in group.notify:
                notify()


def raise_failure(group: Group) -> None:
    """Raise ``group``'s failure, if it failed: one exception object per caller."""
    error = group.error
    if isinstance(error, StorageUnavailable):
        raise StorageUnavailable(error.code, error.cause, error.applied, error.retry_after) from error
    if error is not None:
        raise StoreError(f"commit failed: {error}") from error
