"""Online backups (RocksDB checkpoints) and restore into an empty directory."""
from __future__ import annotations

import os
import shutil
from pathlib import Path

from .errors import RestoreTargetNotEmpty, StoreError
from .store import Store


BLOBS = "blobs"  # beside the RocksDB files: files the journal refers to by name


def backup(store: Store, target: str | os.PathLike[str]) -> Path:
    """Checkpoint the open ``store`` into ``target``, which must not exist yet, with the blob files
    kept beside it (``blobs/``: training checkpoints the journal names; files are written whole,
    then renamed, so the ``.partial`` ones in progress are left out)."""
    target = Path(target)
    if target.exists():
        raise StoreError(f"backup target {target} already exists; choose a new directory")
    target.parent.mkdir(parents=True, exist_ok=True)
    store.checkpoint(target)
    blobs = Path(store.path) / BLOBS
    if blobs.is_dir():
        shutil.copytree(blobs, target / BLOBS, ignore=shutil.ignore_patterns("*.partial"))
    return target


def restore(source: str | os.PathLike[str], target: str | os.PathLike[str]) -> Path:
    """Copy the backup at ``source`` into ``target``, refusing a non-empty ``target``.

    The copy is verified by opening it before it is moved into place, so a failed
    restore never leaves a half-written data directory behind.
    """
    source, target = Path(source), Path(target)
    if not (source / "CURRENT").is_file():
        raise StoreError(f"{source} is not an Everturn backup (no RocksDB CURRENT file)")
    if target.exists() and any(target.iterdir()):
        raise RestoreTargetNotEmpty(f"restore target {target} is not empty; restore only into a new or empty directory")
    staging = target.with_name(target.name + ".restoring")
    if staging.exists():
        shutil.rmtree(staging)
    shutil.copytree(source, staging)
    try:
        Store.open(staging).close()
    except StoreError:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    if target.exists():
        target.rmdir()
    staging.rename(target)
    return target
