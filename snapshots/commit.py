"""Group commit: many actors' batches, one synced RocksDB write.

Actors call :meth:`GroupCommit.commit` and wait; a single committer task takes everything
queued since its last write and writes it as one ``WriteBatch`` with ``sync=True``.
While one write is on its way to disk the next group gathers, so the cost of an fsync is
shared by every actor that committed meanwhile.  ``commit`` returns only once its batch
is durable: an acknowledgement built on it survives ``kill -9``.

The write runs on the trio loop by default (``mode="inline"``): rocksdict keeps the GIL
through a synced write, so a worker thread frees the loop very little and adds a thread
hop (measured by ``everturn bench runtime``).  ``mode="thread"`` is kept for disks
whose fsync is slow.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

import trio

from .errors import StoreError
from .store import Batch, Store


@dataclass(slots=True)
class _Group:
    batches: list[Batch] = field(default_factory=list)
    waiters: list[trio.lowlevel.Task] = field(default_factory=list)
    error: BaseException | None = None


def _uncancellable(_: object) -> trio.lowlevel.Abort:
    return trio.lowlevel.Abort.FAILED


@dataclass(slots=True)
class CommitStats:
    writes: int = 0
    batches: int = 0
    largest_group: int = 0


class GroupCommit:
    """Batches concurrent commits into synced writes.  Run :meth:`run` in a nursery."""

    def __init__(self, store: Store, mode: Literal["inline", "thread"] = "inline") -> None:
        self.store = store
        self.mode = mode
        self.stats = CommitStats()
        self._open = _Group()
        self._committer: trio.lowlevel.Task | None = None  # set while it waits for work
        self._closed = False

    async def commit(self, batch: Batch) -> None:
        """Write ``batch`` durably together with whatever else is queued; raises ``StoreError``."""
        if self._closed:
            raise StoreError("store is closed")
        group = self._open
        group.batches.append(batch)
        group.waiters.append(trio.lowlevel.current_task())
        if self._committer is not None:
            trio.lowlevel.reschedule(self._committer)
            self._committer = None
        # Once queued the batch will be written; the caller must see the outcome so its
        # in-memory state never diverges from the journal, so this wait is not cancellable.
        await trio.lowlevel.wait_task_rescheduled(_uncancellable)
        if group.error is not None:
            raise StoreError(f"commit failed: {group.error}") from group.error

    async def run(self, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
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
        group, self._open = self._open, _Group()
        if not group.batches:
            return
        try:
            if self.mode == "thread":
                await trio.to_thread.run_sync(self.store.write, group.batches)
            else:
                self.store.write(group.batches)
        except BaseException as exc:  # every waiter must learn the outcome
            group.error = exc
            if not isinstance(exc, Exception):
                raise
        finally:
            self.stats.writes += 1
            self.stats.batches += len(group.batches)
            self.stats.largest_group = max(self.stats.largest_group, len(group.batches))
            for task in group.waiters:
                trio.lowlevel.reschedule(task)
