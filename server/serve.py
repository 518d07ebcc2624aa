"""Running it all in one trio run: the actor runtime and hypercorn's trio worker.

Shutdown order: stop accepting connections, let hypercorn finish what it has, drain every
actor's mailbox and snapshot, flush the last group commit, close RocksDB.
"""
from __future__ import annotations

import contextlib
import gc
import logging
import time
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterable

import hypercorn.protocol.h11
import hypercorn.protocol.h2
import hypercorn.trio.run
import trio
from hypercorn.config import Config
from hypercorn.protocol.events import StreamClosed
from hypercorn.protocol.ws_stream import FrameTooLargeError, WSStream
from hypercorn.trio import serve
from hypercorn.trio.tcp_server import TCPServer
from wsproto.connection import ConnectionState
from wsproto.events import CloseConnection, Message, Ping
from wsproto.frame_protocol import CloseReason

from actors import Behavior, Clock, Runtime, RuntimeConfig, open_runtime
from snapshots import Store
from snapshots.backups import remove_interrupted_backups
from snapshots.search.rules import Rulebooks

from . import edge
from .app import Everturn, ServerSettings, create_app
from .auth import Tokens
from .shards.peers import SYSTEM_SHARD
from .ws import heartbeat_forever, serve_connection

if TYPE_CHECKING:
    from actors.narration.service import Narrator
    from .shards.peers import Peers
    from snapshots.search import Indexer

log = logging.getLogger("everturn.server")
# Young collections every 10,000 net allocations (CPython: 700), the oldest generation
# only after 100 middle ones (10): a server holding thousands of sessions and actors
# otherwise spends its tail latency walking them.
GC_THRESHOLDS = (10_000, 20, 100)


def tune_collector() -> None:
    """A server's collector settings: what exists now is frozen, then :data:`GC_THRESHOLDS`.

    Call once startup has built what lives for good (modules, kinds, the app): out of the
    collector's sight, full collections (pauses of 200+ ms with a thousand connections open
    or a few hundred campaigns in memory) get cheaper.
    """
    gc.freeze()
    gc.set_threshold(*GC_THRESHOLDS)


class GuardedTCPServer(TCPServer):
    """Hypercorn's per-connection handler, kept from stopping the whole server.

    hypercorn 0.18 lets an error in one connection escape its handler (a request whose
    framing lies can make it answer 400 while the app is still sending: BusyResourceError,
    pgjones/hypercorn#203), and trio's ``serve_listeners`` then tears every connection
    down. One broken connection must cost only itself.
    """

    async def run(self) -> None:
        try:
            lean_ws = getattr(getattr(self.app, "app", None), "lean_ws", None)  # run_server's, if on
            if lean_ws is not None and isinstance(self.stream, trio.SocketStream):
                head = await edge.read_head(self.stream)
                if not head:  # it left, or said nothing for as long as hypercorn keeps an idle connection
                    await self._close()
                    return
                if edge.is_upgrade(head):
                    await lean_ws(self.stream, head)
                    return
                self.stream = edge.Replayed(self.stream, head)  # type: ignore[assignment]
            await super().run()
        except Exception as exc:
            log.warning("connection dropped after a protocol error: %r", exc)

    async def _close(self) -> None:
        """Close the socket even when the caller is being cancelled.

        A response that ends its connection (``Connection: close``: a 413) tells the app
        the stream is over; quart-trio then cancels the app's task, which is the very task
        running this close: unshielded, the socket stayed open, unread, and the client's
        next request on it hung. Shutting down and closing a plain socket do not wait (a
        TLS close might: it gets a few seconds).
        """
        with trio.move_on_after(5) as scope:
            scope.shield = True
            await super()._close()


hypercorn.trio.run.TCPServer = GuardedTCPServer  # type: ignore[misc]  # worker_serve looks it up there


class FailingWSStream(WSStream):
    """Hypercorn's websocket stream, made to fail a connection with the close code it broke.

    wsproto reports a frame it cannot accept (invalid UTF-8 in a text message, a protocol
    error) as a ``CloseConnection`` the peer never sent, with the code for it (1007, 1002);
    hypercorn 0.18 answers only a peer's close and so dropped the TCP connection bare.
    RFC 6455 section 7.1.7: send a close frame with that code first.
    """

    async def _handle_events(self) -> None:  # hypercorn 0.18's, with the one branch marked
        for event in self.connection.events():
            if isinstance(event, Message):
                try:
                    self.buffer.extend(event)
                except FrameTooLargeError:
                    await self._send_wsproto_event(CloseConnection(code=CloseReason.MESSAGE_TOO_BIG))
                    break
                if event.message_finished:
                    await self.app_put(self.buffer.to_message())
                    self.buffer.clear()
            elif isinstance(event, Ping):
                await self._send_wsproto_event(event.response())
            elif isinstance(event, CloseConnection):
                if self.connection.state == ConnectionState.REMOTE_CLOSING:
                    await self._send_wsproto_event(event.response())
                elif self.connection.state == ConnectionState.OPEN:  # ours: wsproto refused a frame
                    await self._send_wsproto_event(event)
                await self.send(StreamClosed(stream_id=self.stream_id))


hypercorn.protocol.h11.WSStream = FailingWSStream  # type: ignore[misc]  # the HTTP/1 upgrade path makes them
hypercorn.protocol.h2.WSStream = FailingWSStream  # type: ignore[misc]


@dataclass
class Running:
    """What a started server hands back: where it listens and its parts."""

    url: str
    runtime: Runtime
    tokens: Tokens
    first_token: str | None
    stop: trio.Event
    search: Indexer | None = None  # the search index's feed (None: ServerSettings.search off)


async def run_server(data: Path, kinds: Iterable[Behavior], *, host: str = "127.0.0.1", port: int = 8800,
                     clock: Clock | None = None, settings: ServerSettings | None = None,
                     config: RuntimeConfig | None = None, tune_gc: bool = False,
                     narrator: Narrator | None = None, peers: Peers | None = None, secret: str = "",
                     task_status: trio.TaskStatus[Running] = trio.TASK_STATUS_IGNORED) -> None:
    """Serve until ``Running.stop`` is set (or the task is cancelled).

    ``tune_gc``: the process is a server (``everturn serve``): freeze what startup made and
    collect less often (:data:`GC_THRESHOLDS`); left off where the process does other work.
    ``narrator``: the one the campaigns in ``kinds`` were given; its worker processes
    start (and load their models) before the server listens, and outlive the runtime; its
    tokens go to the campaigns' live subscribers, its health to the console.
    """
    settings = settings or ServerSettings()
    removed = _remove_interrupted_backups(settings.backup_dir)
    store = Store.open(data)
    try:
        tokens = Tokens(store)
        first_token = None
        if peers is None and not tokens.any():
            first_token, _ = tokens.create("operator")
        async with narrator.serving() if narrator is not None else contextlib.nullcontext():
            async with open_runtime(store, kinds, clock=clock, config=config) as runtime:
                if narrator is not None:
                    narrator.attach(runtime.publish_transient)
                app = create_app(runtime, tokens, settings, narrator=narrator, books=Rulebooks(store))
                app.everturn.backups_removed = removed
                closing = edge.Closing()
                if settings.lean_ws:
                    app.lean_ws = partial(edge.serve, session=partial(serve_connection, app.everturn),
                                          max_bytes=settings.max_frame_bytes, closing=closing)
                hypercorn = Config()
                hypercorn.bind = [f"{host}:{port}"]
                if peers is not None:
                    _shard(app, peers, secret, closing)
                    hypercorn.bind = [f"fd://{peers.public_fd}", f"fd://{peers.private_fd}"]
                hypercorn.websocket_max_message_size = settings.max_frame_bytes
                hypercorn.graceful_timeout = 5
                hypercorn.accesslog = None  # the app logs each request itself, with its request id
                hypercorn.errorlog = logging.getLogger("hypercorn.error")  # through our handlers, once
                stop = trio.Event()
                async with trio.open_nursery() as nursery:
                    indexing = trio.CancelScope()
                    indexer = await _start_search(nursery, indexing, store, Path(data), runtime, settings,
                                                  rules=peers is None or peers.index == SYSTEM_SHARD)
                    app.everturn.search = indexer
                    hooking = trio.CancelScope()
                    app.everturn.webhooks = await nursery.start(_webhooks, store, runtime, settings, hooking)
                    bridging = trio.CancelScope()
                    await nursery.start(_bridges, app.everturn, store, runtime, bridging)
                    binds = await nursery.start(partial(serve, app, hypercorn, shutdown_trigger=stop.wait))
                    if tune_gc:
                        tune_collector()
                    nursery.start_soon(closing.run, stop)
                    handing = trio.CancelScope()
                    if peers is not None:
                        adopt = partial(edge.serve_adopted, session=partial(serve_connection, app.everturn),
                                        max_bytes=settings.max_frame_bytes, closing=closing)
                        await nursery.start(_handoffs, app.everturn.handoff, adopt, nursery, handing)
                    periodic = trio.CancelScope()
                    nursery.start_soon(_periodic, app.everturn, periodic)
                    task_status.started(Running(binds[0], runtime, tokens, first_token, stop, indexer))
                    await stop.wait()
                    periodic.cancel()
                    indexing.cancel()
                    hooking.cancel()
                    bridging.cancel()
                    handing.cancel()
                if app.everturn.shards is not None:
                    await app.everturn.shards.aclose()
                    app.everturn.handoff.close()
    finally:
        store.close()


def _remove_interrupted_backups(backup_dir: str | None) -> list[dict[str, Any]]:
    """Clear what killed backups left in ``backup_dir`` (no backup runs yet), each with a warning;
    what ``GET /api/v1/admin/backups`` reports as removed."""
    if backup_dir is None:
        return []
    at = time.time()
    removed = remove_interrupted_backups(backup_dir)
    for path in removed:
        log.warning("removed %s: a backup interrupted before it was complete (the process was killed)", path)
    return [{"name": path.name, "path": str(path), "removed_at": at} for path in removed]


async def _start_search(nursery: trio.Nursery, scope: trio.CancelScope, store: Store, data: Path, runtime: Runtime,
                        settings: ServerSettings, rules: bool = True) -> Indexer | None:
    """The search index's feed, open (catching up with the journal in the background) and told of
    every journaled event; None when search is off. ``rules``: it keeps and indexes the rulebooks
    (on a sharded server only the system shard does)."""
    if not settings.search:
        return None
    from actors.campaign.search import SearchProjection
    from snapshots.search import Indexer, search_root

    indexer = Indexer(store, SearchProjection(), search_root(data), interval=settings.search_commit_s,
                      limiter=runtime.workers.threads, rules=rules)
    runtime.journal_listeners.append(indexer.journaled)
    await nursery.start(_index, indexer, scope)
    return indexer


def _shard(app: Any, peers: Peers, secret: str, closing: edge.Closing) -> None:
    """Make ``app`` one shard's: requests and websockets for other shards' actors go to them."""
    from .shards.handoff import Handoff
    from .shards.internal import internal
    from .shards.forwarding import Shards

    app.everturn.shards = Shards(peers, secret)
    app.everturn.handoff = Handoff(peers)
    app.register_blueprint(internal)


async def _handoffs(handoff: Any, adopt: Any, sessions: trio.Nursery, scope: trio.CancelScope,
                    task_status: trio.TaskStatus[None]) -> None:
    with scope:
        await handoff.serve(adopt, sessions, task_status=task_status)


async def _webhooks(store: Store, runtime: Runtime, settings: ServerSettings, scope: trio.CancelScope,
                    task_status: trio.TaskStatus[Any]) -> None:
    """The webhooks' feed and deliveries (``server.webhooks``), told of every journaled event."""
    from .webhooks.service import Webhooks

    service = Webhooks(store, runtime, allow_private=settings.webhooks_allow_private,
                       timeout_s=settings.webhook_timeout_s, max_attempts=settings.webhook_attempts,
                       backoff_s=settings.webhook_backoff_s, link_base=settings.ui_url)
    runtime.journal_listeners.append(service.journaled)
    with scope:
        async with trio.open_nursery() as nursery:
            await nursery.start(service.run)
            task_status.started(service)


async def _index(indexer: Indexer, scope: trio.CancelScope, task_status: trio.TaskStatus[None]) -> None:
    with scope:
        await indexer.run(task_status=task_status)


async def _bridges(ctx: Everturn, store: Store, runtime: Runtime, scope: trio.CancelScope,
                   task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
    """What the bridged campaigns send their VTT worlds by themselves (``server.bridge.outgoing``)."""
    from .bridge.outgoing import Outgoing

    outgoing = Outgoing(ctx.bridges, runtime, store)
    with scope:
        await outgoing.run(task_status=task_status)


async def _periodic(ctx: Everturn, scope: trio.CancelScope) -> None:
    """The figures the console plots, and the websockets' heartbeats."""
    with scope:
        async with trio.open_nursery() as nursery:
            nursery.start_soon(ctx.sample_forever)
            nursery.start_soon(heartbeat_forever, ctx)
