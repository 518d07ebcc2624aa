"""A store in the process's memory, for tests and simulations: ``MemoryStore``.

It is the RocksDB store's record logic (``snapshots.store.Store``: the journal, snapshots,
timers, meta, with the same keys and encoded values) over column families held in memory,
so a :class:`Batch` means the same to both and the two cannot drift apart.  Each column
family is a dict for lookups plus its keys in a sorted list (``bisect``); an iterator reads
from a copy taken when it is made, as a RocksDB iterator reads from an implicit snapshot.
A write applies every batch or, when one names an unknown column family, none; there is
nothing to sync, probe or reopen.  Nothing survives the process; nothing here loads
RocksDB (``snapshots.store`` imports rocksdict, but no database is opened) or trio.
"""
from __future__ import annotations

from bisect import bisect_left, bisect_right, insort
from typing import Any

from . import codec
from .errors import StoreError
from .protocol import COLUMN_FAMILIES, META, Batch
from .store import Store, _Detached


class _Cursor:
    """A RocksDB iterator's interface (what ``Store`` uses of it) over a copy of one column family."""

    def __init__(self, order: list[bytes], values: dict[bytes, bytes]) -> None:
        self._order, self._values, self._at = list(order), dict(values), len(order)

    def seek(self, key: bytes) -> None:
        self._at = bisect_left(self._order, key)

    def seek_for_prev(self, key: bytes) -> None:
        self._at = bisect_right(self._order, key) - 1

    def seek_to_first(self) -> None:
        self._at = 0

    def valid(self) -> bool:
        return 0 <= self._at < len(self._order)

    def key(self) -> bytes:
        return self._order[self._at]

    def value(self) -> bytes:
        return self._values[self._order[self._at]]

    def next(self) -> None:
        self._at += 1

    def prev(self) -> None:
        self._at -= 1

    def status(self) -> None:
        """Memory has no damaged blocks."""


class _Family:
    """One column family: values by key, and the keys in byte order."""

    def __init__(self) -> None:
        self.values: dict[bytes, bytes] = {}
        self.order: list[bytes] = []

    def get(self, key: bytes) -> bytes | None:
        return self.values.get(key)

    def iter(self) -> _Cursor:
        return _Cursor(self.order, self.values)

    def put(self, key: bytes, value: bytes) -> None:
        if key not in self.values:
            insort(self.order, key)
        self.values[key] = value

    def delete(self, key: bytes) -> None:
        if self.values.pop(key, None) is not None:
            del self.order[bisect_left(self.order, key)]


class MemoryStore(Store):
    """A store held in memory (see the module docstring): ``MemoryStore()``; close with :meth:`close`."""

    def __init__(self) -> None:  # no data directory, no RocksDB: only the record logic of Store
        self.path = None  # type: ignore[assignment]
        self._db = None  # type: ignore[assignment]
        self._cf = {name: _Family() for name in COLUMN_FAMILIES}  # type: ignore[misc]
        self._handles = {}
        self._setup()

    def write(self, batches: list[Batch], sync: bool = True) -> None:
        """Apply ``batches`` together (``sync`` changes nothing in memory).

        Raises ``StorageUnavailable`` while the breaker is open, ``StoreError`` once closed or
        when an operation names an unknown column family (then nothing is applied).
        """
        if self.health.fault is not None:
            raise self.health.refusal()
        if self.closed:
            raise StoreError("store is closed")
        ops = [op for batch in batches for op in batch.ops]
        unknown = {cf for cf, _, _ in ops} - set(self._cf)
        if unknown:
            raise StoreError(f"no column family {sorted(unknown)}")
        for cf, key, value in ops:
            family: Any = self._cf[cf]
            if value is None:
                family.delete(key)
            else:
                family.put(key, value)
        self._written(batches)

    def sync_wal(self) -> None:
        """Nothing to sync: every write is as durable as it will be."""

    def probe_disk(self) -> None:
        """Memory always takes writes."""

    def reopen(self) -> None:
        self.generation += 1
        with self._floor_lock:
            self._due_floor_ms, self._written_min = None, None

    def write_probe(self) -> None:
        """Write a record past the breaker (the recovery's last check)."""
        self._cf[META].put(b"probe", codec.encode(0))  # type: ignore[attr-defined]

    def free_bytes(self) -> int | None:
        return None

    def flush(self) -> None:
        """Nothing lives anywhere but here."""

    def checkpoint(self, target: Any) -> None:
        raise StoreError("a memory store has no checkpoints: back up a RocksDB store")

    def close(self) -> None:
        if not self.closed:
            self.closed = True
            self._cf = _Detached("the store is closed")
