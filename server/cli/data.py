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
from snapshots.verify import verify as verify_store
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


def backup(args: argparse.Namespace) -> int:
    try:
        store = Store.open(args.data)
    except StoreLocked as exc:
        # A read-only RocksDB instance checkpoints without the WAL: such a backup would
        # silently miss the newest events, so a running server must take its own backup.
        raise StoreLocked(f"{exc}. A running server backs itself up (operator API); "
                          f"'everturn backup' works on a stopped one") from exc
    try:
        target = backups.backup(store, args.target)
    finally:
        store.close()
    print(f"backup of {args.data} written to {target}")
    return 0


def restore(args: argparse.Namespace) -> int:
    target = backups.restore(args.source, args.data)
    print(f"restored {args.source} into {target}")
    return 0


def verify(args: argparse.Namespace) -> int:
    report = verify_store(args.data)  # StoreError (cannot open): exit code 2, through main
    if args.json:
        print(orjson.dumps(report.as_dict()).decode())
    else:
        for problem in report.problems:
            print(problem.line())
        print(f"{report.path}: {report.actors} actors, {report.events} events, {report.snapshots} snapshots, "
              f"{report.timers} timers checked; "
              + ("no problems" if report.clean else f"{len(report.problems)} problems in "
                 f"{len(report.damaged_actors())} actors: {', '.join(report.damaged_actors()) or '-'}"))
    return 0 if report.clean else 1


def export(args: argparse.Namespace) -> int:
    if not args.data.is_dir():
        print(f"everturn: no data directory at {args.data}", file=sys.stderr)
        return 2
    try:
        store = Store.open(args.data)
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
            store = _open_stopped(args.data, "everturn rules import", running, create=True)
            try:
                replaced = any(info.name == book.name for info in list_books(store))
                info = put_book(store, book)
            finally:
                store.close()
            pages = f"pages {info.first_page}-{info.last_page}" if info.pages else "no pages"
            print(f"{'replaced' if replaced else 'imported'} {info.name} ({info.title}): {info.pages} pages "
                  f"({pages}), {info.passages} sections; indexed when the server starts (or: everturn reindex)")
            return 0
        store = _open_stopped(args.data, f"everturn rules {args.rules_command}", running)
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
    try:
        store = _open_stopped(args.data, "everturn reindex", "a running server takes POST "
                              "/api/v1/admin/search/reindex")
    except FileNotFoundError as exc:
        print(f"everturn reindex: {exc}", file=sys.stderr)
        return 2
    started = time.monotonic()

    def progress(done: int, total: int) -> None:
        print(f"\r  {done}/{total} journals", end="", file=sys.stderr, flush=True)

    try:
        feeder = rebuild(store, SearchProjection(), search_root(args.data), progress)
        counts = feeder.index.counts()
        feeder.close()
    finally:
        store.close()
    print(file=sys.stderr)
    print(f"reindexed {args.data}: {counts['rules']} rule sections of {len(feeder.books)} books, {counts['posts']} "
          f"posts, {counts['encounters']} encounter summaries in {time.monotonic() - started:.1f} s")
    return 0
