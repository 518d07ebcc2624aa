"""Online backups (RocksDB checkpoints) and restore into an empty directory.

Both are atomic by renaming: a backup is built whole under ``NAME.partial`` (RocksDB's
checkpoint itself writes ``NAME.partial.tmp`` first), synced, then renamed to ``NAME``;
a restore copies into ``DATA.restoring``, opens it, then renames it to ``DATA``.  So a
directory with its final name is always complete, and what a kill -9 leaves behind has a
name that says so: :func:`interrupted_backups` finds the one kind, :func:`interrupted_restore`
the other.
"""
from __future__ import annotations

import os
import shutil
from dataclasses import dataclass
from pathlib import Path

from .errors import RestoreTargetNotEmpty, StoreError
from .files import PARTIAL, sync_directory, sync_file
from .layout import LAYOUT_FILE, SHARDS_DIR, read_layout
from .store import Store


BLOBS = "blobs"  # beside the RocksDB files: files the journal refers to by name
CHECKPOINT_TMP = ".tmp"  # RocksDB's checkpoint in progress, inside a backup being built
RESTORING = ".restoring"  # a restore being copied beside its target


def backup(store: Store, target: str | os.PathLike[str]) -> Path:
    """Checkpoint the open ``store`` into ``target``, which must not exist yet, with the blob files
    kept beside it (``blobs/``: training checkpoints the journal names; files are written whole,
    then renamed, so the ``.partial`` ones in progress are left out).

    Built under ``target.partial`` and renamed once synced: ``target`` appears complete or not
    at all.  Raises ``StoreError`` when ``target`` exists.
    """
    target = Path(target)
    if target.exists():
        raise StoreError(f"backup target {target} already exists; choose a new directory")
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = target.with_name(target.name + PARTIAL)
    for left in (staging, staging.with_name(staging.name + CHECKPOINT_TMP)):
        if left.exists():  # an earlier attempt at this very name was killed
            shutil.rmtree(left)
    try:
        store.checkpoint(staging)
        blobs = Path(store.path) / BLOBS
        if blobs.is_dir():
            shutil.copytree(blobs, staging / BLOBS, ignore=shutil.ignore_patterns("*.partial"))
        _sync_tree(staging)
        staging.rename(target)
        sync_directory(target.parent)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return target


def _sync_tree(root: Path) -> None:
    """Sync every file and directory under ``root`` (a rename must not publish unsynced data)."""
    for dirpath, _, filenames in os.walk(root):
        for name in filenames:
            sync_file(Path(dirpath, name))
        sync_directory(Path(dirpath))


@dataclass(frozen=True, slots=True)
class BackupInfo:
    """A completed backup in a backup directory."""

    name: str
    path: str
    created: float  # Unix seconds: when it was finished (its directory's mtime)
    bytes: int

    def as_dict(self) -> dict[str, object]:
        return {"name": self.name, "path": self.path, "created": self.created, "bytes": self.bytes}


def _interrupted(name: str) -> bool:
    return name.endswith((PARTIAL, CHECKPOINT_TMP))


def interrupted_backups(backup_dir: str | os.PathLike[str]) -> list[Path]:
    """What killed backups left in ``backup_dir``: ``*.partial`` and ``*.tmp`` directories, by name."""
    root = Path(backup_dir)
    if not root.is_dir():
        return []
    return sorted(p for p in root.iterdir() if p.is_dir() and _interrupted(p.name))


def remove_interrupted_backups(backup_dir: str | os.PathLike[str]) -> list[Path]:
    """Delete what :func:`interrupted_backups` finds; the paths removed.

    Only while no backup into ``backup_dir`` is running: the server calls it as it starts.
    """
    removed = interrupted_backups(backup_dir)
    for path in removed:
        shutil.rmtree(path, ignore_errors=True)
    return removed


def completed_backups(backup_dir: str | os.PathLike[str]) -> list[BackupInfo]:
    """The finished backups in ``backup_dir`` (directories holding a RocksDB ``CURRENT``), oldest first."""
    root = Path(backup_dir)
    if not root.is_dir():
        return []
    found = []
    for path in root.iterdir():
        if not path.is_dir() or _interrupted(path.name) or not is_backup(path):
            continue
        size = sum(f.stat().st_size for f in path.rglob("*") if f.is_file())
        found.append(BackupInfo(path.name, str(path), path.stat().st_mtime, size))
    return sorted(found, key=lambda b: (b.created, b.name))


def is_backup(path: Path) -> bool:
    """A complete backup: one store's checkpoint (RocksDB ``CURRENT``), or a shard set's (``shards.json``
    beside ``shards/<k>/``, each a checkpoint)."""
    return (path / "CURRENT").is_file() or (path / LAYOUT_FILE).is_file()


def backup_shard_set(stores: list[Store], target: str | os.PathLike[str]) -> Path:
    """Checkpoint every open store of a shard set (shard ``k`` is ``stores[k]``) into one backup at
    ``target``: ``shards/<k>/`` each, the layout beside them; atomic as :func:`backup` is."""
    target = Path(target)
    if target.exists():
        raise StoreError(f"backup target {target} already exists; choose a new directory")
    staging = target.with_name(target.name + PARTIAL)
    if staging.exists():
        shutil.rmtree(staging)
    try:
        for index, store in enumerate(stores):
            backup(store, staging / SHARDS_DIR / str(index))
        return seal_shard_set(staging, target, len(stores))
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise


def seal_shard_set(staging: Path, target: Path, count: int) -> Path:
    """Finish a shard set's backup: every shard has checkpointed into ``staging/shards/<k>``; the layout
    file goes beside them, all is synced, and ``staging`` (``NAME.partial``) becomes ``target``."""
    (staging / LAYOUT_FILE).write_text(f'{{"shards": {count}}}\n')
    _sync_tree(staging)
    staging.rename(target)
    sync_directory(target.parent)
    return target


def interrupted_restore(data: str | os.PathLike[str]) -> Path | None:
    """The ``DATA.restoring`` copy a killed ``everturn restore`` left beside ``data``, if any.

    Whatever ``data`` holds then is not what the operator asked for (an empty directory
    that would start as a fresh store, or nothing): refuse to open it until the restore is
    run again (it starts over) or the copy removed.
    """
    staging = _restoring(Path(data))
    return staging if staging.exists() else None


def _restoring(target: Path) -> Path:
    return target.with_name(target.name + RESTORING)


def restore(source: str | os.PathLike[str], target: str | os.PathLike[str]) -> Path:
    """Copy the backup at ``source`` into ``target``, refusing a non-empty ``target``.

    The copy is verified by opening it before it is moved into place, so a failed
    restore never leaves a half-written data directory behind; a killed one leaves
    ``target.restoring``, which running it again replaces.
    """
    source, target = Path(source), Path(target)
    if not is_backup(source):
        raise StoreError(f"{source} is not an Everturn backup (no RocksDB CURRENT file, no {LAYOUT_FILE})")
    if target.exists() and any(target.iterdir()):
        raise RestoreTargetNotEmpty(f"restore target {target} is not empty; restore only into a new or empty directory")
    staging = _restoring(target)
    if staging.exists():
        shutil.rmtree(staging)
    shutil.copytree(source, staging)
    try:
        layout = read_layout(staging)
        for shard in layout.dirs() if layout is not None else [staging]:
            Store.open(shard).close()
        _sync_tree(staging)
    except StoreError:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    if target.exists():
        target.rmdir()
    staging.rename(target)
    sync_directory(target.parent)
    return target
