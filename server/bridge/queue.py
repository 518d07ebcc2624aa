"""What a virtual tabletop must carry out, queued durably per world: priorities, expiry, acks, backpressure.

A campaign's VTT world (``<campaign>/<world>``) has one queue, whichever of its bridges is
connected: the elected emitter carries the commands out, so several GMs' browsers on one world
never apply a command twice.  Records in the store's meta column family:

    bridgeq:<world>:<priority>:<seq>   a command waiting for its ack, in delivery order (combat, then
                                       chat, then cosmetic; oldest first within each)
    bridgeq-seq:<world>                the world's last sequence number
    bridgeq-done:<world>               the last ``DONE_KEPT`` finished commands (acked, failed, expired):
                                       what the sender and the GM status read, and what makes a second
                                       ack of one command harmless

A command is delivered until it is acked (at least once: the VTT side is idempotent by id), it
survives restarts and reconnects, and past its time to live it is *expired*, visibly: it moves to
the finished list with that status, never silently away.  When a world's queue is full, new
commands are refused by priority (``QueueFull``): cosmetic ones first, then chat; combat has a
reserve of its own.  A queued command is never dropped to make room.
"""
from __future__ import annotations

import secrets
from dataclasses import dataclass
from typing import Any

from snapshots import Batch, Store, codec
from snapshots.protocol import META

PRIORITIES = ("combat", "chat", "cosmetic")  # delivered in this order
KINDS = {  # what the VTT carries out, and its priority
    "start_combat": "combat", "end_combat": "combat", "advance_turn": "combat", "apply_damage": "combat",
    "apply_healing": "combat", "apply_condition": "combat", "remove_condition": "combat",
    "create_chat_message": "chat",
    "move_token": "cosmetic", "spawn_token": "cosmetic", "remove_token": "cosmetic", "show_journal": "cosmetic",
}
DEFAULT_TTL_S = {"combat": 600.0, "chat": 3600.0, "cosmetic": 300.0}
CAPACITY = 1000                  # commands a world may hold ...
LIMITS = {"cosmetic": int(CAPACITY * 0.8), "chat": CAPACITY, "combat": CAPACITY + 200}  # ... by priority
DONE_KEPT = 500

QUEUE, SEQ, DONE = b"bridgeq:", b"bridgeq-seq:", b"bridgeq-done:"


class QueueFull(Exception):
    """The world's queue holds too much for a command of this priority; nothing was queued."""

    code = "bridge/queue_full"

    def __init__(self, world: str, priority: str, depth: int) -> None:
        super().__init__(f"the bridge queue of {world} holds {depth} commands waiting for the VTT; {priority} "
                         f"commands are refused past {LIMITS[priority]} (combat ones keep a reserve): is a bridge "
                         "connected?")
        self.world, self.priority, self.depth = world, priority, depth


@dataclass(frozen=True)
class Counts:
    depth: dict[str, int]              # waiting, by priority
    oldest_at: float | None            # when the oldest waiting command was queued
    expired: int                       # among the finished ones kept
    failed: int
    troubles: list[dict[str, Any]]     # the failed and expired among them, newest first


def world_key(campaign: str, world: str) -> str:
    return f"{campaign}/{world}"


class BridgeQueue:
    def __init__(self, store: Store) -> None:
        self.store = store

    # -- the sender's side -------------------------------------------------------------------

    def enqueue(self, world: str, kind: str, data: dict[str, Any], now: float, ttl_s: float | None = None,
                command_id: str | None = None) -> dict[str, Any]:
        """Queue ``kind`` for the world's VTT; raises ``QueueFull`` (nothing queued) past its priority's limit,
        ``ValueError`` for an unknown kind.  The same ``command_id`` again is the command already queued."""
        if kind not in KINDS:
            raise ValueError(f"unknown bridge command {kind!r}; one of {', '.join(KINDS)}")
        if command_id is not None:
            known = self.find(world, command_id)
            if known is not None:
                return known
        priority = KINDS[kind]
        depth = sum(self.counts(world, now).depth.values())
        if depth >= LIMITS[priority]:
            raise QueueFull(world, priority, depth)
        seq = (self.store.get_meta(SEQ + world.encode()) or 0) + 1
        record = {"id": command_id or secrets.token_hex(8), "world": world, "seq": seq, "kind": kind,
                  "priority": priority, "data": data, "queued_at": now,
                  "expires_at": now + (ttl_s if ttl_s is not None else DEFAULT_TTL_S[priority]), "deliveries": 0}
        batch = Batch()
        batch.put(META, _key(world, priority, seq), codec.encode(record))
        batch.put(META, SEQ + world.encode(), codec.encode(seq))
        self.store.write([batch])
        return {**record, "status": "queued"}

    def find(self, world: str, command_id: str) -> dict[str, Any] | None:
        """A command by id: waiting (``queued``) or finished (``acked``, ``failed``, ``expired``)."""
        for _, record in self.store.meta_items(QUEUE + f"{world}:".encode()):
            if record["id"] == command_id:
                return {**record, "status": "queued"}
        return next((record for record in self.done(world) if record["id"] == command_id), None)

    # -- the VTT's side ------------------------------------------------------------------------

    def pending(self, world: str, now: float, after: int = 0, redeliver_s: float = 30.0,
                limit: int = 100) -> list[dict[str, Any]]:
        """The commands to deliver now, in delivery order: every one queued after sequence number ``after``
        (what the bridge has not seen), and any seen but not acked for ``redeliver_s`` (at least once).
        Those past their time to live are expired first.  Each one returned counts as delivered at ``now``."""
        out, expired, delivered = [], [], Batch()
        for key, record in self.store.meta_items(QUEUE + f"{world}:".encode()):
            if record["expires_at"] <= now:
                expired.append((key, record))
                continue
            last = record.get("delivered_at")
            if len(out) < limit and (record["seq"] > after or last is None or now - last >= redeliver_s):
                record = {**record, "delivered_at": now, "deliveries": record["deliveries"] + 1}
                delivered.put(META, key, codec.encode(record))
                out.append(record)
        if out:
            self.store.write([delivered])
        if expired:
            self._finish(world, [(key, {**record, "status": "expired", "finished_at": now,
                                        "reason": "its time to live passed before the VTT acked it"})
                                 for key, record in expired])
        return out

    def ack(self, world: str, command_id: str, now: float, ok: bool = True, reason: str | None = None
            ) -> dict[str, Any] | None:
        """The VTT carried the command out (``ok``) or could not (``reason``); a second ack of a finished command
        changes nothing.  None: no such command."""
        return self.ack_many(world, [(command_id, ok, reason)], now)[0]

    def ack_many(self, world: str, acks: list[tuple[str, bool, str | None]], now: float
                 ) -> list[dict[str, Any] | None]:
        """Each ``(id, ok, reason)`` as :meth:`ack` takes it, in order, for one read of the queue and one write:
        each command as it now stands (None: no such command)."""
        waiting = {record["id"]: (key, record)
                   for key, record in self.store.meta_items(QUEUE + f"{world}:".encode())}
        finished: dict[str, tuple[bytes, dict[str, Any]]] = {}
        for command_id, ok, reason in acks:
            if command_id in waiting and command_id not in finished:
                key, record = waiting[command_id]
                why = None if ok else (reason or "the VTT could not carry it out")[:500]
                finished[command_id] = (key, {**record, "status": "acked" if ok else "failed", "finished_at": now,
                                              "reason": why})
        if finished:
            self._finish(world, list(finished.values()))
        done = {record["id"]: record for record in reversed(self.done(world))}  # the newest of an id wins
        return [done.get(command_id) for command_id, _, _ in acks]

    def shed(self, world: str, kind: str, data: dict[str, Any], command_id: str, now: float, reason: str) -> None:
        """A command the server made for the world (not a sender who is told ``QueueFull``) that could not be
        queued: finished at once as ``expired`` with why, so the GM and operators see it was never sent."""
        if self.find(world, command_id) is not None:
            return
        record = {"id": command_id, "world": world, "seq": 0, "kind": kind, "priority": KINDS[kind], "data": data,
                  "queued_at": now, "expires_at": now, "deliveries": 0, "status": "expired", "finished_at": now,
                  "reason": reason[:500]}
        self._finish(world, [(None, record)])

    # -- what operators and the GM read ----------------------------------------------------------

    def counts(self, world: str, now: float) -> Counts:
        depth = dict.fromkeys(PRIORITIES, 0)
        oldest = None
        for _, record in self.store.meta_items(QUEUE + f"{world}:".encode()):
            if record["expires_at"] > now:
                depth[record["priority"]] += 1
                oldest = record["queued_at"] if oldest is None else min(oldest, record["queued_at"])
        troubles = [r for r in self.done(world) if r["status"] in ("expired", "failed")]
        return Counts(depth, oldest, sum(r["status"] == "expired" for r in troubles),
                      sum(r["status"] == "failed" for r in troubles), troubles)

    def worlds(self, campaign: str | None = None) -> set[str]:
        """The worlds (of ``campaign``, if given) with commands waiting or finished; reads only that
        campaign's records (a GM status asks on every refresh)."""
        scope = f"{campaign}/".encode() if campaign is not None else b""
        found = {key[len(QUEUE):].decode().rsplit(":", 2)[0] for key, _ in self.store.meta_items(QUEUE + scope)}
        return found | {key[len(DONE):].decode() for key, _ in self.store.meta_items(DONE + scope)}

    def done(self, world: str) -> list[dict[str, Any]]:
        """The last finished commands, newest first."""
        return self.store.get_meta(DONE + world.encode()) or []  # type: ignore[no-any-return]

    def _finish(self, world: str, finished: list[tuple[bytes | None, dict[str, Any]]]) -> None:
        batch = Batch()
        for key, _ in finished:
            if key is not None:  # None: never queued (shed)
                batch.delete(META, key)
        done = [record for _, record in reversed(finished)] + self.done(world)
        batch.put(META, DONE + world.encode(), codec.encode(done[:DONE_KEPT]))
        self.store.write([batch])


def _key(world: str, priority: str, seq: int) -> bytes:
    return QUEUE + f"{world}:{PRIORITIES.index(priority)}:{seq:016d}".encode()
