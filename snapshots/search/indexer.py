"""Feeding the index: from the journal and the stored rulebooks, live, after restarts, or anew.

Layout of ``DATA/search/`` (derived data: delete it and the next start rebuilds it):

    state.json      which index directory is current, the schema version, and the cursors:
                    for each journal address the last event indexed, for each book its digest
    index-<k>/      the tantivy index

``state.json`` is replaced (written whole, synced, renamed) right after each tantivy commit,
so it never claims more than the index holds: a kill between the two only makes the next
start add the last batch again, and every document replaces its own id.

:class:`Feeder` does the work, synchronously, in one thread at a time (it owns the index's
writer).  :class:`Indexer` runs it from trio: the runtime's journal listener only marks
addresses dirty (it never blocks), and a task feeds the dirty ones in a worker thread,
committing at most once per ``interval``.

Both are given the :class:`~snapshots.search.projection.Projection` that makes documents of the
journals' events (this layer knows no event class); rulebooks are indexed here.
"""
from __future__ import annotations

import logging
import os
import shutil
import time
from collections import OrderedDict
from pathlib import Path
from typing import Any, Callable, Iterable

import orjson
import trio

from ..files import write_atomically
from ..store import Store
from .documents import rule_documents
from .errors import SearchError
from .index import SCHEMA_VERSION, SearchIndex, first
from .projection import Facts, Projection
from .rules import ensure_reference, get_book, list_books

log = logging.getLogger("everturn.search")
STATE = "state.json"
FORMAT = 1
FACTS_KEPT = 4096     # campaigns whose facts stay in memory between batches
CHUNK = 256           # addresses fed per commit while catching up or rebuilding
RETRY_S = 5.0         # after a failed batch (a full disk, say), the wait before it is tried again


def search_root(data: str | os.PathLike[str]) -> Path:
    return Path(data) / "search"


def load_state(root: Path) -> dict[str, Any] | None:
    try:
        state = orjson.loads((root / STATE).read_bytes())
    except (FileNotFoundError, orjson.JSONDecodeError):
        return None
    if not isinstance(state, dict) or state.get("format") != FORMAT:
        return None
    return state


def save_state(root: Path, state: dict[str, Any]) -> None:
    """Replace ``state.json`` whole: written, synced, renamed, the directory synced."""
    write_atomically(root / STATE, orjson.dumps(state))


class Feeder:
    """One index directory and what it holds: cursors per journal address, digests per book."""

    def __init__(self, store: Store, projection: Projection, root: Path, name: str,
                 cursors: dict[str, int] | None = None, books: dict[str, str] | None = None) -> None:
        self.store, self.projection, self.root, self.name = store, projection, root, name
        self.index = SearchIndex(root / name)
        self.cursors: dict[str, int] = dict(cursors or {})
        self.books: dict[str, str] = dict(books or {})
        self._facts: OrderedDict[str, Facts] = OrderedDict()
        self._pending: dict[str, dict[str, Any]] = {}  # put, not committed yet (by id)
        self._committed = (dict(self.cursors), dict(self.books))  # what the index holds as committed

    # -- opening ----------------------------------------------------------------------------------

    @classmethod
    def open(cls, store: Store, projection: Projection, root: Path) -> "Feeder":
        """The current index of ``root`` with its cursors, or a new empty one (none yet, another
        schema version, or one that cannot be opened); leftovers of other indexes are removed."""
        root.mkdir(parents=True, exist_ok=True)
        state = load_state(root)
        feeder = None
        if state is not None and state.get("schema") == SCHEMA_VERSION and (root / state["index"]).is_dir():
            try:
                feeder = cls(store, projection, root, state["index"], state.get("cursors"), state.get("books"))
            except (OSError, ValueError) as exc:
                log.warning("search index %s cannot be opened (%s); rebuilding it", root / state["index"], exc)
        if feeder is None:
            feeder = cls.fresh(store, projection, root)
            feeder.save()
        feeder.remove_others()
        return feeder

    @classmethod
    def fresh(cls, store: Store, projection: Projection, root: Path) -> "Feeder":
        """A new, empty index directory beside the current one (not current until saved)."""
        taken = [int(p.name.split("-", 1)[1]) for p in root.glob("index-*") if p.name.split("-", 1)[1].isdigit()]
        name = f"index-{max(taken, default=0) + 1}"
        shutil.rmtree(root / name, ignore_errors=True)
        return cls(store, projection, root, name)

    def remove_others(self) -> None:
        for path in self.root.glob("index-*"):
            if path.name != self.name:
                shutil.rmtree(path, ignore_errors=True)

    # -- feeding ------------------------------------------------------------------------------------

    def behind(self) -> list[str]:
        """Addresses of the indexed kinds with events past their cursor."""
        out = []
        for kind in sorted(self.projection.kinds):
            for address, _ in self.store.known_actors(f"{kind}/"):
                if self.store.last_seq(address) > self.cursors.get(address, 0):
                    out.append(address)
        return out

    def feed(self, addresses: Iterable[str]) -> int:
        """Put the documents of every event past each address's cursor; returns how many."""
        docs = 0
        for address in addresses:
            try:
                docs += self._feed(address)
            except Exception:  # one bad record must not stop the index; it is retried with the next event
                log.exception("search: indexing %s failed", address)
        return docs

    def _feed(self, address: str) -> int:
        projection = self.projection
        after = self.cursors.get(address, 0)
        events = [(seq, projection.load(address, stored))
                  for seq, stored in self.store.read_journal(address, after=after)]
        if not events:
            return 0
        docs: list[dict[str, Any]] = []
        owner = projection.owner(address)
        if owner == address:  # a journal with facts of its own (a campaign)
            facts = self.facts(address, upto=after)
            for seq, event in events:
                if seq > facts.seq:
                    facts.read(seq, event)
            for seq, event in events:
                docs.extend(projection.post_documents(address, seq, event, facts))
                n = projection.ended(address, event)
                if n is not None:
                    docs.extend(self._summary(owner, n, facts))
            facts.forget(events[-1][0])
        else:  # an encounter: its summary, once it ended
            ended = [n for n in (projection.ended(address, event) for _, event in events) if n is not None]
            if ended:
                facts = self.facts(owner)
                for n in dict.fromkeys(ended):
                    docs.extend(self._summary(owner, n, facts))
        self.put(docs)
        self.cursors[address] = events[-1][0]
        return len(docs)

    def facts(self, address: str, upto: int | None = None) -> Facts:
        """The journal's facts, read from it at least up to ``upto`` (None: its end)."""
        facts = self._facts.pop(address, None) or self.projection.facts()
        if upto is None or facts.seq < upto:
            for seq, stored in self.store.read_journal(address, after=facts.seq):
                if upto is not None and seq > upto:
                    break
                facts.read(seq, self.projection.load(address, stored))
            facts.forget(self.cursors.get(address, 0))  # posts settled before the cursor are indexed already
        self._facts[address] = facts
        while len(self._facts) > FACTS_KEPT:
            self._facts.popitem(last=False)
        return facts

    def _summary(self, owner: str, n: int, facts: Facts) -> list[dict[str, Any]]:
        projection = self.projection
        address = projection.encounter_address(owner, n, facts)
        doc = projection.encounter_document(
            address, facts, (projection.load(address, stored) for _, stored in self.store.read_journal(address)))
        if doc is None or self.holds(doc):
            return []  # not finished yet, or already indexed as it is (the other end of it came first)
        return [doc]

    def holds(self, doc: dict[str, Any]) -> bool:
        """Is exactly this document in the index (or put and about to be committed)?"""
        pending = self._pending.get(doc["id"])
        if pending is not None:
            return pending == doc
        searcher = self.index.index.searcher()
        hits = searcher.search(self.index._term("id", doc["id"]), 1).hits
        if not hits:
            return False
        stored = searcher.doc(hits[0][1]).to_dict()
        return all(first(stored, key) == value for key, value in doc.items() if value is not None)

    def put(self, docs: list[dict[str, Any]]) -> None:
        if docs:
            self.index.put(docs)
            self._pending.update((doc["id"], doc) for doc in docs)

    def sync_books(self) -> int:
        """Index the stored rulebooks that changed since they were indexed, drop removed ones;
        returns how many books changed."""
        stored = {info.name: info.digest for info in list_books(self.store)}
        changed = 0
        for name, digest in stored.items():
            if self.books.get(name) != digest:
                self.index.delete_book(name)
                self.put(rule_documents(get_book(self.store, name)))
                self.books[name] = digest
                changed += 1
        for name in sorted(set(self.books) - set(stored)):
            self.index.delete_book(name)
            del self.books[name]
            changed += 1
        return changed

    def commit(self, save: bool = True) -> None:
        """Publish what was put, then (``save``) record the cursors and make this index current."""
        self.index.commit()
        self._pending.clear()
        self._committed = (dict(self.cursors), dict(self.books))
        if save:
            self.save()

    def rollback(self) -> None:
        """Forget what was put since the last commit, cursors included (a failed batch is fed again)."""
        self.index.rollback()
        self._pending.clear()
        self._facts.clear()  # a failed batch may have consumed settled posts from them
        self.cursors, self.books = dict(self._committed[0]), dict(self._committed[1])

    def save(self) -> None:
        save_state(self.root, {"format": FORMAT, "schema": SCHEMA_VERSION, "index": self.name, "at": time.time(),
                               "cursors": self.cursors, "books": self.books})

    def close(self) -> None:
        self.index.close()


def open_feeder(store: Store, projection: Projection, root: Path, rules: bool = True) -> Feeder:
    """The current index with the shipped rules reference stored and every stored book indexed
    (``rules`` False: a shard that keeps no rulebooks, whose index holds its journals only)."""
    if rules:
        ensure_reference(store)
    feeder = Feeder.open(store, projection, root)
    if feeder.sync_books():
        feeder.commit()
    return feeder


def rebuild(store: Store, projection: Projection, root: Path,
            progress: Callable[[int, int], None] | None = None, rules: bool = True) -> Feeder:
    """A new index from the stored rulebooks and every journal, made current only once complete
    (until then searches keep the old one); the old directory is removed.  Not thread-safe
    against another writer of ``root``: stop the running feeder first, or let :class:`Indexer` call it.
    ``rules``: as :func:`open_feeder`'s."""
    if rules:
        ensure_reference(store)
    root.mkdir(parents=True, exist_ok=True)
    feeder = Feeder.fresh(store, projection, root)
    try:
        feeder.sync_books()
        feeder.commit(save=False)
        addresses = feeder.behind()
        for start in range(0, len(addresses), CHUNK):
            feeder.feed(addresses[start:start + CHUNK])
            feeder.commit(save=False)
            if progress is not None:
                progress(min(start + CHUNK, len(addresses)), len(addresses))
        feeder.save()
    except BaseException:
        feeder.close()
        shutil.rmtree(root / feeder.name, ignore_errors=True)
        raise
    return feeder


class Indexer:
    """The live feed of a running server: journal listener, catch-up, commits, reindexing."""

    def __init__(self, store: Store, projection: Projection, root: Path, *, interval: float = 0.5,
                 limiter: trio.CapacityLimiter | None = None, rules: bool = True) -> None:
        self.store, self.projection, self.root = store, projection, Path(root)
        self.interval, self.limiter = interval, limiter
        self.rules = rules  # False: a shard that keeps no rulebooks (everturn serve --shards: the system shard does)
        self.feeder: Feeder | None = None
        self.ready = False            # caught up with the journal once since start
        self.commits = 0
        self.errors = 0
        self.last_error: str | None = None
        self.last_commit_at: float | None = None
        self.reindexed_at: float | None = None
        self._dirty: dict[str, None] = {}
        self._books_wanted = False
        self._reindex_wanted = False
        self._wake = trio.Event()
        self._started = 0             # batches begun
        self._done = 0                # batches finished
        self._progress = trio.lowlevel.ParkingLot()
        self._reindexed: dict[str, Any] = {}
        self._failing = False         # the last batch failed: the next one waits RETRY_S

    @property
    def index(self) -> SearchIndex | None:
        return self.feeder.index if self.feeder is not None else None

    def journaled(self, address: str, first_seq: int, events: list[Any]) -> None:
        """The runtime's journal listener: note the address, never block."""
        if address.split("/", 1)[0] in self.projection.kinds:
            self._dirty[address] = None
            self._wake.set()

    async def _in_thread(self, fn: Callable[..., Any], *args: Any) -> Any:
        # Not abandoned on cancel: the writer and the store must not be used after shutdown closes them.
        return await trio.to_thread.run_sync(fn, *args, limiter=self.limiter)

    async def run(self, *, task_status: trio.TaskStatus["Indexer"] = trio.TASK_STATUS_IGNORED) -> None:
        """Open the index (started once it answers searches), catch up with the journal, then feed it live."""
        try:
            self.feeder = await self._in_thread(open_feeder, self.store, self.projection, self.root, self.rules)
        except Exception as exc:  # derived data: the server runs on without search rather than not at all
            self.last_error = f"{type(exc).__name__}: {exc}"
            log.exception("search: the index at %s cannot be opened; search is unavailable", self.root)
            task_status.started(self)
            return
        try:
            task_status.started(self)
            behind = await self._in_thread(self.feeder.behind)
            for start in range(0, len(behind), CHUNK):
                await self._batch(behind[start:start + CHUNK])
            self.ready = True
            self._progress.unpark_all()
            while True:
                await self._wake.wait()
                self._wake = trio.Event()
                await self._batch([])
                await trio.sleep(RETRY_S if self._failing else self.interval)
        finally:
            with trio.CancelScope(shield=True):
                feeder, self.feeder = self.feeder, None
                await self._in_thread(feeder.close)

    async def _batch(self, addresses: list[str]) -> None:
        self._started += 1
        dirty, self._dirty = self._dirty, {}
        books, self._books_wanted = self._books_wanted, False
        reindex, self._reindex_wanted = self._reindex_wanted, False
        wanted = list(dict.fromkeys([*addresses, *dirty]))
        try:
            if reindex:
                await self._reindex()
            await self._in_thread(self._feed, wanted, books)
            self.commits += 1
            self.last_commit_at = time.time()
            self._failing = False
        except Exception as exc:
            self.errors += 1
            self.last_error = f"{type(exc).__name__}: {exc}"
            log.exception("search: a batch failed; its addresses are tried again in %.0f s", RETRY_S)
            self._dirty.update(dict.fromkeys(wanted))
            self._books_wanted |= books
            self._failing = True
            if self.feeder is not None:
                try:
                    await self._in_thread(self.feeder.rollback)
                except Exception:
                    log.exception("search: rolling back the failed batch failed too")
            self._wake.set()
            if reindex:
                self._reindexed = {"error": self.last_error}
        finally:
            self._done += 1
            self._progress.unpark_all()

    def _feed(self, addresses: list[str], books: bool) -> None:
        feeder = self.feeder
        assert feeder is not None
        if books:
            feeder.sync_books()
        feeder.feed(addresses)
        feeder.commit()

    async def _reindex(self) -> None:
        started = time.perf_counter()
        new = await self._in_thread(rebuild, self.store, self.projection, self.root, None, self.rules)
        old, self.feeder = self.feeder, new  # events journaled meanwhile are dirty: fed to the new one next
        if old is not None:
            await self._in_thread(old.close)
            shutil.rmtree(self.root / old.name, ignore_errors=True)
        self.reindexed_at = time.time()
        self._reindexed = {"documents": new.index.documents(), "seconds": round(time.perf_counter() - started, 3)}

    async def caught_up(self) -> None:
        """Wait until everything journaled before this call is searchable."""
        need = self._started + 1 if (self._dirty or self._books_wanted or self._reindex_wanted) else self._started
        while self._done < need or not self.ready:
            await self._progress.park()

    async def refresh_books(self) -> None:
        """Index the stored rulebooks as they are now (after an import or a removal) and wait for it."""
        self._books_wanted = True
        self._wake.set()
        await self.caught_up()

    async def reindex(self) -> dict[str, Any]:
        """Rebuild the index from the journal and the rulebooks; searches keep the old one until
        the new one is complete.  Returns ``{"documents", "seconds"}``."""
        self._reindexed = {}
        self._reindex_wanted = True
        self._wake.set()
        await self.caught_up()
        if "error" in self._reindexed:
            raise SearchError(f"reindexing failed ({self._reindexed['error']}); the index in use is unchanged")
        return dict(self._reindexed)

    def status(self) -> dict[str, Any]:
        index = self.index
        return {"ready": self.ready, "documents": index.counts() if index is not None else {},
                "pending": len(self._dirty), "commits": self.commits, "errors": self.errors,
                "last_error": self.last_error, "last_commit_at": self.last_commit_at,
                "reindexed_at": self.reindexed_at, "path": str(self.root / self.feeder.name) if self.feeder else None}
