"""One active actor: its mailbox, its state, and the supervised loop that runs it.

The loop takes one message at a time.  For each command: ``decide`` -> fold the events
through ``evolve`` (on a copy: an ``evolve`` bug crashes here, before anything is
durable) -> one atomic write of events, timer changes and maybe a snapshot, queued to the
group commit -> and, once that write is durable, swap in the new state -> reply -> side
effects.

Journaling is pipelined: while a command's write is on its way to disk the actor decides
the next ones on the state after it (its *head*), up to ``pipeline_depth`` commands ahead,
so one group commit carries many commands of a busy actor.  What others see leaves in
order and only once durable: replies (rejections too, which were decided on the head),
published events, tells, timers and work; ``state`` and ``seq`` stay the durable ones.  A
write that fails fails the commands decided after it as well and the head falls back to
the durable state.  A timer, a retried idempotency key still in the pipeline, or a store
reopened after a fault first waits for the pipeline to empty.

A crash restarts the actor from storage, with exponential backoff; the message that
crashed it is retried and, after ``max_attempts``, dead-lettered.  Crashing more often
than ``restart_intensity`` in ``restart_period`` escalates to the parent and the kind's
supervisor.  Unreadable history (``StoreCorrupt``) is no crash: a restart would read the
same damage, so the actor stops for good (status ``corrupt``) and every message to it is
refused with ``ActorCorrupt``.
Neither is a write the disk refuses (``StorageUnavailable``): the command fails with
``StorageDown``, the actor stays as it was and takes the next one.
"""
from __future__ import annotations

import hashlib
import json
import logging
import os
import random
import time
from collections import deque
from typing import TYPE_CHECKING, Any, Callable

import trio

from snapshots import Batch, CorruptRecord, StorageUnavailable, StoreCorrupt, StoreError, Timer, UnknownSchema, codec
from snapshots.commit import Group
from snapshots.protocol import Store

from ..errors import ActorCorrupt, ActorCrashed, ActorError, ActorStopped, Rejected, StorageDown
from ..messages import Ack, Cancel, Command, Context, Decision
from .clock import to_datetime, to_ms
from .mailbox import Mailbox, TaskSlot
from .metrics import ActorMetrics
from .streams import Attach, Subscriber

if TYPE_CHECKING:
    from ..behavior import Behavior
    from .host import Host

log = logging.getLogger("everturn.actors")
# Timer ids tell one schedule of a timer from the next (a stale delivery is refused): unique, not
# secret, so they come from a generator seeded once rather than a system call per timer.
_timer_ids = random.Random(os.urandom(16))


class Reply:
    """One-shot reply slot of an ``ask``: the asking task parks on it directly."""

    __slots__ = ("request_id", "done", "value", "error", "_asker", "then")

    def __init__(self, request_id: int = 0) -> None:
        self.request_id = request_id
        self.done = False
        self.value: Any = None
        self.error: BaseException | None = None
        self._asker = TaskSlot()
        # Called with the reply once it is set or failed, instead of a task waiting for it
        # (``Runtime.on_answer``); it must not raise: it runs inside the actor's turn.
        self.then: Callable[["Reply"], None] | None = None

    def set(self, value: Any) -> None:
        if not self.done:
            self.done, self.value = True, value
            self._asker.wake()
            if self.then is not None:
                self.then(self)

    def fail(self, error: BaseException) -> None:
        if not self.done:
            self.done, self.error = True, error
            self._asker.wake()
            if self.then is not None:
                self.then(self)

    async def wait(self) -> Any:
        """Wait for the reply; cancellable (the command may still be handled)."""
        if self.done:
            await trio.lowlevel.checkpoint()
        else:
            await self._asker.park()
        if self.error is not None:
            raise self.error
        return self.value


class Envelope:
    """A message on its way through a mailbox."""

    __slots__ = ("message", "reply", "attempts", "timer", "by", "key")

    def __init__(self, message: Command, reply: Reply | None = None, timer: Timer | None = None,
                 by: Any = None, key: str | None = None) -> None:
        self.message = message
        self.reply = reply
        self.attempts = 0
        self.timer = timer
        self.by = by      # who sent it (the server's principal), for decide's ctx.by
        self.key = key    # idempotency key: a retry with the same key gets the first Ack

    def succeed(self, value: Any) -> None:
        if self.reply is not None:
            self.reply.set(value)

    def fail(self, error: BaseException) -> None:
        if self.reply is not None:
            self.reply.fail(error)


class Pending:
    """A command decided on the head, waiting for its write (``group``; None: nothing to write) to be
    known durable; ``events`` is None for one that wrote nothing (its ``outcome`` is all it has)."""

    __slots__ = ("envelope", "started", "epoch", "group", "state", "seq", "events", "decision", "outcome",
                 "snapshot_due", "earliest")

    def __init__(self, envelope: Envelope, started: float, epoch: int, group: Group | None = None, state: Any = None,
                 seq: int = 0, events: list[Any] | None = None, decision: Decision | None = None,
                 outcome: Any = None, snapshot_due: bool = False, earliest: int | None = None) -> None:
        self.envelope = envelope
        self.started = started
        self.epoch = epoch
        self.group = group
        self.state = state
        self.seq = seq
        self.events = events
        self.decision = decision
        self.outcome = outcome
        self.snapshot_due = snapshot_due
        self.earliest = earliest

    @property
    def key(self) -> str | None:
        return self.envelope.key

    @property
    def timer(self) -> Timer | None:
        return self.envelope.timer


class ActorCell:
    __slots__ = (
        "address", "kind", "behavior", "runtime", "mailbox", "state", "seq", "snapshot_seq",
        "metrics", "status", "inflight", "restart_times", "escalations", "last_active", "touched", "_wait_scope",
        "_stop_requested", "_accepts", "_snapshot_every", "subscribers", "generation",
        "head_state", "head_seq", "head_snapshot_seq", "pending", "pending_keys", "epoch", "broken_by", "_depth",
    )

    def __init__(self, runtime: "Host", address: str, kind: str, behavior: "Behavior") -> None:
        self.address = address
        self.kind = kind
        self.behavior = behavior
        self.runtime = runtime
        self.mailbox = Mailbox(address, runtime.config.mailbox_capacity)
        self.state: Any = None
        self.seq = 0
        self.snapshot_seq = 0
        self.metrics = ActorMetrics()
        self.status = "activating"
        self.inflight: Envelope | None = None
        self.restart_times: deque[float] | None = None  # made on the first crash: most actors never crash
        self.escalations = 0
        self.last_active = trio.current_time()
        self.touched = 0  # the runtime's count of deliveries when a message last reached it
        self._wait_scope: trio.CancelScope | None = None
        self._stop_requested = False
        self._accepts = runtime.accepted_commands(behavior)
        self._snapshot_every = behavior.snapshot_every or runtime.config.snapshot_every
        self.subscribers: list[Subscriber] | None = None  # made by the first subscription
        self.generation = -1  # the store's generation its state was read at
        # the pipeline: commands decided (in order) whose writes are not yet known durable, and the
        # state after the last of them; ``epoch`` moves when a failed write discards that head
        self.head_state: Any = None
        self.head_seq = 0
        self.head_snapshot_seq = 0
        self.pending: list[Pending] = []
        self.pending_keys: set[str] | None = None  # the idempotency keys among them (made when one comes)
        self.epoch = 0
        self.broken_by: StorageUnavailable | None = None
        self._depth = runtime.config.pipeline_depth

    # -- lifecycle -----------------------------------------------------------------

    @property
    def idle(self) -> bool:
        """Nothing queued, in hand or waiting for its write."""
        return self.inflight is None and not self.mailbox and not self.pending

    async def main(self) -> None:
        try:
            await self._supervise()
        finally:
            for entry in self.pending:  # cancelled (shutdown) with writes under way
                entry.envelope.fail(ActorStopped(f"{self.address}: stopped while its write was under way; "
                                                 "the command may have been applied"))
            self.pending.clear()
            self.pending_keys = None
            self.status = "stopped"
            self.runtime.left_memory(self)
            for subscriber in self.subscribers or ():
                subscriber.stop()

    @property
    def stopping(self) -> bool:
        """Asked to leave memory (passivation, a restart, shutdown)."""
        return self._stop_requested

    def request_stop(self) -> None:
        """Passivate once the mailbox is empty (or at once if idle or restarting)."""
        self._stop_requested = True
        self.mailbox.interrupt()
        if self._wait_scope is not None:
            self._wait_scope.cancel()

    async def _supervise(self) -> None:
        while True:
            try:
                self._recover()
                self.status = "running"
                await self._loop()
                return
            except StoreCorrupt as exc:
                await self._corrupt(exc)
                return
            except Exception as exc:
                await self._settle()  # what was decided before the crash is durable (or failed): answer it
                try:
                    delay = await self._crashed(exc)
                except Exception as failure:  # accounting for a crash must never take the runtime down
                    log.critical("%s: handling its crash failed: %s", self.address, failure, exc_info=failure)
                    delay = self.runtime.config.backoff_max
            self.status = "restarting"
            with trio.move_on_after(delay) as self._wait_scope:
                await trio.sleep_forever()
            self._wait_scope = None
            if self._stop_requested:
                await self._abandon("the actor was stopped while restarting")
                return

    def _recover(self) -> None:
        store = self.runtime.store
        self.generation = store.generation
        self.state, self.seq, self.snapshot_seq = recover(self.behavior, store, self.address)
        self._rewind()

    def _rewind(self) -> None:
        """The head falls back to the durable state."""
        self.head_state, self.head_seq, self.head_snapshot_seq = self.state, self.seq, self.snapshot_seq

    def resync(self) -> None:
        """The store was reopened after a fault: a write whose sync failed may have reached the disk
        after all (or, on a lying disk, something acknowledged not): what is stored wins."""
        stored = self.runtime.store.last_seq(self.address)
        if stored != self.seq:
            log.log(logging.ERROR if stored < self.seq else logging.WARNING,
                    "%s: journal at seq %d after the store was reopened, memory at %d: reloading from storage",
                    self.address, stored, self.seq)
            self._recover()
        self.generation = self.runtime.store.generation

    async def _loop(self) -> None:
        # Idle passivation is the runtime's reaper's job (it calls request_stop), so that
        # waiting for a message costs no cancel scope.
        mailbox, pending = self.mailbox, self.pending
        while True:
            while pending and (pending[0].group is None or pending[0].group.done):
                await self._finish_oldest()
            envelope = self.inflight
            if envelope is None:
                if pending and (len(pending) >= self._depth or (self._stop_requested and not mailbox)):
                    await self._finish_oldest()
                    continue
                if self._stop_requested and not mailbox:
                    await self._passivate()
                    return
                envelope = await mailbox.get()  # woken by a message, a stop request or a finished write
                if envelope is None:
                    continue
                self.inflight = envelope
            if pending and self._waits_for_pipeline(envelope):
                while pending:
                    await self._finish_oldest()
            await self._handle(envelope)
            self.inflight = None

    def _waits_for_pipeline(self, envelope: Envelope) -> bool:
        """Whether ``envelope`` must be handled on durable ground: a timer (checked against the stored
        one), a retry of a key still in the pipeline (answered from the stored record), or anything
        after the store was reopened (compared with it first)."""
        return (envelope.timer is not None or self.generation != self.runtime.store.generation
                or (self.pending_keys is not None and envelope.key in self.pending_keys))

    async def _finish_oldest(self) -> None:
        """Wait for the oldest pending command's write, then answer it and carry out its effects."""
        entry = self.pending[0]
        if entry.group is not None and not entry.group.done:
            try:
                await self.runtime.commits.wait(entry.group)
            except StoreError:  # StorageUnavailable too: read from the group in _complete
                pass
        del self.pending[0]
        if entry.key is not None and self.pending_keys is not None:
            self.pending_keys.discard(entry.key)
        await self._complete(entry)

    async def _settle(self) -> None:
        """Empty the pipeline, whatever its effects raise (logged): after a crash, before a restart."""
        while self.pending:
            try:
                await self._finish_oldest()
            except Exception:
                log.exception("%s: completing a command after its write failed", self.address)

    async def _passivate(self) -> None:
        """Leave memory: unregister first (new messages activate a fresh cell), then snapshot."""
        self.status = "passivating"
        self.runtime.left_memory(self)
        if self.seq > self.snapshot_seq:
            batch = Batch()
            if not self._snapshot(batch, self.seq, self.state):
                return
            try:
                await self.runtime.commits.commit(batch)
            except StorageUnavailable as exc:  # the journal holds everything; a snapshot only saves replay time
                log.warning("%s: no snapshot on passivation, the disk refuses writes (%s)", self.address, exc.code)
            except Exception:
                log.exception("%s: snapshot on passivation failed", self.address)

    async def _corrupt(self, exc: StoreCorrupt) -> None:
        """Stop for good: started on what it could read, the actor would acknowledge commands
        at seqs it had used before the damage."""
        self.status = "corrupt"
        self.metrics.last_error = f"{type(exc).__name__}: {exc}"
        log.critical("%s: not started, stored history unreadable (%s column family, %s): %s; "
                     "see 'Corruption' in docs/operations.md", self.address, exc.cf, exc.where, exc.cause)
        self.runtime.corrupted(self, str(exc))
        await self._abandon(str(exc), ActorCorrupt(self.address, str(exc)))

    async def _abandon(self, why: str, error: ActorError | None = None) -> None:
        """Give up on what is queued: asks fail (``error``, or ``ActorStopped``), timers stay stored,
        tells go to the dead letters."""
        runtime = self.runtime
        runtime.left_memory(self)
        envelopes = ([self.inflight] if self.inflight else []) + self.mailbox.drain()
        self.inflight = None
        batch, letters = Batch(), []
        for envelope in envelopes:
            if envelope.timer is not None:
                runtime.timers.done(envelope.timer, redeliver=True)
            elif envelope.reply is not None:
                envelope.fail(error or ActorStopped(f"{self.address}: {why}"))
            else:
                letters.append(dead_letter_record(self.address, envelope, why, None, runtime.clock.now()))
                runtime.store.add_dead_letter(batch, letters[-1])
        if batch:
            try:
                await runtime.commits.commit(batch)
            except StorageUnavailable as exc:  # nowhere to keep them: the log is their last record
                log.error("%s: %d undelivered message(s) could not be dead-lettered (%s): %s",
                          self.address, len(letters), exc.code, letters)

    # -- handling one command ------------------------------------------------------

    async def _handle(self, envelope: Envelope) -> None:
        """Decide ``envelope`` on the head state and queue its write; :meth:`_complete` answers it."""
        started = time.perf_counter()
        runtime, behavior, store = self.runtime, self.behavior, self.runtime.store
        command = envelope.message
        if type(command) is Attach:  # a subscription starts here, from the durable state
            if self.subscribers is None:
                self.subscribers = []
            self.subscribers.append(command.subscriber)
            envelope.succeed((self.state, self.seq))
            return
        if self.generation != store.generation:  # the pipeline is empty (_waits_for_pipeline)
            self.resync()
        timer = envelope.timer
        if timer is not None and not self._timer_current(timer):
            runtime.timers.done(timer)  # cancelled or rescheduled after it was delivered
            return
        if type(command) not in self._accepts:
            refused = Rejected("runtime/unknown_command", f"{self.kind} does not accept {type(command).__name__}")
            if timer is not None:  # a stored timer must not be dropped unseen
                await runtime.dead_letter(self, envelope, "kind does not accept TimerFired", refused)
            self._answer(envelope, refused, started)
            return
        key = envelope.key
        digest = command_digest(command) if key is not None else None
        if key is not None and (first := store.get_idempotent(self.address, key)) is not None:
            if first.get("digest", digest) != digest:  # records older than digests: taken on trust
                self._answer(envelope, Rejected("idempotency/key_reused", "this idempotency key already carried a "
                                                "different command to this actor; use a fresh key for a new command"),
                             started)
                return
            self._answer(envelope, Ack(first["seq"], first["events"]), started)  # a retry: already durable
            return
        ctx = Context(self.address, self.head_seq, to_datetime(runtime.clock.now()), envelope.by)
        try:
            result = behavior.decide(self.head_state, command, ctx)
        except Rejected as rejected:
            self.metrics.rejected += 1
            if timer is not None:  # the pipeline is empty (_waits_for_pipeline)
                await self._consume_timer(timer)
            self._answer(envelope, rejected, started)
            return
        if isinstance(result, Decision):
            events, decision = result.events, result
        else:
            events, decision = (result if type(result) is list else list(result)), None
        if not events and decision is None and timer is None and key is None:  # nothing to write
            self._answer(envelope, Ack(self.head_seq, 0), started)
            return
        state, seq = self.head_state, self.head_seq
        if decision is not None and decision.after is not None:  # decide folded them already
            state = decision.after
        else:
            for event in events:
                state = behavior.evolve(state, event)
        batch = Batch()
        if events:
            if seq == 0:
                store.register_actor(batch, self.address, {"kind": self.kind})
            for event in events:
                seq += 1
                store.append_event(batch, self.address, seq, behavior.dump_event(event))
        earliest = self._timer_changes(batch, decision, ctx) if decision is not None and decision.timers else None
        if timer is not None:
            store.delete_timer(batch, self.address, timer.name, only_id=timer.id)
        if key is not None:  # atomically with the events: a retry can never apply them twice
            at = ctx.now.timestamp()
            store.put_idempotent(batch, self.address, key, {"seq": seq, "events": len(events), "at": at,
                                                                 "digest": digest}, to_ms(at))
        snapshot_due = seq - self.head_snapshot_seq >= self._snapshot_every and self._snapshot(batch, seq, state)
        group = None
        if batch:
            try:
                group = runtime.commits.submit(batch, self.mailbox.interrupt)
            except StorageUnavailable as exc:  # refused at once (the breaker is open): nothing changes
                self._not_stored(envelope, exc)
                return
        if key is not None:
            if self.pending_keys is None:
                self.pending_keys = set()
            self.pending_keys.add(key)
        reply = decision.reply if decision is not None else None
        self.pending.append(Pending(envelope, started, self.epoch, group, state, seq, events, decision,
                                    reply if reply is not None else Ack(seq, len(events)), snapshot_due, earliest))
        self.head_state, self.head_seq = state, seq
        if snapshot_due:
            self.head_snapshot_seq = seq

    def _answer(self, envelope: Envelope, outcome: Any, started: float) -> None:
        """Answer a command that writes nothing: now, or in its turn after the pipeline's commands."""
        if self.pending:
            self.pending.append(Pending(envelope, started, self.epoch, outcome=outcome))
            return
        self._reply(envelope, outcome, started)

    def _reply(self, envelope: Envelope, outcome: Any, started: float) -> None:
        if isinstance(outcome, BaseException):
            envelope.fail(outcome)
        else:
            self.escalations = 0
            envelope.succeed(outcome)
        self.metrics.record(time.perf_counter() - started)

    async def _complete(self, entry: Pending) -> None:
        """Answer the oldest decided command, its write's outcome known, and carry out its effects."""
        runtime, envelope, group = self.runtime, entry.envelope, entry.group
        failed = group is not None and group.error is not None
        if entry.epoch != self.epoch:  # decided on a head an earlier failed write discarded
            if group is not None and not failed:  # cannot happen while failed writes open the breaker
                log.error("%s: a write decided after a failed one was stored; reloading from storage", self.address)
                self._recover()
            broken = group.error if failed and isinstance(group.error, StorageUnavailable) else self.broken_by
            if entry.timer is not None:
                runtime.timers.done(entry.timer)
            self.metrics.last_error = f"not stored ({broken.code}): an earlier command failed to be stored"
            envelope.fail(StorageDown(broken.code, f"not applied: an earlier command to {self.address} could not "
                                      f"be stored ({broken.cause})", False, broken.retry_after))
            return
        if failed:
            self.epoch += 1
            self._rewind()
            error = group.error
            if not isinstance(error, StorageUnavailable):  # a store closed under us: crash, restart from storage
                self.broken_by = StorageUnavailable("storage/io", str(error), False, None)
                raise StoreError(f"commit failed: {error}") from error
            # a copy, without the traceback: that holds the failed write's frames, and the store they
            # reference could not be reopened while it lives
            self.broken_by = StorageUnavailable(error.code, error.cause, error.applied, error.retry_after)
            self._not_stored(envelope, self.broken_by)
            return
        if group is None and entry.events is None:  # a command that wrote nothing
            self._reply(envelope, entry.outcome, entry.started)
            return
        events, seq, decision, timer = entry.events, entry.seq, entry.decision, entry.timer
        if events and seq == len(events):
            runtime.known_actors += 1  # registered with its first events
        self.state, self.seq = entry.state, seq
        if entry.snapshot_due:
            self.snapshot_seq = seq
        self._reply(envelope, entry.outcome, entry.started)
        if self.subscribers and events:
            for subscriber in self.subscribers:
                subscriber.push(seq - len(events) + 1, events)
        if events and runtime.journal_listeners:
            runtime.journaled(self.address, seq - len(events) + 1, events)
        if timer is not None:
            runtime.timers.done(timer)
        if entry.earliest is not None:
            runtime.timers.poke(entry.earliest)
        if decision is not None:
            for work in decision.work:
                runtime.start_work(self.address, work)
            for tell in decision.tells:
                try:
                    await runtime.tell(tell.address, tell.command)
                except ActorError as exc:
                    self.metrics.last_error = f"tell to {tell.address} failed: {exc}"
                    await runtime.dead_letter(self, Envelope(tell.command), f"tell to {tell.address} failed", exc)

    def _not_stored(self, envelope: Envelope, exc: StorageUnavailable) -> None:
        """The disk refused the command's write: the actor stays as it was, a timer stays stored
        (the timer service holds it until the disk writes again), the asker learns why."""
        self.metrics.last_error = f"not stored ({exc.code}): {exc.cause}"
        if envelope.timer is not None:
            self.runtime.timers.done(envelope.timer)
        envelope.fail(StorageDown(exc.code, str(exc), exc.applied, exc.retry_after))

    def _timer_changes(self, batch: Batch, decision: Decision, ctx: Context) -> int | None:
        store, earliest = self.runtime.store, None
        for change in decision.timers:
            if isinstance(change, Cancel):
                store.delete_timer(batch, self.address, change.name)
                continue
            due = change.at if change.at is not None else ctx.now + change.after
            due_ms = max(0, round(due.timestamp() * 1000))
            timer_id = f"{_timer_ids.getrandbits(64):016x}"
            store.put_timer(batch, Timer(self.address, change.name, due_ms, timer_id, change.payload))
            earliest = due_ms if earliest is None else min(earliest, due_ms)
        return earliest

    def _timer_current(self, timer: Timer) -> bool:
        stored = self.runtime.store.get_timer(self.address, timer.name)
        return stored is not None and stored.id == timer.id

    async def _consume_timer(self, timer: Timer) -> None:
        batch = Batch()
        self.runtime.store.delete_timer(batch, self.address, timer.name, only_id=timer.id)
        if batch:
            try:
                await self.runtime.commits.commit(batch)
            except StorageUnavailable:  # still stored: it fires again, and is refused again, once the disk writes
                pass
        self.runtime.timers.done(timer)

    def _snapshot(self, batch: Batch, seq: int, state: Any) -> bool:
        """Add a snapshot of ``state`` to ``batch``; False (logged) if the state cannot be stored.

        A snapshot only saves replay time: the journal holds everything, so a state that
        cannot be encoded must never stop the actor from taking commands.
        """
        try:
            stored = self.behavior.dump_state(state)
            self.metrics.state_bytes = self.runtime.store.put_snapshot(batch, self.address, seq, stored)
        except (TypeError, ValueError) as exc:  # orjson.JSONEncodeError is a TypeError
            self.metrics.last_error = f"snapshot at {seq} skipped: {exc}"
            log.warning("%s: snapshot at %d skipped, state cannot be encoded: %s", self.address, seq, exc)
            return False
        return True

    # -- crashes -------------------------------------------------------------------

    async def _crashed(self, exc: Exception) -> float:
        """Account for a crash; dead-letter a poison message; return the restart delay."""
        runtime, config = self.runtime, self.runtime.config
        error = f"{type(exc).__name__}: {exc}"
        self.metrics.restarts += 1
        self.metrics.last_error = error
        log.error("%s crashed: %s", self.address, error, exc_info=exc)
        envelope = self.inflight
        if envelope is not None:
            envelope.attempts += 1
            if envelope.attempts >= config.max_attempts:
                self.inflight = None
                await runtime.dead_letter(self, envelope, "crashed on every attempt", exc)
        now = trio.current_time()
        if self.restart_times is None:
            self.restart_times = deque()
        self.restart_times.append(now)
        while self.restart_times and self.restart_times[0] < now - config.restart_period:
            self.restart_times.popleft()
        if len(self.restart_times) > config.restart_intensity:
            self.restart_times.clear()
            self.escalations += 1
            runtime.escalate(self, error)
            return min(config.escalation_delay * 2 ** (self.escalations - 1), config.escalation_delay_max)
        return min(config.backoff_base * 2 ** (len(self.restart_times) - 1), config.backoff_max)


def recover(behavior: "Behavior", store: Store, address: str, upto: int | None = None) -> tuple[Any, int, int]:
    """Rebuild ``(state, seq, snapshot_seq)`` from the newest readable snapshot plus the journal after it.

    An unreadable snapshot (torn, corrupt, or of an unknown schema) falls back to the one
    before it, and finally to a full replay: never to lost events.  With ``upto``, the
    state right after event ``upto`` (``seq`` is lower when the journal is shorter).
    """
    state, snapshot_seq = behavior.initial(address), 0
    for snap_seq, raw in store.snapshots_raw(address):
        if upto is not None and snap_seq > upto:
            continue
        try:
            state, snapshot_seq = behavior.load_state(codec.decode(raw)), snap_seq
            break
        except (CorruptRecord, UnknownSchema) as exc:
            log.warning("%s: snapshot at %d unreadable (%s); falling back", address, snap_seq, exc)
    seq = snapshot_seq
    tail = None if upto is None else upto - snapshot_seq
    for seq, stored in store.read_journal(address, after=snapshot_seq, limit=tail):  # noqa: B007 (the last one read)
        state = behavior.evolve(state, behavior.load_event(stored))
    return state, seq, snapshot_seq


def dead_letter_record(address: str, envelope: Envelope, reason: str, exc: BaseException | None, now: float) -> dict[str, Any]:
    command = envelope.message
    try:
        data = command.model_dump(mode="json")
    except Exception:
        data = repr(command)
    return {
        "address": address,
        "command": type(command).__name__,
        "data": data,
        "reason": reason,
        "error": f"{type(exc).__name__}: {exc}" if exc is not None else None,
        "attempts": envelope.attempts,
        "request_id": envelope.reply.request_id if envelope.reply is not None else None,
        "at": now,
    }


def crashed_error(address: str, envelope: Envelope, exc: BaseException) -> ActorCrashed:
    return ActorCrashed(
        f"{type(envelope.message).__name__} crashed {address} {envelope.attempts} times "
        f"({type(exc).__name__}: {exc}); it was moved to the dead letters"
    )


def command_digest(command: Command) -> str:
    """A fingerprint of a command's type and data: a retried idempotency key must carry the same one.

    Only the fields the sender set count: a default drawn as the command arrives (a game's
    random seed) differs on every retry of the same request."""
    body = json.dumps([type(command).__name__, command.model_dump(mode="json", exclude_unset=True)], sort_keys=True,
                      separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(body.encode()).hexdigest()[:32]
