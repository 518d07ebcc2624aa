"""Websocket protocol v1 (``/ws``): see docs/protocol.md.

One connection = a reader (parses frames in order), a writer (drains a bounded outbound
queue onto the socket, up to :data:`WRITE_BATCH` frames a write), and one forwarder per
subscription; one task beats the heart of every connection (:func:`heartbeat_forever`: a
task each cost 3 KB a connection).  The socket is a :class:`Socket`: the lean edge's
(``server.edge``) for connections that open with the upgrade, quart's on its route
(``server.routes.ws``) for one opened later on a kept-alive HTTP connection.  A slow socket
fills the outbound queue, the forwarder waits, its subscription's buffer in the runtime
overflows, and the runtime answers with ``Resync`` and a fresh snapshot: the actor never
waits for a client.
"""
from __future__ import annotations

import logging
import secrets
import time
from functools import partial
from typing import Any, Protocol

import orjson
import trio

from actors import ActorError, BadSince, Published, Resync, Snapshot, Transient, VirtualClock

from . import decoding
from .auth import Principal
from .bridge.socket import Attached
from .context import Everturn
from .errors import ApiError, from_actor_error
from .frames import event_body
from .requests import admitted, existing, parse_command, reachable, state_json, verified

log = logging.getLogger("everturn.ws")
PROTOCOL = 1
RELAYED = frozenset({"subscribe", "unsubscribe", "command"})  # sent on to the shard owning their topic
WRITE_BATCH = 64  # frames queued for a connection leave in one write, up to this many


class Socket(Protocol):
    """A websocket connection as a session uses it; the connection ending cancels the session
    or makes these raise."""

    remote_addr: str | None

    async def accept(self) -> None: ...

    async def receive(self) -> str | bytes: ...

    async def send_many(self, texts: list[str]) -> None: ...


class Session:
    def __init__(self, ctx: Everturn, socket: Socket) -> None:
        self.ctx = ctx
        self.socket = socket
        self.id = secrets.token_hex(8)
        self.principal: Principal | None = None
        self.by: dict[str, Any] | None = None  # the principal as actors see it (ctx.by), made once
        self.subscriptions: dict[str, trio.CancelScope] = {}
        # dicts to encode, or frames already encoded (shared event frames)
        self.outbound_send, self.outbound = trio.open_memory_channel[dict[str, Any] | str](ctx.settings.ws_queue)
        self.nursery: trio.Nursery | None = None
        self.client: str = getattr(socket, "remote_addr", None) or "unknown"  # for auth throttling
        self.token: str | None = None  # the hello's, for the links to other shards (server.shards.relay)
        self.relay: Any = None  # server.shards.relay.Relay, once a frame went to another shard
        self.connected_at = time.time()
        self.bridge: Any = None  # server.bridge.socket.Attached, once a VTT bridge attaches

    def describe(self) -> dict[str, Any]:
        """This connection as the operators' session listing shows it."""
        principal = self.principal
        return {"session": self.id, "token_id": principal.token_id if principal else None,
                "role": principal.role if principal else None, "campaign": principal.campaign if principal else None,
                "character": principal.character if principal else None, "client": self.client,
                "connected_at": self.connected_at, "subscriptions": sorted(self.subscriptions)}

    async def send(self, message: dict[str, Any] | str) -> None:
        await self.outbound_send.send(message)

    async def error(self, code: str, message: str, request_id: Any = None, **extra: Any) -> None:
        await self.send(error_frame(code, message, request_id, **extra))

    # -- tasks -------------------------------------------------------------------------

    async def writer(self) -> None:
        outbound, metrics = self.outbound, self.ctx.metrics
        async for message in outbound:
            batch = [_text(queued) for queued in one_write(message, outbound)]
            await self.socket.send_many(batch)
            metrics.ws_frames_out += len(batch)

    async def reader(self) -> None:
        while True:
            frame = await self.socket.receive()
            self.ctx.metrics.ws_frames_in += 1
            try:
                message = decoding.loads(frame)
            except orjson.JSONDecodeError:
                await self.error("bad_json", "frames are JSON objects")
                continue
            except ApiError as exc:  # too deep, or an integer past any sane width
                await self.error(exc.code, exc.message, frame_id(frame), details=exc.details)
                continue
            if not isinstance(message, dict) or not isinstance(message.get("type"), str):
                await self.error("bad_message", 'every frame is a JSON object with a "type"')
                continue
            await self.dispatch(message)

    # -- messages ------------------------------------------------------------------------

    async def dispatch(self, message: dict[str, Any]) -> None:
        kind = message["type"]
        if kind == "hello":
            return await self.hello(message)
        if kind == "ping":
            return await self.send({"type": "pong", "server_time": self.ctx.runtime.clock.now()})
        if self.principal is None:
            return await self.error("auth/hello_first", "send hello {token} first", message.get("id"))
        if kind.startswith("bridge."):  # a VTT bridge's frames (server.bridge.socket)
            if self.bridge is None:
                self.bridge = Attached(self)
            return await self.bridge.handle(message)
        if kind in RELAYED and self.ctx.shards is not None:
            shard = owner_elsewhere(self.ctx, message.get("topic"))
            if shard is not None:
                return await self.relay_to(shard, message)
        if kind == "subscribe":
            return await self.subscribe(message)
        if kind == "unsubscribe":
            return await self.unsubscribe(message)
        if kind == "command":
            return await self.command(message)
        await self.error("bad_message", f"unknown message type {kind!r}", message.get("id"))

    async def hello(self, message: dict[str, Any]) -> None:
        token = message.get("token")
        if not isinstance(token, str):
            await self.error("auth/invalid", "the token is unknown or revoked")
            return
        try:
            principal = verified(self.ctx, token, self.client)
        except ApiError as exc:  # auth/invalid, or auth/throttled with retry_after
            extra = {"retry_after": exc.details["retry_after"]} if exc.status == 429 else {}
            await self.error(exc.code, exc.message, **extra)
            return
        if principal.campaign is not None and self.ctx.handoff is not None:
            shard = owner_elsewhere(self.ctx, f"campaign/{principal.campaign}")
            if shard is not None and self.outbound.statistics().current_buffer_used == 0 and \
                    await self.ctx.handoff.hand_over(shard, self.socket, orjson.dumps(message).decode()):
                from .shards.handoff import HandedOver

                raise HandedOver()  # the owner says welcome
        self.principal, self.by, self.token = principal, principal.as_dict(), token
        clock = self.ctx.runtime.clock
        await self.send({"type": "welcome", "session": self.id, "server_time": clock.now(),
                         "clock": "virtual" if isinstance(clock, VirtualClock) else "real",
                         "protocol": PROTOCOL, "role": principal.role, "campaign": principal.campaign,
                         "character": principal.character})

    async def relay_to(self, shard: int, message: dict[str, Any]) -> None:
        """Send ``message`` to the shard that owns its topic; its answers come back on their own."""
        from .shards.relay import Relay, UpstreamFailed  # a sharded server's only

        if self.relay is None:
            peers = self.ctx.shards.peers  # type: ignore[union-attr]
            self.relay = Relay(peers, self.ctx.settings.max_frame_bytes, self.send)
        try:
            await self.relay.forward(shard, message, self.token, self.nursery)  # type: ignore[arg-type]
        except UpstreamFailed as exc:
            log.warning("session %s: %s", self.id, exc)
            await self.error("shard/unavailable", f"the shard that owns {message.get('topic')} does not answer now; "
                             "try again", message.get("id"), topic=message.get("topic"))

    def topic(self, message: dict[str, Any]) -> str:
        topic = message.get("topic")
        if not isinstance(topic, str):
            raise ApiError(400, "bad_message", '"topic" must be an actor address')
        return reachable(self.ctx, self.principal, topic)  # type: ignore[arg-type]

    async def subscribe(self, message: dict[str, Any]) -> None:
        since = message.get("since")
        try:
            topic = existing(self.ctx, self.topic(message))  # a missing actor is never activated
            if topic not in self.subscriptions:
                self.subscription_room()
            if since is not None and (not isinstance(since, int) or isinstance(since, bool) or since < 0):
                raise ApiError(400, "bad_since", '"since" is a sequence number (integer >= 0)')
        except ApiError as exc:
            extra = {"details": exc.details} if exc.details is not None else {}
            return await self.error(exc.code, exc.message, message.get("id"), topic=message.get("topic"), **extra)
        if topic in self.subscriptions:
            self.subscriptions.pop(topic).cancel()
        else:
            self.count_subscriptions(1)
        scope = trio.CancelScope()
        self.subscriptions[topic] = scope
        self.nursery.start_soon(self.forward, topic, since, scope)  # type: ignore[union-attr]

    def count_subscriptions(self, change: int) -> None:
        """Keep the token's count of live subscriptions: it moves whenever ``self.subscriptions`` gains or loses one."""
        by_token, token_id = self.ctx.subscriptions_by_token, self.principal.token_id  # type: ignore[union-attr]
        by_token[token_id] += change
        if by_token[token_id] <= 0:
            del by_token[token_id]

    def subscription_room(self) -> None:
        """Raise ``ws/too_many_subscriptions`` when this connection or its token holds its limit."""
        settings, token_id = self.ctx.settings, self.principal.token_id  # type: ignore[union-attr]
        per_connection, per_token = settings.ws_subscriptions_per_connection, settings.ws_subscriptions_per_token
        if len(self.subscriptions) >= per_connection:
            raise ApiError(429, "ws/too_many_subscriptions", f"a connection holds at most {per_connection} "
                           "subscriptions; unsubscribe first", {"limit": per_connection, "per": "connection"})
        if self.ctx.subscriptions_by_token[token_id] >= per_token:
            raise ApiError(429, "ws/too_many_subscriptions", f"a token holds at most {per_token} subscriptions "
                           "over all its connections; unsubscribe first", {"limit": per_token, "per": "token"})

    async def unsubscribe(self, message: dict[str, Any]) -> None:
        topic = message.get("topic")
        scope = self.subscriptions.pop(topic, None) if isinstance(topic, str) else None
        if scope is not None:
            scope.cancel()
            self.count_subscriptions(-1)
        await self.send({"type": "unsubscribed", "topic": topic if isinstance(topic, str) else None})

    async def forward(self, topic: str, since: int | None, scope: trio.CancelScope) -> None:
        """Send ``topic``'s stream: shared frames, or for a reader who sees less, frames projected for it alone.

        A projected event is projected from the state right after it: the forwarder keeps the
        state it last sent (from the snapshot, or rebuilt at ``since``) and folds each event in.
        """
        runtime, frames = self.ctx.runtime, self.ctx.event_frames
        behavior = runtime.behavior_of(topic)
        projected = behavior.projects(self.by)
        stateful = projected and behavior.projection_reads_state
        state, at = None, since  # stateful projected streams: the state after event ``at``
        with scope:
            try:
                if stateful and since is not None:
                    state, at = await runtime.workers.in_thread(runtime.state_at, topic, since)
                    if at != since:
                        raise BadSince(f"{topic} has {at} events; cannot resume after {since}")
                async with runtime.subscribe(topic, since, capacity=self.ctx.settings.ws_queue) as items:
                    async for item in items:
                        if isinstance(item, Published) and not projected:
                            await self.send(frames.get(topic, item.seq, item.event))
                        elif isinstance(item, Published):
                            if stateful:
                                if at is None or item.seq != at + 1:
                                    raise AssertionError(f"{topic}: event {item.seq} does not follow {at}")
                                state = self.ctx.states_after.after(behavior, topic, item.seq, state, item.event)
                                at = item.seq
                            data = behavior.project_event(state, item.event, self.by)
                            if data is None:  # this reader sees it as it is: the shared frame
                                await self.send(frames.get(topic, item.seq, item.event))
                                continue
                            body = event_body(item.event, data)
                            await self.send({"type": "event", "topic": topic, "seq": item.seq, "event": body})
                        elif isinstance(item, Snapshot):
                            state, at = item.state, item.seq
                            await self.send({"type": "snapshot", "topic": topic, "seq": item.seq,
                                             "state": state_json(behavior, item.state, self.by)})
                        elif isinstance(item, Transient):  # live only: no seq, never resumed
                            await self.send({"type": item.kind, "topic": topic, **item.data})
                        elif isinstance(item, Resync):
                            self.ctx.metrics.ws_resyncs += 1
                            await self.send({"type": "resync", "topic": topic, "reason": item.reason})
            except ActorError as exc:
                error = from_actor_error(exc)
                await self.error(error.code, error.message, topic=topic)
        if self.subscriptions.get(topic) is scope:
            del self.subscriptions[topic]
            self.count_subscriptions(-1)

    async def command(self, message: dict[str, Any]) -> None:
        request_id = message.get("id")
        if not isinstance(request_id, str) or not 1 <= len(request_id) <= 128:
            return await self.error("bad_message", 'a command needs an "id" (string, 1-128 characters)', request_id)
        wait = self.ctx.limiter.take(self.principal.token_id)  # type: ignore[union-attr]  # one budget with REST
        if wait is not None:
            return await self.error("rate_limited", "too many commands for this token", request_id,
                                    retry_after=round(wait, 3))
        try:
            topic = self.topic(message)
            command = parse_command(self.ctx.runtime, topic, message.get("command"))
            admitted(self.ctx, topic, command)
            # Submitted here, in frame order: a client's commands reach the mailbox in the
            # order it sent them; only the wait for each reply runs concurrently.
            reply = self.ctx.runtime.submit(topic, command, by=self.by,
                                            idempotency_key=f"{self.principal.token_id}:{request_id}")  # type: ignore[union-attr]
        except ApiError as exc:
            return await self.error(exc.code, exc.message, request_id, details=exc.details)
        except ActorError as exc:
            error = from_actor_error(exc)
            return await self.error(error.code, error.message, request_id)
        self.ctx.runtime.on_answer(reply, topic, command, partial(self.acknowledge, topic, request_id))

    def acknowledge(self, topic: str, request_id: str, reply: Any) -> None:
        """The command's ack or error into the outbound queue, from the actor's answer (no task waits
        for it). A full queue (a slow reader) hands the frame to a task that waits for room."""
        if reply.error is None:
            frame = {"type": "ack", "id": request_id, "topic": topic, "seq": reply.value.seq, "events": reply.value.events}
        elif isinstance(reply.error, ActorError):
            error = from_actor_error(reply.error)
            frame = error_frame(error.code, error.message, request_id, details=error.details)
        else:  # never the runtime's answer to a client: a bug, said without its insides
            log.error("%s: command %s failed: %r", topic, request_id, reply.error)
            frame = error_frame("runtime/actor_crashed", "the server failed this command", request_id, details=None)
        try:
            self.outbound_send.send_nowait(frame)
        except trio.WouldBlock:
            try:
                self.nursery.start_soon(self.send, frame)  # type: ignore[union-attr]
            except RuntimeError:  # the connection's nursery has closed: nobody to tell
                pass
        except (trio.ClosedResourceError, trio.BrokenResourceError):
            pass


def error_frame(code: str, message: str, request_id: Any = None, **extra: Any) -> dict[str, Any]:
    """An error frame. What the client sent is echoed (``id``, ``topic``) only when it is a string,
    as the protocol has it: anything else may not even encode (an integer past 64 bits)."""
    body = {"type": "error", "code": code, "message": message,
            **{name: value for name, value in extra.items() if name != "topic" or isinstance(value, str)}}
    if isinstance(request_id, str):
        body["id"] = request_id
    return body


def owner_elsewhere(ctx: Everturn, topic: Any) -> int | None:
    """The shard that owns ``topic`` when it is not this one (a sharded server); else None."""
    if not isinstance(topic, str) or "/" not in topic:
        return None  # the session refuses it itself
    peers = ctx.shards.peers  # type: ignore[union-attr]
    shard = peers.owner(topic)
    return None if shard == peers.index else shard


def one_write(first: Any, queue: trio.MemoryReceiveChannel[Any]) -> list[Any]:
    """``first`` and what else ``queue`` holds now, up to :data:`WRITE_BATCH` items: one write's worth."""
    batch = [first]
    while len(batch) < WRITE_BATCH:
        try:
            batch.append(queue.receive_nowait())
        except trio.WouldBlock:
            break
    return batch


def _text(message: dict[str, Any] | str) -> str:
    return message if isinstance(message, str) else orjson.dumps(message).decode()


def frame_id(frame: str | bytes) -> Any:
    """The ``id`` of a frame refused whole (too deep), so the client can tell which request failed."""
    try:
        message = orjson.loads(frame)
    except orjson.JSONDecodeError:  # past orjson's own depth limit: no id to give
        return None
    return message.get("id") if isinstance(message, dict) and isinstance(message.get("id"), str) else None


async def serve_connection(ctx: Everturn, socket: Socket) -> None:
    await socket.accept()
    session = Session(ctx, socket)
    ctx.metrics.websockets += 1
    try:
        async with trio.open_nursery() as nursery:
            session.nursery = nursery
            nursery.start_soon(session.writer)
            ctx.sessions.add(session)
            await session.reader()
            nursery.cancel_scope.cancel()
    finally:
        ctx.metrics.websockets -= 1
        ctx.sessions.discard(session)
        if session.subscriptions:
            session.count_subscriptions(-len(session.subscriptions))


async def heartbeat_forever(ctx: Everturn) -> None:
    """Every ``heartbeat_s``, a heartbeat (encoded once) into each open session's outbound queue;
    a session whose queue is full misses it (its reader is slow: frames are on their way)."""
    while True:
        await trio.sleep(ctx.settings.heartbeat_s)
        frame = orjson.dumps({"type": "heartbeat", "server_time": ctx.runtime.clock.now()}).decode()
        for session in list(ctx.sessions):
            try:
                session.outbound_send.send_nowait(frame)
            except (trio.WouldBlock, trio.ClosedResourceError):
                pass
