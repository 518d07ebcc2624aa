"""Which shard owns an actor, and where each shard's data lives.

A **partition key** is the id an address is scoped by, the part before the first ``.``:
``campaign/7f3a``, ``combat/7f3a.2`` and ``strategy/7f3a`` all have key ``7f3a``, so a
campaign and its encounters always live in one process and their tells never cross one.
A key belongs to shard ``crc32(key) mod count``: stable across processes, machines and
Python versions (``hash()`` is salted per process).

A data directory made with ``count`` > 1 says so in ``DATA/shards.json`` and holds shard
``k``'s RocksDB (journal, snapshots, timers, idempotency records, search index) under
``DATA/shards/<k>/``; the count is fixed when the directory is made. Without the file the
directory is one store at its root: one shard.
"""
from __future__ import annotations

import json
import os
import zlib
from dataclasses import dataclass
from pathlib import Path

LAYOUT_FILE = "shards.json"
SHARDS_DIR = "shards"


def partition_key(address: str) -> str:
    """``kind/<key>[.<child>]`` -> ``<key>``."""
    actor_id = address.partition("/")[2]
    return actor_id.partition(".")[0]


def shard_of(address: str, count: int) -> int:
    """The shard owning ``address`` among ``count``."""
    if count == 1:
        return 0
    return zlib.crc32(partition_key(address).encode()) % count


class LayoutError(ValueError):
    """The data directory and the shard count asked for disagree."""


@dataclass(frozen=True)
class Layout:
    """A data directory's shards: ``count`` of them; ``count`` 1 is the classic single store at the root."""

    data: Path
    count: int

    def shard_dir(self, index: int) -> Path:
        return self.data if self.count == 1 else self.data / SHARDS_DIR / str(index)

    def dirs(self) -> list[Path]:
        return [self.shard_dir(index) for index in range(self.count)]


def read_layout(data: Path) -> Layout | None:
    """The layout ``data`` was made with; None for a directory that holds nothing yet."""
    data = Path(data)
    marker = data / LAYOUT_FILE
    if marker.exists():
        count = json.loads(marker.read_text())["shards"]
        return Layout(data, int(count))
    if data.exists() and any(data.iterdir()):
        return Layout(data, 1)
    return None


def resolve_layout(data: Path, asked: int | None) -> Layout:
    """The layout to serve ``data`` with: its own if it has one (``asked`` must agree), else a
    new one of ``asked`` shards (default: one per core). Raises :class:`LayoutError`."""
    found = read_layout(data)
    if found is not None:
        if asked is not None and asked != found.count:
            what = f"{found.count} shards" if found.count > 1 else "one store (no shards)"
            raise LayoutError(f"{data} holds {what}; the shard count is fixed when a data directory is made "
                              f"(serve it with --shards {found.count}, or restore a backup into a new directory)")
        return found
    count = asked if asked is not None else default_shards()
    if count < 1:
        raise LayoutError("--shards must be at least 1")
    layout = Layout(Path(data), count)
    if count > 1:
        for path in layout.dirs():
            path.mkdir(parents=True, exist_ok=True)
        (layout.data / LAYOUT_FILE).write_text(json.dumps({"shards": count}) + "\n")
    return layout


def default_shards() -> int:
    """One shard per core this process may run on."""
    return max(1, len(os.sched_getaffinity(0)))
