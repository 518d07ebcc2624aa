"""Durable storage: RocksDB journal, snapshots, timers, dead letters and backups.

The errors, keys and codec are imported at once (no RocksDB needed); the store, the
group commit, backups and the recovery task are loaded the first time one is asked for.
``Store`` is the RocksDB store; what the runtime needs of any store is the protocol
``snapshots.protocol.Store``, which ``MemoryStore`` (in memory, no RocksDB) implements too.
"""
from importlib import import_module
from typing import Any

from .errors import (
    CorruptRecord, RestoreTargetNotEmpty, StorageUnavailable, StoreCorrupt, StoreError, StoreLocked, UnknownSchema,
)

_LAZY = {"Batch": ".protocol", "MemoryStore": ".memory", "Store": ".store", "Timer": ".protocol",
         "GroupCommit": ".commit", "backup": ".backups", "restore": ".backups", "keep_writable": ".recovery"}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(import_module(_LAZY[name], __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [
    "Batch", "CorruptRecord", "GroupCommit", "MemoryStore", "RestoreTargetNotEmpty", "StorageUnavailable", "Store",
    "StoreCorrupt", "StoreError", "StoreLocked", "Timer", "UnknownSchema", "backup", "keep_writable", "restore",
]
