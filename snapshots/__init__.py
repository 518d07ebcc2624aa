"""Durable storage: RocksDB journal, snapshots, timers, dead letters and backups."""
from .backup import backup, restore
from .commit import GroupCommit
from .errors import CorruptRecord, RestoreTargetNotEmpty, StoreCorrupt, StoreError, StoreLocked, UnknownSchema
from .store import Batch, Store, Timer

__all__ = [
    "Batch", "CorruptRecord", "GroupCommit", "RestoreTargetNotEmpty", "Store", "StoreCorrupt", "StoreError",
    "StoreLocked", "Timer", "UnknownSchema", "backup", "restore",
]
