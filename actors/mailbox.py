"""A bounded FIFO mailbox: one consumer (the actor), many producers.

Producers either wait for room (``put``: backpressure inside the server) or fail at once
(``put_nowait`` raises ``Overloaded``: for requests arriving from clients).  A producer
that awaits each ``put`` sees its messages handled in the order it sent them.
"""
from __future__ import annotations

from collections import deque
from typing import Any

import trio

from .errors import Overloaded


class Mailbox:
    __slots__ = ("address", "capacity", "_items", "_receiver", "_senders")

    def __init__(self, address: str, capacity: int) -> None:
        if capacity < 1:
            raise ValueError("mailbox capacity must be at least 1")
        self.address = address
        self.capacity = capacity
        self._items: deque[Any] = deque()
        self._receiver = trio.lowlevel.ParkingLot()
        self._senders = trio.lowlevel.ParkingLot()

    def __len__(self) -> int:
        return len(self._items)

    def full(self) -> bool:
        return len(self._items) >= self.capacity

    def put_nowait(self, item: Any) -> None:
        """Enqueue ``item`` or raise ``Overloaded`` if the mailbox is full."""
        if len(self._items) >= self.capacity:
            raise Overloaded(self.address, self.capacity)
        self._items.append(item)
        if self._receiver:
            self._receiver.unpark()

    async def wait_for_room(self) -> None:
        while len(self._items) >= self.capacity:
            await self._senders.park()

    async def get(self) -> Any:
        """Take the oldest message, waiting for one; None if :meth:`interrupt` woke us first."""
        if self._items:
            await trio.lowlevel.checkpoint()
        else:
            await self._receiver.park()
        if not self._items:
            return None
        item = self._items.popleft()
        if self._senders:
            self._senders.unpark()
        return item

    def interrupt(self) -> None:
        """Wake the consumer waiting in :meth:`get` even though nothing arrived."""
        self._receiver.unpark_all()

    def drain(self) -> list[Any]:
        items = list(self._items)
        self._items.clear()
        self._senders.unpark_all()
        return items
