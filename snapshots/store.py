"""The RocksDB store behind one data directory: journal, snapshots, timers, meta.

One process owns a data directory; opening it twice raises ``StoreLocked``.  Reads are
synchronous and cheap (RocksDB serves them from memtables and block cache); a read that
meets a damaged block raises ``StoreCorrupt`` (every scan checks its iterator's status: a
RocksDB iterator stopped by an error looks just like one at the end of its range); every write
goes through a :class:`Batch` so that what one command changes (its events, its timer
changes, a snapshot) lands atomically.  ``snapshots.commit.GroupCommit`` turns many
batches into one durable RocksDB write.

A write that fails (disk full, read-only, I/O error) trips the store's circuit breaker
(``store.health``): later writes are refused at once with ``StorageUnavailable`` while
reads go on, until ``snapshots.recovery`` has seen the disk write again and reopened
RocksDB (which, once a WAL write failed, refuses every write until reopened).
"""
from __future__ import annotations

import errno
import gc
import logging
import os
import threading
import time
from pathlib import Path
from typing import Any, Iterator

from rocksdict import Options, Rdict, RdictIter, WriteBatch, WriteOptions

from . import codec, keys
from .errors import CorruptRecord, StorageUnavailable, StoreCorrupt, StoreError, StoreLocked, UnknownSchema, classify
from .files import sync_directory, sync_file
from .health import StorageHealth
# The records and column families are the protocol's; imported here too, where callers have long found them.
from .protocol import COLUMN_FAMILIES, JOURNAL, META, SNAPSHOTS, SNAPSHOTS_KEPT, TIMERS, Batch, Timer

__all__ = ["COLUMN_FAMILIES", "JOURNAL", "META", "SNAPSHOTS", "SNAPSHOTS_KEPT", "TIMERS", "Batch", "Store", "Timer"]

log = logging.getLogger("everturn.storage")
FORMAT_VERSION = 1
_DEAD_LETTER = keys.DEAD_LETTER_PREFIX
_ACTOR = keys.ACTOR_PREFIX
_HALTED = keys.HALTED_PREFIX


def _read_failed(cf: str, where: str, exc: Exception) -> StoreError:
    """Translate rocksdict's bare ``Exception`` for a failed read of ``cf`` at ``where``."""
    if "corruption" in str(exc).lower():
        return StoreCorrupt(cf, where, str(exc))
    return StoreError(f"{cf} column family: read at {where} failed: {exc}")


def _checked(it: RdictIter, cf: str, where: str) -> None:
    """Raise unless ``it`` stopped at the end of its range (or where its caller broke off).

    Call it after every scan: an error invalidates a RocksDB iterator, and ``valid()``
    alone cannot tell that from the end of the data.
    """
    try:
        it.status()
    except Exception as exc:  # rocksdict raises bare Exception with RocksDB's status message
        raise _read_failed(cf, where, exc) from exc


def _options() -> Options:
    opts = Options(raw_mode=True)
    opts.create_if_missing(True)
    opts.create_missing_column_families(True)
    return opts


def _open_db(path: Path) -> Rdict:
    try:
        return Rdict(
            str(path),
            options=_options(),
            column_families={name: Options(raw_mode=True) for name in COLUMN_FAMILIES},
        )
    except Exception as exc:  # rocksdict raises bare Exception for every RocksDB error
        if "lock" in str(exc).lower():
            raise StoreLocked(
                f"data directory {path} is in use by another Everturn process "
                f"(RocksDB lock held); stop that process or use another --data directory"
            ) from exc
        hint = {"storage/full": "; the disk is full: free space on it and start again",
                "storage/read_only": "; the file system is read-only: make it writable and start again"}
        raise StoreError(f"cannot open data directory {path}: {exc}{hint.get(classify(exc), '')}") from exc


class _Detached(dict):  # type: ignore[type-arg]
    """Column families while RocksDB is being reopened (and stays closed if that failed)."""

    def __init__(self, why: str) -> None:
        super().__init__()
        self.why = why

    def __missing__(self, cf: str) -> Any:
        raise StorageUnavailable("storage/io", self.why)


PROBE_BYTES = 1 << 20  # a recovery probe writes and syncs this much beside the data


class Store:
    """An open data directory.  Use :meth:`open`; close with :meth:`close`."""

    def __init__(self, path: Path, db: Rdict) -> None:
        self.path = path
        self._attach(db)
        self._sync = WriteOptions()
        self._sync.sync = True
        self._unsynced = WriteOptions()
        self._setup()

    def _setup(self) -> None:
        """What every store keeps beside its column families (the memory store's too)."""
        self.health = StorageHealth()
        self.generation = 0  # counts reopenings: what was read before one may be stale
        self._wal_floor = 0  # sync_wal: every WAL numbered below this is synced and written no more
        self._dead_letters = self._last_dead_letter()
        # Every stored due key is at or after this (None: not known yet). Fired timers leave
        # tombstones at the front of the due index until compaction; seeking past them keeps
        # ``due_timers`` from walking thousands of them on each call. ``write`` (often in a
        # worker thread) lowers it; ``_written_min`` catches writes during a scan.
        self._due_floor_ms: int | None = None
        self._written_min: int | None = None
        self._floor_lock = threading.Lock()
        self.closed = False

    @classmethod
    def open(cls, path: str | os.PathLike[str]) -> "Store":
        """Open (creating if needed) the store at ``path``; raises ``StoreLocked``."""
        path = Path(path)
        path.mkdir(parents=True, exist_ok=True)
        store = cls(path, _open_db(path))
        store._check_format()
        return store

    def _check_format(self) -> None:
        raw = self._get(META, b"format")
        if raw is None:
            self._db.write(self._single(META, b"format", codec.encode(FORMAT_VERSION)), self._sync)
        elif codec.decode(raw) > FORMAT_VERSION:
            raise StoreError(
                f"data directory {self.path} was written by a newer Everturn "
                f"(format {codec.decode(raw)}, this one reads {FORMAT_VERSION})"
            )

    def _attach(self, db: Rdict) -> None:
        self._db = db
        self._cf = {name: db.get_column_family(name) for name in COLUMN_FAMILIES}
        self._handles = {name: db.get_column_family_handle(name) for name in COLUMN_FAMILIES}

    def reopen(self) -> None:
        """Close RocksDB and open it again: after a failed WAL write it refuses every write until then.

        What the reopened store holds is what reached the disk: a write whose sync failed may
        be there or not, which is why ``generation`` moves on (actors compare their seq).
        Raises ``StoreError`` (``StoreLocked`` while a reader elsewhere still holds the old
        instance): the store is then detached, reads raise ``StorageUnavailable``, and the
        caller tries again later.
        """
        old, self._cf, self._handles = self._db, _Detached("the data directory is being reopened after a fault"), {}
        self._db = None  # type: ignore[assignment]
        if old is not None:  # None: the last reopening failed
            try:
                old.close()
            except Exception:  # "Writer has previous error": it is being replaced for that very reason
                pass
            del old
        # RocksDB lets go of its lock once nothing refers to the old instance; a failed write's
        # traceback (its frames hold column-family handles) may sit in a reference cycle.
        gc.collect()
        try:
            db = _open_db(self.path)
        except StoreError as exc:
            self._cf = _Detached(f"the data directory could not be reopened after a fault: {exc}")
            raise
        self._attach(db)
        self.generation += 1
        self._wal_floor = 0
        with self._floor_lock:
            self._due_floor_ms, self._written_min = None, None

    def _get(self, cf: str, key: bytes) -> bytes | None:
        try:
            return self._cf[cf].get(key)
        except Exception as exc:  # rocksdict raises bare Exception for every RocksDB error
            raise _read_failed(cf, f"key {key!r}", exc) from exc

    def _single(self, cf: str, key: bytes, value: bytes) -> WriteBatch:
        wb = WriteBatch(raw_mode=True)
        wb.put(key, value, self._handles[cf])
        return wb

    def close(self) -> None:
        if not self.closed:
            self.closed = True
            # RocksDB releases its lock only when every column-family view is gone.
            self._cf.clear()
            self._handles.clear()
            db, self._db = self._db, None
            if db is not None:
                try:
                    db.close()
                except Exception as exc:  # a store at fault: what was acknowledged is on disk, the rest never was
                    log.error("closing the data directory %s failed: %s", self.path, exc)

    def flush(self) -> None:
        """Flush every column family's memtable to SST files (what lives on disk, not the WAL)."""
        for cf in self._cf.values():
            cf.flush()

    # -- writing -------------------------------------------------------------------

    def write(self, batches: list[Batch], sync: bool = True) -> None:
        """Write several batches as one atomic RocksDB write (synced by default).

        Raises ``StorageUnavailable`` when the write fails (the breaker trips) or while the
        breaker is open; the batches are then not in the store.  Unsynced (``sync=False``),
        the write is visible at once and durable after :meth:`sync_wal`.
        """
        if self.health.fault is not None:
            raise self.health.refusal()
        wb = WriteBatch(raw_mode=True)
        handles = self._handles
        for batch in batches:
            for cf, key, value in batch.ops:
                if value is None:
                    wb.delete(key, handles[cf])
                else:
                    wb.put(key, value, handles[cf])
        try:
            self._db.write(wb, self._sync if sync else self._unsynced)
        except Exception as exc:  # rocksdict raises bare Exception with RocksDB's status message
            raise self.health.trip(exc, applied=False) from exc
        self._written(batches)

    def _written(self, batches: list[Batch]) -> None:
        """Lower the due floor to the timers ``batches`` scheduled (they are in the store now)."""
        dues = [t.due_ms for batch in batches if batch.timers for t in batch.timers.values() if t is not None]
        if dues:
            with self._floor_lock:
                due = min(dues)
                if self._due_floor_ms is not None:
                    self._due_floor_ms = min(self._due_floor_ms, due)
                self._written_min = due if self._written_min is None else min(self._written_min, due)

    def sync_wal(self) -> None:
        """Make every unsynced write so far durable: fdatasync the WAL files written since the last call.

        Blocking, and free of the GIL (rocksdict holds it through a synced RocksDB write, so a
        slow disk would stall every thread): call it in a worker thread.  RocksDB writes each
        unsynced batch to its WAL file before returning, so syncing that file is what a synced
        write does; a WAL created since the last call gets its directory entry synced too.
        A failed sync trips the breaker (``applied=None``: the batch is in RocksDB, maybe not on
        disk) and raises ``StorageUnavailable``.
        """
        try:
            logs = sorted(int(name[:-4]) for name in os.listdir(self.path) if name.endswith(".log") and name[:-4].isdigit())
            newest = self._wal_floor
            for number in logs:
                if number < self._wal_floor:
                    continue
                try:
                    sync_file(self.path / f"{number:06d}.log", data_only=True)
                except FileNotFoundError:  # obsolete and deleted: its data is in a synced SST file
                    continue
                newest = max(newest, number)
            if newest > self._wal_floor:
                sync_directory(self.path)
            self._wal_floor = newest
        except OSError as exc:
            raise self.health.trip(exc, applied=None) from exc

    def write_probe(self) -> None:
        """Write a record through RocksDB past the breaker (unsynced; :meth:`sync_wal` makes it durable):
        the recovery's last check.  A failure trips the breaker again."""
        try:
            self._db.write(self._single(META, b"probe", codec.encode(time.time())), self._unsynced)
        except Exception as exc:
            raise self.health.trip(exc, applied=False) from exc

    def probe_disk(self) -> None:
        """Write, sync and remove ``PROBE_BYTES`` beside the data (blocking): raises ``OSError``
        while the disk is full, read-only or failing."""
        probe = self.path / ".write-probe"
        fd = os.open(probe, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        try:
            block = b"\0" * 65536
            for _ in range(PROBE_BYTES // len(block)):
                if os.write(fd, block) != len(block):
                    raise OSError(errno.ENOSPC, "short write")
            os.fdatasync(fd)
        finally:
            os.close(fd)
            probe.unlink(missing_ok=True)

    def free_bytes(self) -> int | None:
        """Bytes the data directory's file system still has for us (None: cannot tell)."""
        try:
            stat = os.statvfs(self.path)
        except OSError:
            return None
        return stat.f_bavail * stat.f_frsize

    # -- journal -------------------------------------------------------------------

    def append_event(self, batch: Batch, address: str, seq: int, value: Any) -> None:
        batch.put(JOURNAL, keys.seq_key(address, seq), codec.encode(value))

    def last_seq(self, address: str) -> int:
        """Sequence number of the newest journaled event of ``address`` (0 if none)."""
        return self._last_in(JOURNAL, address)

    def _last_in(self, cf: str, address: str) -> int:
        lo, hi = keys.actor_range(address)
        it = self._cf[cf].iter()
        it.seek_for_prev(hi)
        if it.valid():
            key = it.key()
            if key.startswith(lo):
                return keys.split_seq_key(key)[1]
        _checked(it, cf, f"the last key of {address}")
        return 0

    def read_journal(self, address: str, after: int = 0, limit: int | None = None) -> Iterator[tuple[int, Any]]:
        """Events of ``address`` with seq > ``after``, oldest first, decoded.

        A value that fails its checksum (or is of an unknown schema) raises ``StoreCorrupt``
        naming the address and seq: the history past it cannot be told.
        """
        for seq, raw in self._scan(JOURNAL, address, after, limit):
            try:
                value = codec.decode(raw)
            except (CorruptRecord, UnknownSchema) as exc:
                raise StoreCorrupt(JOURNAL, f"{address} seq {seq}", str(exc)) from exc
            yield seq, value

    def _scan(self, cf: str, address: str, after: int, limit: int | None) -> Iterator[tuple[int, bytes]]:
        lo, hi = keys.actor_range(address)
        it = self._cf[cf].iter()
        it.seek(keys.seq_key(address, after + 1) if after >= 0 else lo)
        n = 0
        while it.valid() and (limit is None or n < limit):
            key = it.key()
            if key >= hi:
                break
            yield int.from_bytes(key[-8:], "big"), it.value()
            n += 1
            it.next()
        _checked(it, cf, f"the keys of {address} after seq {max(after, 0)}")

    # -- snapshots -----------------------------------------------------------------

    def put_snapshot(self, batch: Batch, address: str, seq: int, value: Any) -> int:
        """Add a snapshot at ``seq``, drop all but the newest ``SNAPSHOTS_KEPT``; returns its size.

        Every put keeps the store at ``SNAPSHOTS_KEPT`` snapshots an address at most, so only
        that many below ``seq`` are looked at: older ones were deleted by earlier puts (a
        scan from the oldest would walk their tombstones, one per snapshot ever taken).
        """
        raw = codec.encode(value)
        batch.put(SNAPSHOTS, keys.seq_key(address, seq), raw)
        for n, (old, _) in enumerate(self.snapshots_raw(address, before=seq)):
            if n == SNAPSHOTS_KEPT - 1:  # the oldest of at most SNAPSHOTS_KEPT
                batch.delete(SNAPSHOTS, keys.seq_key(address, old))
                break
        return len(raw)

    def snapshots_raw(self, address: str, before: int | None = None) -> Iterator[tuple[int, bytes]]:
        """Stored snapshots of ``address`` (those at seqs below ``before``), newest first, undecoded
        (callers fall back on corruption). Lazy: a reader that stops at the newest it can use
        reads only that one."""
        lo, hi = keys.actor_range(address)
        it = self._cf[SNAPSHOTS].iter()
        if before is None:
            it.seek_for_prev(hi)
        elif before <= 0:
            return
        else:
            it.seek_for_prev(keys.seq_key(address, before - 1))
        while it.valid():
            key = it.key()
            if key < lo:
                break
            yield int.from_bytes(key[-8:], "big"), it.value()
            it.prev()
        _checked(it, SNAPSHOTS, f"the snapshots of {address}")

    # -- timers --------------------------------------------------------------------

    def put_timer(self, batch: Batch, timer: Timer) -> None:
        """Schedule ``timer``, replacing any timer of the same name on the same actor."""
        self.delete_timer(batch, timer.address, timer.name)
        batch.put(TIMERS, keys.timer_due_key(timer.due_ms, timer.address, timer.name),
                  codec.encode({"id": timer.id, "payload": timer.payload}))
        batch.put(TIMERS, keys.timer_name_key(timer.address, timer.name), timer.due_ms.to_bytes(8, "big"))
        self._queued_timers(batch)[(timer.address, timer.name)] = timer

    def delete_timer(self, batch: Batch, address: str, name: str, only_id: str | None = None) -> bool:
        """Cancel the named timer (as ``batch`` would leave it); with ``only_id``, only if
        it is still that schedule."""
        queued = self._queued_timers(batch)
        if (address, name) in queued:
            current = queued[(address, name)]
            due_ms = None if current is None else current.due_ms
            if current is not None and only_id is not None and current.id != only_id:
                return False
        elif only_id is not None:
            current = self.get_timer(address, name)
            if current is None or current.id != only_id:
                return False
            due_ms = current.due_ms
        else:  # any schedule of that name goes: its due time is all the delete needs (one read, not two)
            due = self._get(TIMERS, keys.timer_name_key(address, name))
            due_ms = None if due is None else int.from_bytes(due, "big")
        if due_ms is None:
            return False
        batch.delete(TIMERS, keys.timer_due_key(due_ms, address, name))
        batch.delete(TIMERS, keys.timer_name_key(address, name))
        queued[(address, name)] = None
        return True

    @staticmethod
    def _queued_timers(batch: Batch) -> dict[tuple[str, str], Timer | None]:
        if batch.timers is None:
            batch.timers = {}
        return batch.timers

    def get_timer(self, address: str, name: str) -> Timer | None:
        due = self._get(TIMERS, keys.timer_name_key(address, name))
        if due is None:
            return None
        due_ms = int.from_bytes(due, "big")
        raw = self._get(TIMERS, keys.timer_due_key(due_ms, address, name))
        if raw is None:
            return None
        value = codec.decode(raw)
        return Timer(address, name, due_ms, value["id"], value["payload"])

    def timers_of(self, address: str) -> list[Timer]:
        lo, hi = keys.timer_name_range(address)
        it = self._cf[TIMERS].iter()
        it.seek(lo)
        names = []
        while it.valid() and it.key() < hi:
            names.append(it.key()[len(lo):].decode())
            it.next()
        _checked(it, TIMERS, f"the timer names of {address}")
        timers = [self.get_timer(address, name) for name in names]
        return sorted((t for t in timers if t is not None), key=lambda t: (t.due_ms, t.name))

    def due_timers(self, until_ms: int, limit: int | None = 1000) -> list[Timer]:
        """Timers due at or before ``until_ms``, earliest first."""
        with self._floor_lock:
            floor, self._written_min = self._due_floor_ms, None
        it = self._cf[TIMERS].iter()
        it.seek(keys.DUE_PREFIX if floor is None else keys.DUE_PREFIX + floor.to_bytes(8, "big"))
        out: list[Timer] = []
        earliest = None  # the earliest due key there is (None: no timers at all)
        while it.valid() and (limit is None or len(out) < limit):
            key = it.key()
            if not key.startswith(keys.DUE_PREFIX):
                break
            due, address, name = keys.split_timer_due_key(key)
            if earliest is None:
                earliest = due
            if due > until_ms:
                break
            value = codec.decode(it.value())
            out.append(Timer(address, name, due, value["id"], value["payload"]))
            it.next()
        _checked(it, TIMERS, f"the timers due by {until_ms} ms")
        with self._floor_lock:
            if earliest is None:
                earliest = until_ms + 1 if floor is None else max(floor, until_ms + 1)
            written = self._written_min
            self._due_floor_ms = earliest if written is None else min(earliest, written)
        return out

    def timer_count(self) -> int:
        """How many durable timers are stored (scheduled, not yet handled): the due index's keys,
        counted without reading a value, so it is cheap enough for every metrics poll."""
        it = self._cf[TIMERS].iter()
        it.seek(keys.DUE_PREFIX)
        count = 0
        while it.valid() and it.key().startswith(keys.DUE_PREFIX):
            count += 1
            it.next()
        _checked(it, TIMERS, "the count of stored timers")
        return count

    def next_timer_due(self, after_ms: int = -1) -> int | None:
        """Due time (ms) of the earliest stored timer due after ``after_ms``, or None."""
        it = self._cf[TIMERS].iter()
        it.seek(keys.DUE_PREFIX + (after_ms + 1).to_bytes(8, "big"))
        if it.valid() and it.key().startswith(keys.DUE_PREFIX):
            return keys.split_timer_due_key(it.key())[0]
        _checked(it, TIMERS, f"the timers due after {after_ms} ms")
        return None

    # -- meta: small records of the layers above (tokens, settings) -------------------

    def get_meta(self, key: bytes) -> Any | None:
        raw = self._get(META, key)
        return None if raw is None else codec.decode(raw)

    def meta_prefix_exists(self, prefix: bytes) -> bool:
        it = self._cf[META].iter()
        it.seek(prefix)
        if it.valid():
            return it.key().startswith(prefix)
        _checked(it, META, f"the keys after {prefix!r}")
        return False

    def meta_items(self, prefix: bytes) -> Iterator[tuple[bytes, Any]]:
        """Every meta record under ``prefix``, in key order, decoded."""
        it = self._cf[META].iter()
        it.seek(prefix)
        while it.valid() and it.key().startswith(prefix):
            yield it.key(), codec.decode(it.value())
            it.next()
        _checked(it, META, f"the keys under {prefix!r}")

    # -- meta: idempotency records ---------------------------------------------------

    def put_idempotent(self, batch: Batch, address: str, key: str, record: dict[str, Any], at_ms: int) -> None:
        """Record an accepted command's idempotency ``key``, written at ``at_ms`` (for pruning)."""
        record_key = keys.idempotency_key(address, key)
        batch.put(META, record_key, codec.encode(record))
        batch.put(META, keys.idempotency_expiry_key(max(0, at_ms), record_key), b"")

    def prune_idempotent(self, before_ms: int, limit: int = 10_000) -> int:
        """Delete up to ``limit`` idempotency records written before ``before_ms``; how many went."""
        if self.health.degraded:  # nothing can be deleted now; pruned once the disk writes again
            return 0
        it = self._cf[META].iter()
        it.seek(keys.IDEMPOTENCY_EXPIRY_PREFIX)
        batch, count = Batch(), 0
        while it.valid() and it.key().startswith(keys.IDEMPOTENCY_EXPIRY_PREFIX) and count < limit:
            at_ms, record_key = keys.split_idempotency_expiry_key(it.key())
            if at_ms >= before_ms:
                break
            batch.delete(META, it.key())
            batch.delete(META, record_key)
            count += 1
            it.next()
        _checked(it, META, "the idempotency expiry index")
        if count:
            self.write([batch], sync=False)  # lost on a crash? then pruned next time
        return count

    def get_idempotent(self, address: str, key: str) -> dict[str, Any] | None:
        raw = self._get(META, keys.idempotency_key(address, key))
        return None if raw is None else codec.decode(raw)

    # -- meta: known actors and dead letters ----------------------------------------

    def register_actor(self, batch: Batch, address: str, info: dict[str, Any]) -> None:
        batch.put(META, _ACTOR + address.encode(), codec.encode(info))

    def actor_known(self, address: str) -> bool:
        """True once ``address`` has persisted anything (its first events register it)."""
        return self._get(META, _ACTOR + address.encode()) is not None

    def known_actors(self, prefix: str = "", after: str = "") -> Iterator[tuple[str, dict[str, Any]]]:
        """Every actor that ever persisted anything, with what it registered, in address order.

        ``prefix`` (e.g. ``"campaign/"``) narrows it to matching addresses; ``after`` starts
        past that address (a page's cursor).
        """
        start = _ACTOR + prefix.encode()
        it = self._cf[META].iter()
        it.seek(max(start, _ACTOR + after.encode()))
        if after and it.valid() and it.key() == _ACTOR + after.encode():
            it.next()
        while it.valid() and it.key().startswith(start):
            yield it.key()[len(_ACTOR):].decode(), codec.decode(it.value())
            it.next()
        _checked(it, META, f"the known actors {prefix}*")

    def set_halted(self, batch: Batch, address: str, record: dict[str, Any] | None) -> None:
        """Mark ``address`` stopped by an operator (``record`` says who, when, why), or clear it."""
        if record is None:
            batch.delete(META, _HALTED + address.encode())
        else:
            batch.put(META, _HALTED + address.encode(), codec.encode(record))

    def halted_actors(self) -> dict[str, dict[str, Any]]:
        it = self._cf[META].iter()
        it.seek(_HALTED)
        out = {}
        while it.valid() and it.key().startswith(_HALTED):
            out[it.key()[len(_HALTED):].decode()] = codec.decode(it.value())
            it.next()
        _checked(it, META, "the stopped actors")
        return out

    def _last_dead_letter(self) -> int:
        it = self._cf[META].iter()
        it.seek_for_prev(_DEAD_LETTER + b"\xff" * 8)
        if it.valid() and it.key().startswith(_DEAD_LETTER):
            return int.from_bytes(it.key()[len(_DEAD_LETTER):], "big")
        _checked(it, META, "the last dead letter")
        return 0

    def add_dead_letter(self, batch: Batch, record: dict[str, Any]) -> int:
        """Queue a dead letter in ``batch``; returns its number."""
        self._dead_letters += 1
        batch.put(META, _DEAD_LETTER + self._dead_letters.to_bytes(8, "big"),
                  codec.encode({**record, "n": self._dead_letters}))
        return self._dead_letters

    def dead_letters(self, after: int = 0, limit: int = 100) -> list[dict[str, Any]]:
        it = self._cf[META].iter()
        it.seek(_DEAD_LETTER + (after + 1).to_bytes(8, "big"))
        out = []
        while it.valid() and it.key().startswith(_DEAD_LETTER) and len(out) < limit:
            out.append(codec.decode(it.value()))
            it.next()
        _checked(it, META, f"the dead letters after {after}")
        return out

    # -- backups -------------------------------------------------------------------

    def checkpoint(self, target: str | os.PathLike[str]) -> None:
        """Write a consistent online copy of the store to ``target`` (must not exist)."""
        from rocksdict import Checkpoint

        self._db.flush_wal(True)
        Checkpoint(self._db).create_checkpoint(str(target))
