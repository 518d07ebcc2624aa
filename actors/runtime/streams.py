"""Streams: every actor's journal, followed live, resumable by sequence number.

``Runtime.subscribe(address, since)`` yields, in order:

- without ``since``: ``Snapshot(seq, state)``, then ``Published(seq, event)`` for each later event;
- with ``since``: every journaled event after ``since`` (backfilled from RocksDB), then live
  ones, with no gap and no duplicate; if ``since`` lies further back than
  ``resume_window`` events, a ``Snapshot`` instead;
- ``Resync(reason)`` followed by a fresh ``Snapshot`` when the subscriber fell more than
  its buffer behind: a slow subscriber is cut loose, it never slows the actor;
- ``Transient(kind, data)`` between events: live, never stored, not numbered and not
  resumed (a narration's tokens as they come; the finished text is an event). A buffer
  without room drops them rather than cut the subscriber loose.

The subscriber is attached by a message the actor handles between two commands, so the
state and sequence it starts from are exactly those the live events follow.  While
anyone subscribes, the actor is not passivated for idleness; if it stops anyway
(operator, shutdown), the stream re-attaches from its last sequence number.
"""
from __future__ import annotations

from collections import deque
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, AsyncIterator

from snapshots import StoreCorrupt

from ..errors import ActorCorrupt, ActorError, ActorStopped
from ..messages import Event
from .mailbox import TaskSlot

if TYPE_CHECKING:
    from .host import Host


@dataclass(frozen=True, slots=True)
class Snapshot:
    seq: int
    state: Any


@dataclass(frozen=True, slots=True)
class Published:
    seq: int
    event: Event


@dataclass(frozen=True, slots=True)
class Resync:
    reason: str


@dataclass(frozen=True, slots=True)
class Transient:
    kind: str
    data: dict[str, Any]


class BadSince(ActorError):
    """``since`` is ahead of the actor's journal."""

    code = "stream/bad_since"


class Attach:
    """Internal message: the actor adds ``subscriber`` and answers ``(state, seq)``."""

    __slots__ = ("subscriber",)

    def __init__(self, subscriber: "Subscriber") -> None:
        self.subscriber = subscriber


class Subscriber:
    """The actor's side of one subscription: a bounded buffer it pushes into, never waiting."""

    __slots__ = ("capacity", "_items", "_consumer", "overflowed", "stopped")

    def __init__(self, capacity: int) -> None:
        self.capacity = capacity
        self._items: deque[tuple[int, Event] | Transient] = deque()
        self._consumer = TaskSlot()
        self.overflowed = False
        self.stopped = False

    def push(self, first_seq: int, events: list[Event]) -> None:
        if self.overflowed:
            return
        if len(self._items) + len(events) > self.capacity:
            self.overflowed = True
            self._items.clear()
        else:
            self._items.extend(zip(range(first_seq, first_seq + len(events)), events, strict=True))
        self._consumer.wake()

    def push_transient(self, item: Transient) -> bool:
        """Queue ``item`` if there is room (events keep theirs); whether it was queued."""
        if self.overflowed or self.stopped or len(self._items) >= self.capacity // 2:
            return False
        self._items.append(item)
        self._consumer.wake()
        return True

    def stop(self) -> None:
        """The actor is leaving memory: the consumer re-attaches."""
        self.stopped = True
        self._consumer.wake()

    async def next(self) -> tuple[int, Event] | Transient | None:
        """The next live event or transient; None when overflowed or stopped (check the flags)."""
        while not self._items:
            if self.overflowed or self.stopped:
                return None
            await self._consumer.park()
        return self._items.popleft()


async def stream(runtime: "Host", address: str, since: int | None, capacity: int) -> AsyncIterator[Any]:
    behavior = runtime.behavior_of(address)
    window = runtime.config.resume_window
    last: int | None = since
    while True:
        subscriber = Subscriber(capacity)
        try:
            state, head = await runtime.ask(address, Attach(subscriber))  # type: ignore[arg-type]
        except ActorStopped:
            return
        try:
            if last is not None and last > head:
                raise BadSince(f"{address} has {head} events; cannot resume after {last}")
            if last is None or head - last > window:
                yield Snapshot(head, state)
            else:
                while last < head:  # backfill; live events wait in the subscriber's buffer
                    try:  # events before the actor's snapshot were not read when it started
                        page = list(runtime.store.read_journal(address, after=last, limit=min(500, head - last)))
                    except StoreCorrupt as exc:
                        raise ActorCorrupt(address, str(exc)) from exc
                    for seq, stored in page:
                        yield Published(seq, behavior.load_event(stored))
                        last = seq
            last = head
            while True:
                item = await subscriber.next()
                if item is None:
                    break
                if isinstance(item, Transient):
                    yield item
                    continue
                last = item[0]
                yield Published(*item)
            if subscriber.overflowed:
                yield Resync(f"more than {capacity} events behind")
                last = None
        finally:
            runtime.detach(address, subscriber)
