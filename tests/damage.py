"""A data directory with one damaged block in a journal's SST file, as a disk fault leaves it."""
from __future__ import annotations

import logging
from pathlib import Path

from snapshots import Batch, Store, keys
from snapshots.store import JOURNAL

from .kinds import Added, LedgerKind

KIND = LedgerKind()
EVENTS = 300  # ~130 bytes each: several data blocks of 4 KiB

log = logging.getLogger(__name__)


def _journal_in_sst(path: Path, address: str) -> Path:
    """Journal ``EVENTS`` events of ``address`` and flush them to an SST file; that file."""
    store = Store.open(path)
    try:
        batch = Batch()
        store.register_actor(batch, address, {"kind": KIND.kind})
        for seq in range(1, EVENTS + 1):
            store.append_event(batch, address, seq, KIND.dump_event(Added(amount=seq)))
        store.write([batch])
        store.flush()
        [sst] = [f for f in store._db.live_files() if f["start_key"].startswith(address.encode())]
        return path / sst["name"].lstrip("/")
    finally:
        store.close()


def _journal_reads_corrupt(path: Path) -> bool:
    """Whether RocksDB itself (the iterator's status, not our code) reports corruption in the journal."""
    store = Store.open(path)
    try:
        it = store._cf[JOURNAL].iter()
        it.seek_to_first()
        while it.valid():
            it.next()
        try:
            it.status()
        except Exception as exc:
            return "corruption" in str(exc).lower()
        return False
    finally:
        store.close()


def _flip_a_data_block_byte(sst: Path) -> int:
    """Flip one byte in the middle of ``sst`` (a data block, far from the footer and index); its offset.

    Offsets are tried from the middle on until RocksDB reports corruption: deterministic,
    and robust to a byte that happens to be one RocksDB does not checksum."""
    data = bytearray(sst.read_bytes())
    for offset in range(len(data) // 2, len(data) // 2 + 256):
        data[offset] ^= 0xFF
        sst.write_bytes(data)
        if _journal_reads_corrupt(sst.parent):
            log.info("flipped byte %d of %s (%d bytes)", offset, sst.name, len(data))
            return offset
        data[offset] ^= 0xFF
        sst.write_bytes(data)
    raise AssertionError(f"no byte flipped near the middle of {sst} made RocksDB report corruption")


def damaged_data(path: Path) -> Path:
    """A data directory at ``path`` whose ``ledger/a`` journal (300 events) has one damaged block;
    ``ledger/b`` has 3 good events."""
    _flip_a_data_block_byte(_journal_in_sst(path, "ledger/a"))
    store = Store.open(path)
    try:  # another actor's history, in the WAL and memtable: nowhere near the damage
        batch = Batch()
        store.register_actor(batch, "ledger/b", {"kind": KIND.kind})
        for seq in (1, 2, 3):
            store.append_event(batch, "ledger/b", seq, KIND.dump_event(Added(amount=1)))
        store.write([batch])
    finally:
        store.close()
    return path


def corrupt_value_data(path: Path, address: str = "ledger/c", events: int = 5, bad: int = 3) -> Path:
    """A data directory at ``path`` whose ``address`` journal has ``events`` events, the value at seq
    ``bad`` with one byte flipped (RocksDB reads it fine; our checksum does not)."""
    store = Store.open(path)
    try:
        batch = Batch()
        store.register_actor(batch, address, {"kind": KIND.kind})
        for seq in range(1, events + 1):
            store.append_event(batch, address, seq, KIND.dump_event(Added(amount=seq)))
        store.write([batch])
        key = keys.seq_key(address, bad)
        raw = bytearray(store._cf[JOURNAL][key])
        raw[-2] ^= 0x01
        damaged = Batch()
        damaged.put(JOURNAL, key, bytes(raw))
        store.write([damaged])
    finally:
        store.close()
    return path
