"""Errors raised by the storage layer.

    StoreError                  anything the store cannot do
    ├── StoreLocked             another process owns the data directory
    ├── StoreCorrupt            RocksDB's own checksums fail: a block of a data file is damaged
    ├── CorruptRecord           a stored value fails its checksum or cannot be decoded
    ├── UnknownSchema           a record's schema version is newer than this code knows
    └── RestoreTargetNotEmpty   `restore` refuses to overwrite an existing directory
"""
from __future__ import annotations


class StoreError(Exception):
    """Base class for every storage failure."""


class StoreLocked(StoreError):
    """The data directory is held by another process (RocksDB's LOCK file)."""


class StoreCorrupt(StoreError):
    """RocksDB reports corruption (a block checksum mismatch) while reading ``cf`` at ``where``.

    Never read as "no more records": what lies past the damage is unknown, so a reader
    that took the shorter answer would lose acknowledged history (and reuse its seqs).
    """

    code = "storage/corrupt"

    def __init__(self, cf: str, where: str, cause: str) -> None:
        super().__init__(f"{cf} column family unreadable at {where}: {cause}")
        self.cf = cf
        self.where = where
        self.cause = cause


class CorruptRecord(StoreError):
    """A stored value is torn, truncated or fails its checksum."""


class UnknownSchema(StoreError):
    """A record was written by a newer schema than this code can read."""


class RestoreTargetNotEmpty(StoreError):
    """`restore` was pointed at a directory that already holds files."""
