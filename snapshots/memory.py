"""A store in the process's memory, for tests and simulations: ``MemoryStore``.

It keeps the RocksDB store's column families and keys (``snapshots.keys``) and its
values encoded (``snapshots.codec``), so a :class:`Batch` means the same to both and
nothing the caller keeps is shared with the store.  Each column family is a dict for
lookups plus its keys in a sorted list (``bisect``) for ordered scans; a scan copies its
range first, as a RocksDB iterator reads from an implicit snapshot.  A write applies
every batch or, when one names an unknown column family, none; ``sync_wal`` has nothing
to do.  Nothing survives the process; nothing here imports RocksDB or trio.
"""
from __future__ import annotations

from bisect import bisect_left, insort
from pathlib import Path
from typing import Any, Iterator

from . import codec, keys
from .errors import CorruptRecord, StoreCorrupt, StoreError, UnknownSchema
from .health import StorageHealth
from .protocol import COLUMN_FAMILIES, JOURNAL, META, SNAPSHOTS, SNAPSHOTS_KEPT, TIMERS, Batch, Timer


class _Family:
    """One column family: values by key, and the keys in byte order."""

    def __init__(self) -> None:
        self.values: dict[bytes, bytes] = {}
        self.order: list[bytes] = []

    def get(self, key: bytes) -> bytes | None:
        return self.values.get(key)

    def put(self, key: bytes, value: bytes) -> None:
        if key not in self.values:
            insort(self.order, key)
        self.values[key] = value

    def delete(self, key: bytes) -> None:
        if self.values.pop(key, None) is not None:
            del self.order[bisect_left(self.order, key)]

    def scan(self, lo: bytes, hi: bytes | None = None, limit: int | None = None) -> list[tuple[bytes, bytes]]:
        """Records with ``lo <= key < hi`` (``hi`` None: to the end), in key order, at most ``limit``."""
        start = bisect_left(self.order, lo)
        stop = len(self.order) if hi is None else bisect_left(self.order, hi, start)
        if limit is not None:
            stop = min(stop, start + limit)
        return [(key, self.values[key]) for key in self.order[start:stop]]

    def prefixed(self, prefix: bytes, start: bytes | None = None, limit: int | None = None) -> list[tuple[bytes, bytes]]:
        """Records whose key starts with ``prefix``, from ``start`` (default: the prefix) on."""
        return self.scan(max(prefix, start or prefix), _past(prefix), limit)

    def last_below(self, hi: bytes) -> bytes | None:
        index = bisect_left(self.order, hi)
        return self.order[index - 1] if index else None


class MemoryStore:
    """A store held in memory (see the module docstring): ``MemoryStore()``; close with :meth:`close`."""

    path: Path | None = None

    def __init__(self) -> None:
        self._cf = {name: _Family() for name in COLUMN_FAMILIES}
        self.health = StorageHealth()
        self.generation = 0
        self.closed = False
        self._dead_letters = 0

    def _family(self, cf: str) -> _Family:
        if self.closed:
            raise StoreError("store is closed")
        return self._cf[cf]

    def close(self) -> None:
        self.closed = True

    # -- writing -------------------------------------------------------------------

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
            if value is None:
                self._cf[cf].delete(key)
            else:
                self._cf[cf].put(key, value)

    def sync_wal(self) -> None:
        """Nothing to sync: every write is as durable as it will be."""

    def probe_disk(self) -> None:
        """Memory always takes writes."""

    def reopen(self) -> None:
        self.generation += 1

    def write_probe(self) -> None:
        """Write a record past the breaker (the recovery's last check)."""
        self._family(META).put(b"probe", codec.encode(0))

    def free_bytes(self) -> int | None:
        return None

    # -- journal -------------------------------------------------------------------

    def append_event(self, batch: Batch, address: str, seq: int, value: Any) -> None:
        batch.put(JOURNAL, keys.seq_key(address, seq), codec.encode(value))

    def last_seq(self, address: str) -> int:
        lo, hi = keys.actor_range(address)
        key = self._family(JOURNAL).last_below(hi)
        return keys.split_seq_key(key)[1] if key is not None and key.startswith(lo) else 0

    def read_journal(self, address: str, after: int = 0, limit: int | None = None) -> Iterator[tuple[int, Any]]:
        """Events of ``address`` with seq > ``after``, oldest first, decoded; raises ``StoreCorrupt``."""
        for seq, raw in self._scan(JOURNAL, address, after, limit):
            try:
                value = codec.decode(raw)
            except (CorruptRecord, UnknownSchema) as exc:
                raise StoreCorrupt(JOURNAL, f"{address} seq {seq}", str(exc)) from exc
            yield seq, value

    def _scan(self, cf: str, address: str, after: int, limit: int | None) -> list[tuple[int, bytes]]:
        lo, hi = keys.actor_range(address)
        start = keys.seq_key(address, after + 1) if after >= 0 else lo
        return [(int.from_bytes(key[-8:], "big"), raw) for key, raw in self._family(cf).scan(start, hi, limit)]

    # -- snapshots -----------------------------------------------------------------

    def put_snapshot(self, batch: Batch, address: str, seq: int, value: Any) -> int:
        raw = codec.encode(value)
        batch.put(SNAPSHOTS, keys.seq_key(address, seq), raw)
        older = [s for s, _ in self.snapshots_raw(address) if s < seq]
        for old in older[SNAPSHOTS_KEPT - 1:]:
            batch.delete(SNAPSHOTS, keys.seq_key(address, old))
        return len(raw)

    def snapshots_raw(self, address: str) -> list[tuple[int, bytes]]:
        return sorted(self._scan(SNAPSHOTS, address, 0, None), reverse=True)

    # -- timers --------------------------------------------------------------------

    def put_timer(self, batch: Batch, timer: Timer) -> None:
        self.delete_timer(batch, timer.address, timer.name)
        batch.put(TIMERS, keys.timer_due_key(timer.due_ms, timer.address, timer.name),
                  codec.encode({"id": timer.id, "payload": timer.payload}))
        batch.put(TIMERS, keys.timer_name_key(timer.address, timer.name), timer.due_ms.to_bytes(8, "big"))
        _queued_timers(batch)[(timer.address, timer.name)] = timer

    def delete_timer(self, batch: Batch, address: str, name: str, only_id: str | None = None) -> bool:
        queued = _queued_timers(batch)
        current = queued[(address, name)] if (address, name) in queued else self.get_timer(address, name)
        if current is None or (only_id is not None and current.id != only_id):
            return False
        batch.delete(TIMERS, keys.timer_due_key(current.due_ms, address, name))
        batch.delete(TIMERS, keys.timer_name_key(address, name))
        queued[(address, name)] = None
        return True

    def get_timer(self, address: str, name: str) -> Timer | None:
        timers = self._family(TIMERS)
        due = timers.get(keys.timer_name_key(address, name))
        if due is None:
            return None
        due_ms = int.from_bytes(due, "big")
        raw = timers.get(keys.timer_due_key(due_ms, address, name))
        if raw is None:
            return None
        value = codec.decode(raw)
        return Timer(address, name, due_ms, value["id"], value["payload"])

    def timers_of(self, address: str) -> list[Timer]:
        lo, hi = keys.timer_name_range(address)
        names = [key[len(lo):].decode() for key, _ in self._family(TIMERS).scan(lo, hi)]
        timers = [self.get_timer(address, name) for name in names]
        return sorted((t for t in timers if t is not None), key=lambda t: (t.due_ms, t.name))

    def due_timers(self, until_ms: int, limit: int | None = 1000) -> list[Timer]:
        out = []
        for key, raw in self._family(TIMERS).prefixed(keys.DUE_PREFIX, limit=limit):
            due, address, name = keys.split_timer_due_key(key)
            if due > until_ms:
                break
            value = codec.decode(raw)
            out.append(Timer(address, name, due, value["id"], value["payload"]))
        return out

    def timer_count(self) -> int:
        return len(self._family(TIMERS).prefixed(keys.DUE_PREFIX))

    def next_timer_due(self, after_ms: int = -1) -> int | None:
        first = self._family(TIMERS).prefixed(keys.DUE_PREFIX, keys.DUE_PREFIX + (after_ms + 1).to_bytes(8, "big"), 1)
        return keys.split_timer_due_key(first[0][0])[0] if first else None

    # -- meta ----------------------------------------------------------------------

    def get_meta(self, key: bytes) -> Any | None:
        raw = self._family(META).get(key)
        return None if raw is None else codec.decode(raw)

    def meta_prefix_exists(self, prefix: bytes) -> bool:
        return bool(self._family(META).prefixed(prefix, limit=1))

    def put_idempotent(self, batch: Batch, address: str, key: str, record: dict[str, Any], at_ms: int) -> None:
        record_key = keys.idempotency_key(address, key)
        batch.put(META, record_key, codec.encode(record))
        batch.put(META, keys.idempotency_expiry_key(max(0, at_ms), record_key), b"")

    def prune_idempotent(self, before_ms: int, limit: int = 10_000) -> int:
        if self.health.degraded:
            return 0
        batch = Batch()
        for key, _ in self._family(META).prefixed(keys.IDEMPOTENCY_EXPIRY_PREFIX, limit=limit):
            at_ms, record_key = keys.split_idempotency_expiry_key(key)
            if at_ms >= before_ms:
                break
            batch.delete(META, key)
            batch.delete(META, record_key)
        if batch:
            self.write([batch], sync=False)
        return len(batch) // 2

    def get_idempotent(self, address: str, key: str) -> dict[str, Any] | None:
        raw = self._family(META).get(keys.idempotency_key(address, key))
        return None if raw is None else codec.decode(raw)

    def register_actor(self, batch: Batch, address: str, info: dict[str, Any]) -> None:
        batch.put(META, keys.ACTOR_PREFIX + address.encode(), codec.encode(info))

    def actor_known(self, address: str) -> bool:
        return self._family(META).get(keys.ACTOR_PREFIX + address.encode()) is not None

    def known_actors(self, prefix: str = "", after: str = "") -> Iterator[tuple[str, dict[str, Any]]]:
        start, past = keys.ACTOR_PREFIX + prefix.encode(), keys.ACTOR_PREFIX + after.encode()
        for key, raw in self._family(META).prefixed(start, max(start, past)):
            if after and key == past:
                continue
            yield key[len(keys.ACTOR_PREFIX):].decode(), codec.decode(raw)

    def set_halted(self, batch: Batch, address: str, record: dict[str, Any] | None) -> None:
        if record is None:
            batch.delete(META, keys.HALTED_PREFIX + address.encode())
        else:
            batch.put(META, keys.HALTED_PREFIX + address.encode(), codec.encode(record))

    def halted_actors(self) -> dict[str, dict[str, Any]]:
        return {key[len(keys.HALTED_PREFIX):].decode(): codec.decode(raw)
                for key, raw in self._family(META).prefixed(keys.HALTED_PREFIX)}

    def add_dead_letter(self, batch: Batch, record: dict[str, Any]) -> int:
        self._dead_letters += 1
        batch.put(META, keys.DEAD_LETTER_PREFIX + self._dead_letters.to_bytes(8, "big"),
                  codec.encode({**record, "n": self._dead_letters}))
        return self._dead_letters

    def dead_letters(self, after: int = 0, limit: int = 100) -> list[dict[str, Any]]:
        first = keys.DEAD_LETTER_PREFIX + (after + 1).to_bytes(8, "big")
        return [codec.decode(raw) for _, raw in self._family(META).prefixed(keys.DEAD_LETTER_PREFIX, first, limit)]


def _past(prefix: bytes) -> bytes | None:
    """The first key after every key that starts with ``prefix`` (None: no such key)."""
    stripped = prefix.rstrip(b"\xff")
    return stripped[:-1] + bytes([stripped[-1] + 1]) if stripped else None


def _queued_timers(batch: Batch) -> dict[tuple[str, str], Timer | None]:
    if batch.timers is None:
        batch.timers = {}
    return batch.timers
