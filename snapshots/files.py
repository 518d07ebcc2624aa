"""Files written whole or not at all: write beside, fsync, rename over, fsync the directory.

A kill or a power loss leaves the old file or the new one, never half of either: the new
data is synced before the rename publishes it, and the directory after, so the rename
itself survives.  The temporary file is the target's name plus ``.partial`` (what backups
leave out).  Nothing here imports RocksDB or trio: the training tools and the search index
use it as the store does.
"""
from __future__ import annotations

import os
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator, Mapping

PARTIAL = ".partial"


def sync_directory(path: Path) -> None:
    """fsync a directory: the names created or renamed in it survive a power loss."""
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def sync_file(path: Path, data_only: bool = False) -> None:
    """fsync a file written by someone else (``torch.save``, a copy, RocksDB's WAL); ``data_only``:
    ``fdatasync``, the data and what reading it back needs (its size), not times: a hot path's choice."""
    fd = os.open(path, os.O_RDONLY)
    try:
        (os.fdatasync if data_only else os.fsync)(fd)
    finally:
        os.close(fd)


def publish(files: Mapping[Path, Path]) -> None:
    """Rename each written temporary file (value) over its path (key), each whole or not at all: every
    one is synced before the first rename, their directories after the last.  (A crash between two
    renames leaves the first one done: order ``files`` so that is harmless, e.g. the data before the
    record naming it.)"""
    for temporary in files.values():
        sync_file(temporary)
    for path, temporary in files.items():
        os.replace(temporary, path)
    for directory in {path.parent for path in files}:
        sync_directory(directory)


@contextmanager
def replacing(path: Path) -> Iterator[Path]:
    """Yield the temporary path to write ``path``'s new content to; on leaving, it replaces ``path``
    (synced, renamed, the directory synced); on an exception it is removed and ``path`` kept."""
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(path.name + PARTIAL)
    try:
        yield partial
        publish({path: partial})
    finally:
        partial.unlink(missing_ok=True)


def write_atomically(path: Path, data: bytes) -> None:
    """``data`` at ``path``, whole or not at all (see the module docstring); creates the parent."""
    with replacing(path) as partial:
        partial.write_bytes(data)
