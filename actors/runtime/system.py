"""The runtime: registry of active actors, routing, supervision tree, passivation.

Open it with :func:`open_runtime`; it owns a nursery in which every actor, the timer
service, the group committer and the lag monitor run.  Actors are virtual: ``tell``,
``try_tell`` and ``ask`` activate the addressed actor from storage when it is not in
memory, and an idle actor (or the least recently used one, past ``max_active``) is
snapshotted and leaves memory on its own.

Supervision tree: root -> one supervisor per kind -> actors, and an actor whose kind
names a ``parent`` sits under that parent.  Restarts are one-for-one inside each actor
(see ``cell``); escalations reach the parent (as ``ChildFailed``) and the kind
supervisor, which marks the kind degraded when they come too fast.
"""
from __future__ import annotations

import itertools
import logging
from collections import OrderedDict, deque
from contextlib import aclosing, asynccontextmanager
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any, AsyncContextManager, AsyncIterator, Callable, Iterable, Iterator

import trio

from snapshots import (
    Batch, GroupCommit, StorageUnavailable, Store, StoreCorrupt, StoreError, Timer, backup, keep_writable,
)

from ..address import parse
from ..behavior import Behavior
from ..errors import ActorCorrupt, ActorError, ActorHalted, ActorStopped, AskTimeout, UnknownKind
from ..messages import ChildFailed, Command, Woken, Work
from .cell import ActorCell, Envelope, Reply, crashed_error, dead_letter_record, recover
from .clock import Clock, SystemClock, to_ms
from .config import RuntimeConfig
from .deadlines import ReplyDeadlines
from .metrics import LagMonitor
from .streams import Subscriber, Transient, stream
from .timers import TimerService
from .work import Workers

if TYPE_CHECKING:
    from snapshots.health import StorageHealth

log = logging.getLogger("everturn.actors")


@dataclass
class KindSupervisor:
    """Second level of the tree: watches the escalations of every actor of one kind."""

    kind: str
    escalations: int = 0
    recent: deque[float] = field(default_factory=deque)
    degraded: bool = False
    last_escalation: str | None = None

    def escalated(self, address: str, error: str, now: float, config: RuntimeConfig) -> None:
        self.escalations += 1
        self.last_escalation = f"{address}: {error}"
        self.recent.append(now)
        while self.recent and self.recent[0] < now - config.kind_period:
            self.recent.popleft()
        degraded = len(self.recent) > config.kind_intensity
        if degraded and not self.degraded:
            log.critical("kind %s degraded: %d escalations in %.0f s", self.kind, len(self.recent), config.kind_period)
        self.degraded = degraded


class Runtime:
    """Use :func:`open_runtime` to get one."""

    def __init__(self, store: Store, kinds: Iterable[Behavior], clock: Clock, config: RuntimeConfig,
                 nursery: trio.Nursery, commits: GroupCommit) -> None:
        self.store = store
        self.clock = clock
        self.config = config
        self.commits = commits
        self.behaviors: dict[str, Behavior] = {}
        for behavior in kinds:
            if behavior.kind in self.behaviors:
                raise ValueError(f"two behaviours for kind {behavior.kind!r}")
            self.behaviors[behavior.kind] = behavior
        self.supervisors = {kind: KindSupervisor(kind) for kind in self.behaviors}
        self.cells: OrderedDict[str, ActorCell] = OrderedDict()
        self.halted = store.halted_actors()  # address -> who stopped it, when, why
        self.corrupt: dict[str, str] = {}  # address -> why its stored history cannot be read (until restarted)
        self.timers = TimerService(self)
        self.deadlines = ReplyDeadlines()  # answer()'s timeouts
        self.lag = LagMonitor(config.lag_interval or 0.5)
        self.workers = Workers(config.worker_threads, config.worker_processes, dict(config.thread_pools),
                               dict(config.process_pools), backoff_base=config.worker_backoff_base,
                               backoff_max=config.worker_backoff_max,
                               preload=[module for kind in self.behaviors.values() for module in kind.worker_preload])
        self.activations = 0
        self._touches = 0  # messages delivered (``_cell``); each cell notes the count at its last one
        self._quiet_at = -1  # ``busy`` found every cell idle when the count was this
        self.passivations = 0
        self.known_actors = sum(1 for _ in store.known_actors())  # every actor that ever stored an event
        self.accepting = True
        self._nursery = nursery
        self._accepts: dict[str, frozenset[type]] = {}
        self._empty = trio.lowlevel.ParkingLot()
        self._left = trio.lowlevel.ParkingLot()  # woken whenever an actor leaves memory
        self._request_ids = itertools.count(1)
        # called with (address, first_seq, events) once events are durable (search indexing, narration tokens)
        self.journal_listeners: list[Callable[[str, int, list[Any]], None]] = []

    def journaled(self, address: str, first_seq: int, events: list[Any]) -> None:
        """Tell every journal listener of events just made durable; a failing listener is logged, never fatal."""
        for listener in self.journal_listeners:
            try:
                listener(address, first_seq, events)
            except Exception:  # derived data (an index) must never break an actor's commit
                log.exception("journal listener %r failed on %s", listener, address)

    # -- sending -------------------------------------------------------------------

    async def tell(self, address: str, command: Command) -> None:
        """Deliver ``command``, waiting for room in the mailbox (backpressure)."""
        await self._deliver(address, Envelope(command))

    def try_tell(self, address: str, command: Command) -> None:
        """Deliver ``command`` now or raise ``Overloaded``; never waits."""
        self._deliver_nowait(address, command)

    async def ask(self, address: str, command: Command, timeout: float | None = None, *,
                  wait_for_room: bool = True, by: Any = None, idempotency_key: str | None = None) -> Any:
        """Send ``command`` and wait for its reply (``Ack`` by default).

        ``by`` reaches ``decide`` as ``ctx.by``.  With ``idempotency_key``, the first
        successful run of the command is recorded atomically with its events and every
        retry with the same key gets the same ``Ack`` without deciding again.
        Raises ``Rejected``, ``ActorCrashed``, ``AskTimeout`` (the command may still be
        handled later) and, with ``wait_for_room=False`` (for requests from clients),
        ``Overloaded`` at once when the mailbox is full.
        """
        timeout = self.config.ask_timeout if timeout is None else timeout
        if not wait_for_room:
            return await self.answer(self.submit(address, command, by=by, idempotency_key=idempotency_key),
                                     address, command, timeout)
        reply = Reply(next(self._request_ids))
        with trio.move_on_after(timeout):
            await self._deliver(address, Envelope(command, reply, by=by, key=idempotency_key))
            return await reply.wait()
        raise self._timed_out(reply, address, command, timeout)

    def submit(self, address: str, command: Command, *, by: Any = None, idempotency_key: str | None = None) -> Reply:
        """Put ``command`` in the mailbox now (``Overloaded`` if full) and return its reply slot.

        For edges that pipeline: what a client sends in order enters the mailbox in order,
        while the replies are awaited separately (:meth:`answer`)."""
        reply = Reply(next(self._request_ids))
        self._cell(address).mailbox.put_nowait(Envelope(command, reply, by=by, key=idempotency_key))
        return reply

    async def answer(self, reply: Reply, address: str, command: Command, timeout: float | None = None) -> Any:
        """Wait for a submitted command's reply; raises like :meth:`ask`."""
        if not reply.done:
            self._fail_late(reply, address, command, timeout)
        return await reply.wait()

    def on_answer(self, reply: Reply, address: str, command: Command, then: Callable[[Reply], None],
                  timeout: float | None = None) -> None:
        """Call ``then(reply)`` once a submitted command is answered or has failed (``AskTimeout``
        after ``timeout``), instead of a task waiting for it: for edges that pipeline many commands
        (a task each cost more than the wait). ``then`` runs inside the actor's turn: it must not
        raise, nor block."""
        if reply.done:
            then(reply)
            return
        reply.then = then
        self._fail_late(reply, address, command, timeout)

    def _fail_late(self, reply: Reply, address: str, command: Command, timeout: float | None) -> None:
        """``reply`` fails with ``AskTimeout`` unless answered within ``timeout`` (default ``ask_timeout``)."""
        timeout = self.config.ask_timeout if timeout is None else timeout
        self.deadlines.watch(reply, trio.current_time() + timeout, partial(self._timed_out, reply, address, command, timeout))

    @staticmethod
    def _timed_out(reply: Reply, address: str, command: Command, timeout: float) -> AskTimeout:
        return AskTimeout(f"request {reply.request_id}: {address} did not answer "
                          f"{type(command).__name__} within {timeout} s")

    async def _deliver(self, address: str, envelope: Envelope) -> None:
        while True:
            cell = self._cell(address)
            mailbox = cell.mailbox
            if not mailbox.full():
                mailbox.put_nowait(envelope)
                await trio.lowlevel.checkpoint()
                return
            await mailbox.wait_for_room()

    def _deliver_nowait(self, address: str, command: Command, timer: Timer | None = None) -> None:
        self._cell(address).mailbox.put_nowait(Envelope(command, timer=timer))

    def deliver_timer(self, timer: Timer, fired: Command) -> None:
        """Put a due timer's ``TimerFired`` in its actor's mailbox now (``Overloaded`` when full; the timer
        service tries again)."""
        self._deliver_nowait(timer.address, fired, timer)

    # -- activation and passivation ------------------------------------------------

    def _cell(self, address: str) -> ActorCell:
        cell = self.cells.get(address)
        self._touches += 1
        if cell is not None:
            self.cells.move_to_end(address)
            cell.last_active, cell.touched = trio.current_time(), self._touches
            return cell
        if not self.accepting:
            raise ActorStopped("the runtime is shutting down")
        if address in self.halted:
            raise ActorHalted(f"{address} was stopped by an operator; nothing reaches it until it is started")
        if address in self.corrupt:
            raise ActorCorrupt(address, self.corrupt[address])
        behavior = self.behavior_of(address)
        cell = ActorCell(self, address, behavior.kind, behavior)
        cell.touched = self._touches
        self.cells[address] = cell
        self.activations += 1
        self._nursery.start_soon(cell.main, name=address)
        if len(self.cells) > self.config.max_active:
            self._evict(len(self.cells) - self.config.max_active)
        return cell

    def _evict(self, count: int) -> None:
        for cell in list(itertools.islice(self.cells.values(), 0, len(self.cells) - 1)):
            if count <= 0:
                break
            if cell.status == "running" and cell.idle and not cell.stopping and not cell.subscribers:
                cell.request_stop()
                count -= 1

    async def prune_idempotency(self, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        """Every ``idempotency_sweep`` s, forget command ids older than ``idempotency_retention``."""
        task_status.started()
        while True:
            await trio.sleep(self.config.idempotency_sweep)  # type: ignore[arg-type]
            await self.prune_idempotency_once()

    async def prune_idempotency_once(self) -> int:
        """Forget command ids recorded more than ``idempotency_retention`` ago (game clock)."""
        cutoff, total = to_ms(self.clock.now() - self.config.idempotency_retention), 0
        try:
            while pruned := self.store.prune_idempotent(cutoff):
                total += pruned
                await trio.lowlevel.checkpoint()  # in chunks: the loop keeps serving
        except StoreError as exc:  # the disk at fault: the next sweep prunes them
            log.warning("command ids not pruned: %s", exc)
        if total:
            log.info("forgot %d command ids older than %.0f s", total, self.config.idempotency_retention)
        return total

    async def reap_idle(self, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        """Passivate actors idle for ``idle_passivate`` s (checked every tenth of that)."""
        idle = self.config.idle_passivate
        task_status.started()
        while True:
            await trio.sleep(idle / 10)
            cutoff = trio.current_time() - idle
            for cell in list(self.cells.values()):  # least recently used first
                if cell.last_active > cutoff:
                    break
                if cell.idle and not cell.subscribers:
                    cell.request_stop()

    def storage_recovered(self) -> None:
        """The disk takes writes again: idle actors compare their seq with the reopened store now (busy
        ones before their next command, ``ActorCell.resync``), and the timers held meanwhile fire."""
        for cell in list(self.cells.values()):
            if cell.status == "running" and cell.idle and cell.generation != self.store.generation:
                try:
                    cell.resync()
                except StoreError as exc:  # it meets the same before its next command, and is handled there
                    log.error("%s: not compared with the reopened store: %s", cell.address, exc)
        self.timers.poke(0)

    def corrupted(self, cell: ActorCell, cause: str) -> None:
        """``cell`` met unreadable history: it leaves memory and its address is refused from now on."""
        self.corrupt[cell.address] = cause
        self.left_memory(cell)

    def left_memory(self, cell: ActorCell) -> None:
        if self.cells.get(cell.address) is cell:
            del self.cells[cell.address]
            self.passivations += 1
            self._left.unpark_all()
            if not self.cells:
                self._empty.unpark_all()

    # -- streams -------------------------------------------------------------------

    def subscribe(self, address: str, since: int | None = None, capacity: int = 1024) -> AsyncContextManager[AsyncIterator[Any]]:
        """Follow ``address``'s journal: ``async with runtime.subscribe(a, since) as items:``.

        Items are ``Snapshot``, ``Published`` and ``Resync`` (see ``actors.streams``);
        raises ``BadSince`` if ``since`` is ahead of the journal.
        """
        self.behavior_of(address)
        return aclosing(stream(self, address, since, capacity))

    def publish_transient(self, address: str, item: Transient) -> int:
        """Hand ``item`` to ``address``'s live subscribers (never stored, best effort); how many took it."""
        cell = self.cells.get(address)
        if cell is None or not cell.subscribers:
            return 0
        return sum(subscriber.push_transient(item) for subscriber in cell.subscribers)

    def detach(self, address: str, subscriber: Subscriber) -> None:
        cell = self.cells.get(address)
        if cell is not None and cell.subscribers and subscriber in cell.subscribers:
            cell.subscribers.remove(subscriber)

    def behavior_of(self, address: str) -> Behavior:
        kind, _ = parse(address)
        behavior = self.behaviors.get(kind)
        if behavior is None:
            raise UnknownKind(f"no actor kind {kind!r} (known: {', '.join(sorted(self.behaviors))})")
        return behavior

    def passivate(self, address: str) -> bool:
        """Ask an active actor to snapshot and leave memory once its mailbox is empty."""
        cell = self.cells.get(address)
        if cell is None:
            return False
        cell.request_stop()
        return True

    async def unload(self, address: str) -> bool:
        """Passivate an active actor and wait until it has left memory; False if it was not active."""
        cell = self.cells.get(address)
        if cell is None:
            return False
        cell.request_stop()
        while self.cells.get(address) is cell:
            await self._left.park()
        return True

    async def halt(self, address: str, reason: str = "", by: Any = None) -> bool:
        """Stop an actor durably (it stays stopped across restarts of the server).

        It finishes its mailbox and leaves memory; from then on messages to it are refused
        with ``ActorHalted`` and its timers are held, to fire once :meth:`unhalt` starts it
        again. False if it was already stopped.
        """
        self.behavior_of(address)  # a bad address or kind fails before anything is written
        if address in self.halted:
            return False
        record = {"at": self.clock.now(), "reason": reason, "by": by}
        batch = Batch()
        self.store.set_halted(batch, address, record)
        await self.commits.commit(batch)
        self.halted[address] = record
        await self.unload(address)
        return True

    async def unhalt(self, address: str) -> bool:
        """Start a stopped actor again: messages reach it and its held timers fire. False if not stopped."""
        if address not in self.halted:
            return False
        batch = Batch()
        self.store.set_halted(batch, address, None)
        await self.commits.commit(batch)
        del self.halted[address]
        self.timers.poke(0)  # deliver what came due while it was stopped
        return True

    async def restart(self, address: str) -> bool:
        """Let an active actor finish its mailbox, unload it, and load it again from storage.

        The new incarnation keeps the old one's figures, its restart count one higher.
        """
        cell = self.cells.get(address)
        if cell is None or not await self.unload(address):
            return False
        cell.metrics.restarts += 1
        self._cell(address).metrics = cell.metrics
        return True

    # -- work off the loop ---------------------------------------------------------

    def start_work(self, address: str, work: Work) -> None:
        """Run ``work`` in a worker and tell ``address`` how it went (``Decision.work``)."""
        self._nursery.start_soon(self._work, address, work, name=f"work for {address}")

    async def _work(self, address: str, work: Work) -> None:
        try:
            if work.where == "process":
                result = await self.workers.in_process(work.fn, *work.args, pool=work.pool, timeout_s=work.timeout_s)
            elif work.where == "loop":
                result = await work.fn(*work.args)
            else:
                result = await self.workers.in_thread(work.fn, *work.args, pool=work.pool)
            outcome = work.done(result)
        except Exception as exc:  # the work failed: the actor decides what that means
            log.warning("%s: work %s failed: %s", address, getattr(work.fn, "__name__", work.fn), exc)
            outcome = work.failed(f"{type(exc).__name__}: {exc}")
        try:
            await self.tell(address, outcome)
        except ActorError as exc:
            log.warning("%s: work finished but could not be reported: %s", address, exc)

    async def wake_stored(self, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        """Tell ``Woken`` to every stored actor of the kinds that ``wake_on_start``."""
        task_status.started()
        for kind, behavior in self.behaviors.items():
            if not behavior.wake_on_start:
                continue
            for address, _ in list(self.store.known_actors(f"{kind}/")):
                try:
                    await self.tell(address, Woken())
                except ActorError as exc:
                    log.warning("%s: could not be woken: %s", address, exc)

    def accepted_commands(self, behavior: Behavior) -> frozenset[type]:
        accepts = self._accepts.get(behavior.kind)
        if accepts is None:
            accepts = self._accepts[behavior.kind] = frozenset(behavior.commands)
        return accepts

    # -- supervision ---------------------------------------------------------------

    async def dead_letter(self, cell: ActorCell, envelope: Envelope, reason: str, exc: BaseException) -> None:
        """Move ``envelope`` to the durable dead letters and fail its ask."""
        batch = Batch()
        self.store.add_dead_letter(batch, dead_letter_record(cell.address, envelope, reason, exc, self.clock.now()))
        if envelope.timer is not None:
            self.store.delete_timer(batch, cell.address, envelope.timer.name, only_id=envelope.timer.id)
        try:
            await self.commits.commit(batch)
        except StorageUnavailable as exc:  # a timer stays stored (and fires again); a message, only this log keeps
            log.error("%s: %s could not be dead-lettered (%s); it was: %s", cell.address,
                      type(envelope.message).__name__, exc.code, dead_letter_record(
                          cell.address, envelope, reason, exc, self.clock.now()))
            if envelope.timer is not None:
                self.timers.done(envelope.timer)
            envelope.fail(crashed_error(cell.address, envelope, exc))
            return
        if envelope.timer is not None:
            self.timers.done(envelope.timer)
        cell.metrics.dead_letters += 1
        envelope.fail(crashed_error(cell.address, envelope, exc))
        log.error("%s: %s dead-lettered (%s)", cell.address, type(envelope.message).__name__, reason)

    def escalate(self, cell: ActorCell, error: str) -> None:
        self.supervisors[cell.kind].escalated(cell.address, error, trio.current_time(), self.config)
        parent = cell.behavior.parent(cell.address)
        if parent is None:
            return
        try:
            parent_kind, _ = parse(parent)
            behavior = self.behaviors[parent_kind]
            if ChildFailed in self.accepted_commands(behavior):
                self.try_tell(parent, ChildFailed(child=cell.address, error=error))
        except (ActorError, KeyError, ValueError) as exc:  # full, halted, or gone
            log.error("%s: escalation to %s failed: %s", cell.address, parent, exc)

    # -- what operators see --------------------------------------------------------

    def describe(self, cell: ActorCell) -> dict[str, Any]:
        m = cell.metrics
        return {
            "address": cell.address,
            "kind": cell.kind,
            "status": cell.status,
            "mailbox": len(cell.mailbox),
            "handled": m.handled,
            "rejected": m.rejected,
            "handle_ms_p50": m.percentile_ms(0.50),
            "handle_ms_p99": m.percentile_ms(0.99),
            "restarts": m.restarts,
            "dead_letters": m.dead_letters,
            "last_error": m.last_error,
            "state_bytes": m.state_bytes,
            "journal_length": cell.seq,
            "snapshot_seq": cell.snapshot_seq,
        }

    def busy(self) -> bool:
        """Some active actor has a message queued, in hand or waiting for its write.

        ``cells`` is in the order messages last reached them (``_cell``), and an idle actor
        stays idle until one does: so only the actors reached since the last time this found
        all idle are looked at, newest first (the timer service asks on every pass, over
        thousands of cells)."""
        quiet = self._quiet_at
        for cell in reversed(self.cells.values()):
            if cell.touched <= quiet:
                break
            if not cell.idle:
                return True
        self._quiet_at = self._touches
        return False

    def acknowledged(self, address: str) -> int | None:
        """The seq of the last event an active actor has acknowledged; None when it is not in memory.

        Its journal may already hold the events of a write whose sync is under way (the group
        commit writes, then syncs off the loop): readers of the journal stop here."""
        cell = self.cells.get(address)
        return cell.seq if cell is not None and cell.status == "running" else None

    def state_of(self, address: str) -> tuple[Any, int]:
        """``(state, seq)`` of any actor: live if active, else read from storage without activating it."""
        cell = self.cells.get(address)
        if cell is not None and cell.status == "running":
            return cell.state, cell.seq
        if address in self.corrupt:
            raise ActorCorrupt(address, self.corrupt[address])
        try:
            state, seq, _ = recover(self.behavior_of(address), self.store, address)
        except StoreCorrupt as exc:
            raise ActorCorrupt(address, str(exc)) from exc
        return state, seq

    def state_at(self, address: str, seq: int) -> tuple[Any, int]:
        """``(state, seq)`` of ``address`` right after its event ``seq`` (0: before any), rebuilt from storage.

        Journal entries never change, so this is exact for any ``seq`` up to the journal's
        head; a lower ``seq`` in the answer says the journal is shorter.  Blocking (it
        replays events from the nearest snapshot): call it in a worker thread.
        """
        try:
            state, at, _ = recover(self.behavior_of(address), self.store, address, upto=seq)
        except StoreCorrupt as exc:
            raise ActorCorrupt(address, str(exc)) from exc
        return state, at

    # -- what the server asks (it never reads the store itself) --------------------

    def exists(self, address: str) -> bool:
        """True once the actor has stored anything, or while a command that may create it has it active.

        Asking never activates it."""
        return address in self.cells or self.store.actor_known(address)

    def journal(self, address: str, after: int = 0, limit: int | None = None) -> list[tuple[int, Any]]:
        """``(seq, stored event)`` after ``after``, at most ``limit``, never past what the actor acknowledged.

        An active actor's journal may hold the events of a write whose sync is still under way:
        those are not returned (see :meth:`acknowledged`).  Blocking read of the store."""
        head = self.acknowledged(address)
        if head is not None:
            limit = max(0, head - after) if limit is None else max(0, min(limit, head - after))
        return list(self.store.read_journal(address, after=after, limit=limit))

    def known(self, prefix: str = "", after: str = "") -> Iterator[str]:
        """Addresses of stored actors starting with ``prefix``, in order, after the address ``after``."""
        return (address for address, _ in self.store.known_actors(prefix, after=after))

    def timers_of(self, address: str) -> list[Timer]:
        """The actor's durable timers, due or not."""
        return self.store.timers_of(address)

    def dead_letters(self, after: int = 0, limit: int = 100) -> list[dict[str, Any]]:
        """Dead letters after position ``after`` (their ``n``), oldest first."""
        return self.store.dead_letters(after=after, limit=limit)

    def storage_open(self) -> bool:
        """False once the store is closed (shutting down, or a reopen after a disk fault failed)."""
        return not self.store.closed

    def storage_health(self) -> StorageHealth:
        """The store's health: its fault while the disk refuses writes, and the figures of past faults."""
        return self.store.health

    def backup(self, target: str) -> Path:
        """Write an online backup (a RocksDB checkpoint) of the store to ``target``; blocking: call it in a thread.

        Raises ``StoreError`` when it cannot be written."""
        return backup(self.store, target)

    def tree(self) -> dict[str, Any]:
        """The live supervision tree with each active actor's figures."""
        nodes = {address: {**self.describe(cell), "children": []} for address, cell in self.cells.items()}
        corrupt: dict[str, list[str]] = {}
        for address in sorted(self.corrupt):
            corrupt.setdefault(parse(address)[0], []).append(address)
        kinds = {
            kind: {"kind": kind, "degraded": sup.degraded or kind in corrupt, "escalations": sup.escalations,
                   "last_escalation": sup.last_escalation, "corrupt": corrupt.get(kind, []), "children": []}
            for kind, sup in self.supervisors.items()
        }
        for address, node in nodes.items():
            parent = self.cells[address].behavior.parent(address)
            if parent in nodes:
                nodes[parent]["children"].append(node)
            else:
                kinds[node["kind"]]["children"].append(node)
        return {"address": "root", "children": list(kinds.values()), **self.figures()}

    def figures(self) -> dict[str, Any]:
        stats = self.commits.stats
        return {
            "active": len(self.cells),
            "known_actors": self.known_actors,
            "passivated": max(0, self.known_actors - len(self.cells)),  # stored, not in memory (stopped ones too)
            "activations": self.activations,
            "passivations": self.passivations,
            "stopped": sorted(self.halted),
            "corrupt": sorted(self.corrupt),  # not started: stored history unreadable (see the log)
            "timers_fired": self.timers.fired,
            "timers_pending": self.timers.pending,  # delivered to an actor, not yet handled
            "timers_stored": self.timers_stored(),
            "commit_writes": stats.writes,
            "commit_batches": stats.batches,
            "commit_largest_group": stats.largest_group,
            "loop_lag_ms": self.lag.last_ms,
            "loop_lag_ms_max": self.lag.max_ms,
            "worker_crashes": sum(pool.crashes for pool in self.workers.statistics()),
            "worker_timeouts": sum(pool.timeouts for pool in self.workers.statistics()),
            "commit_failed_writes": stats.failed_writes,
            "storage": {**self.store.health.as_dict(), "free_bytes": self.store.free_bytes()},
        }

    def timers_stored(self) -> int | None:
        """Durable timers in the store, due or not (None: the store cannot be read just now)."""
        try:
            return self.store.timer_count()
        except StoreError:  # reopening after a disk fault: the figures still answer
            return None

    # -- shutdown ------------------------------------------------------------------

    async def drain(self) -> None:
        """Stop taking messages, let every actor finish its mailbox, snapshot and leave."""
        self.accepting = False
        self.timers.stop()
        while self.cells:
            for cell in list(self.cells.values()):
                cell.request_stop()
            await self._empty.park()


@asynccontextmanager
async def open_runtime(store: Store, kinds: Iterable[Behavior], *, clock: Clock | None = None,
                       config: RuntimeConfig | None = None) -> AsyncIterator[Runtime]:
    """Run the actor runtime on ``store`` for the duration of the ``async with``.

    On exit every actor drains its mailbox and snapshots (within ``shutdown_grace``),
    then the last group commit is flushed.  The caller closes the store afterwards.
    """
    config = config or RuntimeConfig()
    commits = GroupCommit(store, mode=config.commit_mode)  # type: ignore[arg-type]
    runtime: Runtime | None = None
    async with trio.open_nursery() as infrastructure:
        await infrastructure.start(commits.run)
        try:
            async with trio.open_nursery() as actors:
                runtime = Runtime(store, kinds, clock or SystemClock(), config, actors, commits)
                await actors.start(partial(keep_writable, commits, runtime.storage_recovered,
                                           first=config.storage_retry_first, last=config.storage_retry_last))
                await actors.start(runtime.timers.run)
                await actors.start(runtime.deadlines.run)
                await actors.start(runtime.reap_idle)
                await actors.start(runtime.wake_stored)
                if config.idempotency_sweep:
                    await actors.start(runtime.prune_idempotency)
                if config.lag_interval:
                    await actors.start(runtime.lag.run)
                try:
                    yield runtime
                finally:
                    with trio.move_on_after(config.shutdown_grace) as grace:
                        grace.shield = True
                        await runtime.drain()
                    actors.cancel_scope.cancel()  # work still running is cancelled: its worker processes killed
        finally:
            if runtime is not None:
                runtime.workers.close()  # the idle workers
        infrastructure.cancel_scope.cancel()
