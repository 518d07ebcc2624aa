"""What the runtime and the server ask of a store: the ``Store`` protocol and its records.

Two stores implement it: ``snapshots.store.Store`` (RocksDB, one data directory) and
``snapshots.memory.MemoryStore`` (a process's memory, for tests and simulations); one
contract suite (``tests/snapshots/test_store_contract.py``) runs against both.  Both lay
their records out in the same column families under the same keys (``snapshots.keys``),
so a :class:`Batch` of raw puts and deletes (tokens, rules books) means the same to each.

Nothing here imports RocksDB or trio.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator, Protocol, runtime_checkable

from .health import StorageHealth

JOURNAL, SNAPSHOTS, TIMERS, META = "journal", "snapshots", "timers", "meta"
COLUMN_FAMILIES = (JOURNAL, SNAPSHOTS, TIMERS, META)
SNAPSHOTS_KEPT = 2


@dataclass(frozen=True, slots=True)
class Timer:
    """A stored timer: ``address`` gets ``TimerFired(name, id, payload)`` at ``due_ms``."""

    address: str
    name: str
    due_ms: int
    id: str
    payload: Any = None


@dataclass(slots=True)
class Batch:
    """Writes that must land together: built by the caller, written by ``GroupCommit``.

    ``timers`` records the timer changes already queued here (None: cancelled), so that a
    later change in the same batch sees them: a handler that consumes a fired timer and
    schedules the same name again must end with the new schedule, not with nothing.
    """

    ops: list[tuple[str, bytes, bytes | None]] = field(default_factory=list)
    timers: dict[tuple[str, str], "Timer | None"] | None = None

    def put(self, cf: str, key: bytes, value: bytes) -> None:
        self.ops.append((cf, key, value))

    def delete(self, cf: str, key: bytes) -> None:
        self.ops.append((cf, key, None))

    def __len__(self) -> int:
        return len(self.ops)


@runtime_checkable
class Store(Protocol):
    """A store the runtime can run on.

    Writes go through :meth:`write` only: the ``append_event``/``put_*``/``set_*``/``add_*``
    methods queue changes in a :class:`Batch` and write nothing.  Reads see every write that
    returned, synced or not.  Reads that meet a damaged record raise ``StoreCorrupt``; a
    write refused by the circuit breaker (``health``) raises ``StorageUnavailable``.
    """

    health: StorageHealth
    generation: int  # counts reopenings: what was read before one may be stale
    closed: bool

    @property
    def path(self) -> Path | None:
        """The data directory (None: the store lives in memory only)."""

    # -- writing, durability, recovery (``snapshots.commit``, ``snapshots.recovery``) --

    def write(self, batches: list[Batch], sync: bool = True) -> None:
        """Write ``batches`` as one atomic write (durable when ``sync``)."""

    def sync_wal(self) -> None:
        """Make every write so far durable (blocking; run in a worker thread)."""

    def probe_disk(self) -> None:
        """Raise ``OSError`` while the medium refuses writes (blocking)."""

    def reopen(self) -> None:
        """Start over after a fault; ``generation`` moves on."""

    def write_probe(self) -> None:
        """Write a record past the breaker: the recovery's last check."""

    def free_bytes(self) -> int | None:
        """Bytes the store may still grow by (None: cannot tell)."""

    def close(self) -> None:
        """Release the store; idempotent."""

    # -- journal -------------------------------------------------------------------

    def append_event(self, batch: Batch, address: str, seq: int, value: Any) -> None: ...

    def last_seq(self, address: str) -> int:
        """Sequence number of the newest journaled event of ``address`` (0 if none)."""

    def read_journal(self, address: str, after: int = 0, limit: int | None = None) -> Iterator[tuple[int, Any]]:
        """Events of ``address`` with seq > ``after``, oldest first, decoded."""

    # -- snapshots -----------------------------------------------------------------

    def put_snapshot(self, batch: Batch, address: str, seq: int, value: Any) -> int:
        """Add a snapshot at ``seq``, drop all but the newest ``SNAPSHOTS_KEPT``; returns its size."""

    def snapshots_raw(self, address: str, before: int | None = None) -> Iterator[tuple[int, bytes]]:
        """Stored snapshots of ``address`` (below seq ``before``), newest first, undecoded; lazy."""

    # -- timers --------------------------------------------------------------------

    def put_timer(self, batch: Batch, timer: Timer) -> None:
        """Schedule ``timer``, replacing any timer of the same name on the same actor."""

    def delete_timer(self, batch: Batch, address: str, name: str, only_id: str | None = None) -> bool:
        """Cancel the named timer (as ``batch`` would leave it); with ``only_id``, only that schedule."""

    def get_timer(self, address: str, name: str) -> Timer | None: ...

    def timers_of(self, address: str) -> list[Timer]:
        """The timers of ``address``, earliest first."""

    def due_timers(self, until_ms: int, limit: int | None = 1000) -> list[Timer]:
        """Timers due at or before ``until_ms``, earliest first."""

    def timer_count(self) -> int: ...

    def next_timer_due(self, after_ms: int = -1) -> int | None:
        """Due time (ms) of the earliest stored timer due after ``after_ms``, or None."""

    # -- meta: small records of the layers above, idempotency, actors, dead letters --

    def get_meta(self, key: bytes) -> Any | None: ...

    def meta_prefix_exists(self, prefix: bytes) -> bool: ...

    def meta_items(self, prefix: bytes) -> Iterator[tuple[bytes, Any]]: ...

    def put_idempotent(self, batch: Batch, address: str, key: str, record: dict[str, Any], at_ms: int) -> None: ...

    def get_idempotent(self, address: str, key: str) -> dict[str, Any] | None: ...

    def prune_idempotent(self, before_ms: int, limit: int = 10_000) -> int:
        """Delete up to ``limit`` idempotency records written before ``before_ms``; how many went."""

    def register_actor(self, batch: Batch, address: str, info: dict[str, Any]) -> None: ...

    def actor_known(self, address: str) -> bool: ...

    def known_actors(self, prefix: str = "", after: str = "") -> Iterator[tuple[str, dict[str, Any]]]:
        """Every registered actor in address order, narrowed to ``prefix``, starting past ``after``."""

    def set_halted(self, batch: Batch, address: str, record: dict[str, Any] | None) -> None: ...

    def halted_actors(self) -> dict[str, dict[str, Any]]: ...

    def add_dead_letter(self, batch: Batch, record: dict[str, Any]) -> int:
        """Queue a dead letter in ``batch``; returns its number (1, 2, ...)."""

    def dead_letters(self, after: int = 0, limit: int = 100) -> list[dict[str, Any]]: ...
