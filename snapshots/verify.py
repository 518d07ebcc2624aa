"""Checking a data directory: every record of every column family, read as the server reads it.

Opened read-only (no lock taken), so it runs beside a server that holds the directory.
Every block read is checked against RocksDB's own checksums (a damaged block stops the
iterator; its status says why) and every value against ours (``codec``).  Beyond single
records, each actor's journal must run 1, 2, 3... without a gap, its snapshots must not
be newer than its journal, and it must be registered in meta (``actor:`` keys), which is
how the operator's lists, exports and the search feed find it.

A damaged stretch of a column family hides what lies in it: the walk reports it and goes
on from the start of the next registered actor's range, so one bad block costs the
report one actor (or the few whose records shared the block), not the rest.
"""
from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rocksdict import AccessType, Options, Rdict

from . import codec, keys
from .errors import StoreError
from .store import COLUMN_FAMILIES, JOURNAL, META, SNAPSHOTS, TIMERS

_ACTOR = b"actor:"
_NO_ENVELOPE = (keys.IDEMPOTENCY_EXPIRY_PREFIX,)  # meta keys whose values are empty by design


@dataclass(frozen=True, slots=True)
class Problem:
    """One finding: where (column family, and the actor and seq, or else the raw key) and why."""

    cf: str
    cause: str
    address: str | None = None
    seq: int | None = None
    key: str | None = None  # the key, printable, where no (address, seq) names the place

    def where(self) -> str:
        if self.address is not None:
            return self.address + (f" seq {self.seq}" if self.seq is not None else "")
        return f"key {self.key}" if self.key is not None else "(unknown place)"

    def line(self) -> str:
        return f"{self.where()} [{self.cf}]: {self.cause}"

    def as_dict(self) -> dict[str, Any]:
        return {"cf": self.cf, "address": self.address, "seq": self.seq, "key": self.key, "cause": self.cause}


@dataclass(slots=True)
class Report:
    """What :func:`verify` found in the data directory at ``path``."""

    path: str
    actors: int = 0
    events: int = 0
    snapshots: int = 0
    timers: int = 0
    meta: int = 0
    problems: list[Problem] = field(default_factory=list)

    @property
    def clean(self) -> bool:
        return not self.problems

    def damaged_actors(self) -> list[str]:
        return sorted({p.address for p in self.problems if p.address is not None})

    def as_dict(self) -> dict[str, Any]:
        return {"path": self.path, "clean": self.clean, "actors": self.actors, "events": self.events,
                "snapshots": self.snapshots, "timers": self.timers, "meta": self.meta,
                "damaged_actors": self.damaged_actors(), "problems": [p.as_dict() for p in self.problems]}


def verify(path: str | os.PathLike[str]) -> Report:
    """Read every record of the data directory at ``path`` and report what is damaged.

    Raises ``StoreError`` when the directory does not exist or RocksDB cannot open it
    (a missing or damaged MANIFEST, say): nothing in it could be checked.
    """
    path = Path(path)
    if not (path / "CURRENT").is_file():
        raise StoreError(f"no Everturn data directory at {path} (no RocksDB CURRENT file)")
    try:
        db = Rdict(str(path), options=Options(raw_mode=True),
                   column_families={name: Options(raw_mode=True) for name in COLUMN_FAMILIES},
                   access_type=AccessType.read_only())
    except Exception as exc:  # rocksdict raises bare Exception for every RocksDB error
        raise StoreError(f"cannot open data directory {path} read-only: {exc}") from exc
    try:
        return _Walk(path, db).run()
    finally:
        db.close()


class _Walk:
    def __init__(self, path: Path, db: Rdict) -> None:
        self.db = db
        self.report = Report(str(path))
        self.cut: set[str] = set()  # actors whose records a damaged stretch hides in part

    def run(self) -> Report:
        registered = self._meta()
        journal_last = self._journal(registered)
        self._snapshots(registered | set(journal_last), journal_last)
        self._timers()
        for address in sorted(set(journal_last) - registered):
            self._found(META, f"journaled (up to seq {journal_last[address]}) but not registered (no actor: key): "
                              f"operator lists, exports and search do not see it", address)
        self.report.actors = len(registered | set(journal_last))
        return self.report

    def _found(self, cf: str, cause: str, address: str | None = None, seq: int | None = None,
               key: bytes | None = None) -> None:
        self.report.problems.append(Problem(cf, cause, address, seq, None if key is None else repr(key)[2:-1]))

    def _records(self, cf: str, restarts: list[bytes]) -> Iterator[tuple[bytes, bytes]]:
        """Every readable (key, value) of ``cf`` in key order.

        A damaged stretch is a problem; the walk goes on from the first of ``restarts``
        (sorted) past it. Never read past the damage as "the end": that is the bug this
        command exists to catch.
        """
        handle = self.db.get_column_family(cf)
        it = handle.iter()
        it.seek_to_first()
        floor, since = b"", None  # every key up to floor was read; since: where this iterator started
        while True:
            last = None
            while it.valid():
                last = key = it.key()
                floor = max(floor, key)
                yield key, it.value()
                it.next()
            try:
                it.status()
                return
            except Exception as exc:  # rocksdict raises bare Exception with RocksDB's status message
                self._damaged(cf, last, since, str(exc))
            since = next((r for r in restarts if r > floor), None)
            if since is None:
                return
            floor = since
            it = handle.iter()
            it.seek(since)

    def _damaged(self, cf: str, last: bytes | None, since: bytes | None, cause: str) -> None:
        seq_keyed = cf in (JOURNAL, SNAPSHOTS)
        if last is not None and seq_keyed and _is_seq_key(last):
            address, seq = keys.split_seq_key(last)
            self.cut.add(address)
            self._found(cf, f"unreadable after seq {seq} (the rest of this actor's records, and perhaps the "
                            f"first of the next actors', are hidden): {cause}", address, seq + 1)
        elif last is None and since is not None and seq_keyed:
            address = since[:-1].decode(errors="replace")
            self.cut.add(address)
            self._found(cf, f"unreadable from its first record: {cause}", address, 1)
        elif last is not None:
            self._found(cf, f"unreadable after this key: {cause}", key=last)
        else:
            self._found(cf, f"unreadable from its first key: {cause}", key=since or b"")

    def _meta(self) -> set[str]:
        registered = set()
        for key, raw in self._records(META, []):
            self.report.meta += 1
            if key.startswith(_ACTOR):
                registered.add(key[len(_ACTOR):].decode(errors="replace"))
            if key.startswith(_NO_ENVELOPE):
                continue
            try:
                codec.decode(raw)
            except StoreError as exc:
                self._found(META, f"unreadable value: {exc}", key=key)
        return registered

    def _journal(self, registered: set[str]) -> dict[str, int]:
        """Check every event; the last seq of each actor read."""
        last: dict[str, int] = {}
        restarts = sorted(keys.actor_range(a)[0] for a in registered)
        for key, raw in self._records(JOURNAL, restarts):
            self.report.events += 1
            if not _is_seq_key(key):
                self._found(JOURNAL, "not a journal key (address, NUL, 8-byte seq)", key=key)
                continue
            address, seq = keys.split_seq_key(key)
            expected = last.get(address, 0) + 1
            if seq != expected:
                gap = f"seq {expected}" if seq == expected + 1 else f"seqs {expected}-{seq - 1}"
                self._found(JOURNAL, f"{gap} missing: the journal jumps from {expected - 1} to {seq}",
                            address, expected)
            last[address] = seq
            try:
                codec.decode(raw)
            except StoreError as exc:
                self._found(JOURNAL, f"unreadable event: {exc}", address, seq)
        return last

    def _snapshots(self, addresses: set[str], journal_last: dict[str, int]) -> None:
        restarts = sorted(keys.actor_range(a)[0] for a in addresses)
        for key, raw in self._records(SNAPSHOTS, restarts):
            self.report.snapshots += 1
            if not _is_seq_key(key):
                self._found(SNAPSHOTS, "not a snapshot key (address, NUL, 8-byte seq)", key=key)
                continue
            address, seq = keys.split_seq_key(key)
            try:
                codec.decode(raw)
            except StoreError as exc:
                self._found(SNAPSHOTS, f"unreadable snapshot (recovery falls back on an older one or the "
                                       f"journal): {exc}", address, seq)
            newest = journal_last.get(address, 0)
            if seq > newest and address not in self.cut:
                self._found(SNAPSHOTS, f"snapshot at seq {seq} is newer than the journal (last seq {newest}): "
                                       f"events it stands for are missing", address, seq)

    def _timers(self) -> None:
        due: set[bytes] = set()
        named: dict[bytes, bytes] = {}
        for key, raw in self._records(TIMERS, []):
            if key.startswith(keys.DUE_PREFIX):
                self.report.timers += 1
                due.add(key)
                try:
                    codec.decode(raw)
                except StoreError as exc:
                    self._found(TIMERS, f"unreadable timer: {exc}", key=key)
            elif key.startswith(keys.NAME_PREFIX) and len(raw) == 8:
                named[key] = raw
            else:
                self._found(TIMERS, "neither a timer nor a timer's name", key=key)
        for key, raw in named.items():
            address, _, name = key[len(keys.NAME_PREFIX):].partition(keys.SEP)
            pointed = keys.timer_due_key(int.from_bytes(raw, "big"), address.decode(errors="replace"),
                                         name.decode(errors="replace"))
            if pointed not in due:
                self._found(TIMERS, f"timer {name.decode(errors='replace')!r} is named but not scheduled",
                            address.decode(errors="replace"))


def _is_seq_key(key: bytes) -> bool:
    return len(key) >= 10 and key[-9:-8] == keys.SEP
