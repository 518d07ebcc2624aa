"""Durable storage: RocksDB journal, snapshots, timers, dead letters and backups."""
from .backup import backup, restore
from .commit import GroupCommit
from .errors import (
    CorruptRecord, RestoreTargetNotEmpty, StorageUnavailable, StoreCorrupt, StoreError, StoreLocked, UnknownSchema,
)
from .recovery import keep_writable
from .store import Batch, Store, Timer

__all__ = [
    "Batch", "CorruptRecord", "GroupCommit", "RestoreTargetNotEmpty", "StorageUnavailable", "Store", "StoreCorrupt",
    "StoreError", "StoreLocked", "Timer", "UnknownSchema", "backup", "keep_writable", "restore",
]
