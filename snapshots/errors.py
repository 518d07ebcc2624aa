"""Errors raised by the storage layer.

    StoreError                  anything the store cannot do
    ├── StoreLocked             another process owns the data directory
    ├── StoreCorrupt            RocksDB's own checksums fail, or a stored value fails ours
    ├── StorageUnavailable      a write failed, or writes are refused while the disk is at fault
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


FULL, READ_ONLY, IO = "storage/full", "storage/read_only", "storage/io"
CAUSES = {  # each fault in words, for errors, /health/ready and the operator console
    FULL: "the disk is full",
    READ_ONLY: "the data directory is read-only",
    IO: "the disk fails to write",
}


class StorageUnavailable(StoreError):
    """The store cannot write: its disk is full (``storage/full``), read-only (``storage/read_only``)
    or failing (``storage/io``).

    ``applied`` says what became of the write that met the fault: False, it never reached
    the store; None, it reached RocksDB but its sync failed, so a restart may or may not
    find it (a retry with the same idempotency key is safe either way).  Writes refused
    while the store waits for the fault to clear were never attempted (False).
    """

    def __init__(self, code: str, cause: str, applied: bool | None = False, retry_after: float | None = None) -> None:
        self.code = code
        self.cause = cause
        self.applied = applied
        self.retry_after = retry_after
        outcome = "it was not saved" if applied is False else "it may or may not have been saved"
        super().__init__(f"The server cannot write: {CAUSES.get(code, CAUSES[IO])} ({cause}): {outcome}. "
                         "Reads still work; writes resume by themselves once the fault clears")


def classify(exc: BaseException) -> str:
    """``storage/full``, ``storage/read_only`` or ``storage/io`` for a failed write (RocksDB's or the OS's)."""
    errno = getattr(exc, "errno", None)
    text = str(exc).lower()
    if errno == 28 or "no space left" in text or "nospace" in text:
        return FULL
    if errno == 30 or "read-only file system" in text:
        return READ_ONLY
    return IO


class CorruptRecord(StoreError):
    """A stored value is torn, truncated or fails its checksum."""


class UnknownSchema(StoreError):
    """A record was written by a newer schema than this code can read."""


class RestoreTargetNotEmpty(StoreError):
    """`restore` was pointed at a directory that already holds files."""
