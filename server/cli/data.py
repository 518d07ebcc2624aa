"""The data directory of a stopped server: ``backup``, ``restore``, ``verify``, ``export``, ``reindex``, ``rules``.

``verify`` and ``backup`` of a running server's directory are refused with what to do instead
(``StoreLocked``); a ``StoreError`` reaches ``main``, which prints it and exits with 2.
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import orjson

from actors.campaign.search import SearchProjection
from snapshots import Store, StoreLocked, backups
from snapshots.search import (
    REFERENCE, RulebookError, list_books, put_book, read_book_file, rebuild, remove_book, search_root, srd_book,
)
from snapshots.layout import read_layout, shard_of
from snapshots.verify import verify as verify_store
from server.shards.peers import SYSTEM_SHARD
from training.sessions import ExportError, export_campaign


def interrupted_restore(data: Path) -> bool:
    """Say so (on stderr) when a killed ``everturn restore`` left ``data`` unfinished."""
    staging = backups.interrupted_restore(data)
    if staging is None:
        return False
    print(f"everturn: a restore into {data} was interrupted: {staging} is its partial copy, and {data} is not the "
          f"restored data (opening it would start an empty store). Finish the restore by running it again, which "
          f"starts over: 'everturn restore SOURCE --data {data}'; or, to give it up, remove {staging}",
          file=sys.stderr)
    return True


def shard_dirs(data: Path) -> list[Path]:
    """The store directories of ``data``: itself, or each shard's (``everturn serve --shards``)."""
    layout = read_layout(data)
    return layout.dirs() if layout is not None else [Path(data)]


def system_dir(data: Path) -> Path:
    """Where ``data`` keeps its rulebooks: itself, or the system shard's directory."""
    return shard_dirs(data)[SYSTEM_SHARD]


def backup(args: argparse.Namespace) -> int:
    stores: list[Store] = []
    try:
        for path in shard_dirs(args.data):
            stores.append(Store.open(path))
    except StoreLocked as exc:
        for store in stores:
            store.close()
        # A read-only RocksDB instance checkpoints without the WAL: such a backup would
        # silently miss the newest events, so a running server must take its own backup.
        raise StoreLocked(f"{exc}. A running server backs itself up (operator API); "
                          f"'everturn backup' works on a stopped one") from exc
    try:
        target = backups.backup(stores[0], args.target) if len(stores) == 1 else \
            backups.backup_shard_set(stores, args.target)
    finally:
        for store in stores:
            store.close()
    print(f"backup of {args.data} written to {target}" + (f" ({len(stores)} shards)" if len(stores) > 1 else ""))
    return 0


def restore(args: argparse.Namespace) -> int:
    target = backups.restore(args.source, args.data)
    print(f"restored {args.source} into {target}")
    return 0


def verify(args: argparse.Namespace) -> int:
    """Each store of the directory (each shard's), one report each: exit 1 if any has a problem."""
    reports = [verify_store(path) for path in shard_dirs(args.data)]  # StoreError (cannot open): exit 2, via main
    for report in reports:
        if args.json:
            print(orjson.dumps(report.as_dict()).decode())
            continue
        for problem in report.problems:
            print(problem.line())
        print(f"{report.path}: {report.actors} actors, {report.events} events, {report.snapshots} snapshots, "
              f"{report.timers} timers checked; "
              + ("no problems" if report.clean else f"{len(report.problems)} problems in "
                 f"{len(report.damaged_actors())} actors: {', '.join(report.damaged_actors()) or '-'}"))
    return 0 if all(report.clean for report in reports) else 1


def export(args: argparse.Namespace) -> int:
    if not args.data.is_dir():
        print(f"everturn: no data directory at {args.data}", file=sys.stderr)
        return 2
    dirs = shard_dirs(args.data)
    try:
        store = Store.open(dirs[shard_of(f"campaign/{args.campaign_id}", len(dirs))])
    except StoreLocked as exc:
        raise StoreLocked(f"{exc}. Stop the server first: 'everturn export' reads a stopped one") from exc
    try:
        summary = export_campaign(store, args.campaign_id, args.out, args.fmt)
    except ExportError as exc:
        print(f"everturn: {exc}", file=sys.stderr)
        return 2
    finally:
        store.close()
    dropped = ", ".join(f"{reason} {n}" for reason, n in summary["dropped"].items() if n) or "none"
    print(f"campaign {summary['campaign']}: {summary['events']} events -> {summary['paths']['events']}")
    print(f"{summary['rolls']} dice rolls -> {summary['paths']['rolls']}")
    print(f"{summary['turns']} turns, {summary['kept']} kept -> {summary['paths']['dataset']} (dropped: {dropped})")
    return 0


def _open_stopped(data: Path, what: str, running: str, create: bool = False):
    """The store of a stopped server's data directory; StoreLocked names what to do on a running one."""

    if not create and not data.is_dir():
        raise FileNotFoundError(f"no data directory at {data}")
    try:
        return Store.open(data)
    except StoreLocked as exc:
        raise StoreLocked(f"{exc}. '{what}' works on a stopped server's data directory; {running}") from exc


def rules(args: argparse.Namespace) -> int:
    running = "a running server takes POST /api/v1/admin/rules"
    try:
        if args.rules_command == "import":
            if args.srd == (args.path is not None):
                raise RulebookError("give a file to import, or --srd")
            book = srd_book() if args.srd else read_book_file(args.path, args.book, args.title, args.attribution,
                                                                  args.license)
            if book.name == REFERENCE:
                raise RulebookError(f"{REFERENCE} is the rules reference Everturn ships; use another --book")
            store = _open_stopped(system_dir(args.data), "everturn rules import", running, create=True)
            try:
                replaced = any(info.name == book.name for info in list_books(store))
                info = put_book(store, book)
            finally:
                store.close()
            pages = f"pages {info.first_page}-{info.last_page}" if info.pages else "no pages"
            print(f"{'replaced' if replaced else 'imported'} {info.name} ({info.title}): {info.pages} pages "
                  f"({pages}), {info.passages} sections; indexed when the server starts (or: everturn reindex)")
            return 0
        store = _open_stopped(system_dir(args.data), f"everturn rules {args.rules_command}", running)
        try:
            if args.rules_command == "remove":
                if args.name == REFERENCE:
                    raise RulebookError(f"{REFERENCE} is the rules reference Everturn ships; it comes back on start")
                if not remove_book(store, args.name):
                    raise RulebookError(f"no book {args.name!r} in {args.data}")
                print(f"removed {args.name}")
                return 0
            books = list_books(store)
        finally:
            store.close()
    except (RulebookError, FileNotFoundError) as exc:
        print(f"everturn rules: {exc}", file=sys.stderr)
        return 2
    if args.json:
        print(orjson.dumps({"books": [info.model_dump() for info in books]}).decode())
        return 0
    if not books:
        print(f"no rulebooks in {args.data} (the server stores its rules reference when it starts)")
        return 0
    for info in books:
        print(f"{info.name:<20} {info.pages:>4} pages {info.passages:>5} sections  {info.title}"
              + (f"  [{info.license}]" if info.license else ""))
    return 0


def reindex(args: argparse.Namespace) -> int:
    """Rebuild each store's search index (a shard's holds its journals; the system shard's the rules too)."""
    for index, path in enumerate(shard_dirs(args.data)):
        code = _reindex(path, rules=index == SYSTEM_SHARD)
        if code:
            return code
    return 0


def _reindex(data: Path, rules: bool) -> int:
    try:
        store = _open_stopped(data, "everturn reindex", "a running server takes POST /api/v1/admin/search/reindex")
    except FileNotFoundError as exc:
        print(f"everturn reindex: {exc}", file=sys.stderr)
        return 2
    started = time.monotonic()

    def progress(done: int, total: int) -> None:
        print(f"\r  {done}/{total} journals", end="", file=sys.stderr, flush=True)

    try:
        feeder = rebuild(store, SearchProjection(), search_root(data), progress, rules=rules)
        counts = feeder.index.counts()
        feeder.close()
    finally:
        store.close()
    print(file=sys.stderr)
    print(f"reindexed {data}: {counts['rules']} rule sections of {len(feeder.books)} books, {counts['posts']} "
          f"posts, {counts['encounters']} encounter summaries in {time.monotonic() - started:.1f} s")
    return 0
