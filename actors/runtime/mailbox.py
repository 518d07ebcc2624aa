"""A bounded FIFO mailbox: one consumer (the actor), many producers.

Producers either wait for room (``put``: backpressure inside the server) or fail at once
(``put_nowait`` raises ``Overloaded``: for requests arriving from clients).  A producer
that awaits each ``put`` sees its messages handled in the order it sent them.

Thousands of idle actors each hold one, so it is lean: a list (at most ``capacity``
long, so popping its head is cheap), the consumer parked directly, and a parking lot for
waiting producers made only when one has to wait.
"""
from __future__ import annotations

from typing import Any

import trio

from ..errors import Overloaded


class TaskSlot:
    """Room for one parked task: ``park`` waits (cancellable) until ``wake``."""

    __slots__ = ("_task",)

    def __init__(self) -> None:
        self._task: trio.lowlevel.Task | None = None

    async def park(self) -> None:
        self._task = trio.lowlevel.current_task()

        def abort(_: Any) -> trio.lowlevel.Abort:
            self._task = None
            return trio.lowlevel.Abort.SUCCEEDED

        await trio.lowlevel.wait_task_rescheduled(abort)

    def wake(self) -> None:
        if self._task is not None:
            trio.lowlevel.reschedule(self._task)
            self._task = None


class Mailbox:
    __slots__ = ("address", "capacity", "_items", "_consumer", "_senders")

    def __init__(self, address: str, capacity: int) -> None:
        if capacity < 1:
            raise ValueError("mailbox capacity must be at least 1")
        self.address = address
        self.capacity = capacity
        self._items: list[Any] = []
        self._consumer = TaskSlot()
        self._senders: trio.lowlevel.ParkingLot | None = None

    def __len__(self) -> int:
        return len(self._items)

    def full(self) -> bool:
        return len(self._items) >= self.capacity

    def put_nowait(self, item: Any) -> None:
        """Enqueue ``item`` or raise ``Overloaded`` if the mailbox is full."""
        if len(self._items) >= self.capacity:
            raise Overloaded(self.address, self.capacity)
        self._items.append(item)
        self.interrupt()

    async def wait_for_room(self) -> None:
        while len(self._items) >= self.capacity:
            if self._senders is None:
                self._senders = trio.lowlevel.ParkingLot()
            await self._senders.park()

    async def get(self) -> Any:
        """Take the oldest message, waiting for one; None if :meth:`interrupt` woke us first."""
        if self._items:
            await trio.lowlevel.checkpoint()
        else:
            await self._consumer.park()
        if not self._items:
            return None
        item = self._items.pop(0)
        if self._senders:
            self._senders.unpark()
        return item

    def interrupt(self) -> None:
        """Wake the consumer waiting in :meth:`get` (it returns None if nothing arrived)."""
        self._consumer.wake()

    def drain(self) -> list[Any]:
        items, self._items = self._items, []
        if self._senders:
            self._senders.unpark_all()
        return items
