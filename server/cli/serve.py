"""``everturn serve``: the server, and the web UI beside it in its own process.

With one shard (``--shards 1``, or a data directory from before shards) the server runs in
this process. With more, this process is the supervisor (``server.shards.supervisor``) and
each shard a child running this same command, told who it is by ``EVERTURN_SHARD``.
"""
from __future__ import annotations

import argparse
import os
import signal
import sys
from functools import partial
from typing import Any

import trio

from server.shards.peers import Peers
from snapshots import StoreLocked
from snapshots.layout import Layout, LayoutError, resolve_layout

HELD_WAIT_S = 60.0  # a restarted sharded server waits this long for its predecessor's shards to let go


def serve(args: argparse.Namespace) -> int:
    peers = Peers.from_env()
    if peers is not None:
        return trio.run(_serve_shard, args, peers)
    try:
        layout = resolve_layout(args.data, args.shards)
    except LayoutError as exc:
        raise SystemExit(f"everturn: {exc}") from None
    if layout.count > 1:
        return trio.run(_supervise, args, layout)
    return trio.run(_serve, args)


def _parts(args: argparse.Namespace) -> tuple:  # type: ignore[type-arg]
    """What a server process registers; imported here, not by the supervisor (which stays small)."""
    from . import compose

    config = compose.runtime_config(args.training_workers, args.policy_workers)
    clock = compose.clock(args.clock)
    ui_url = args.ui_url or (None if args.no_ui else f"http://{args.host}:{args.ui_port}")
    settings = compose.settings(args.backup_dir, args.models, ui_url, args.webhooks_allow_private)
    narrator = None if args.no_narrator else compose.narrator(args.narrator_model, args.narrator_workers,
                                                                 args.narrator_threads)
    return config, clock, settings, narrator, partial(compose.kinds, models=args.models, narrator=narrator)


async def _serve(args: argparse.Namespace) -> int:
    from server.serve import run_server

    config, clock, settings, narrator, kinds_in = _parts(args)
    kinds = kinds_in(args.data)
    with trio.open_signal_receiver(signal.SIGINT, signal.SIGTERM) as signals:
        async with trio.open_nursery() as nursery:
            running = await nursery.start(partial(run_server, args.data, kinds, host=args.host, port=args.port,
                                                  clock=clock, settings=settings, config=config, tune_gc=True,
                                                  narrator=narrator))
            _announce(args, running.url, running.first_token)
            ui_scope = _ui(nursery, args, running.url)
            async for signum in signals:
                draining = len(running.runtime.cells)
                print(f"everturn: {signal.Signals(signum).name}: stopping; draining {draining} actors", flush=True)
                ui_scope.cancel()
                running.stop.set()
                break
    return 0


async def _serve_shard(args: argparse.Namespace, peers: Peers) -> int:
    """One shard of a supervised server: its own part of the data directory, the supervisor's sockets."""
    from server.shards.supervisor import SECRET_ENVIRONMENT

    layout = resolve_layout(args.data, None)
    data = layout.shard_dir(peers.index)
    from server.serve import run_server

    config, clock, settings, narrator, kinds_in = _parts(args)
    kinds = kinds_in(data)
    parent = os.getppid()
    with trio.open_signal_receiver(signal.SIGINT, signal.SIGTERM) as signals:
        async with trio.open_nursery() as nursery:
            running = await nursery.start(partial(run_server, data, kinds, clock=clock, settings=settings,
                                                  config=config, tune_gc=True, narrator=narrator, peers=peers,
                                                  secret=os.environ[SECRET_ENVIRONMENT]))
            watching = trio.CancelScope()
            nursery.start_soon(_stop_with_parent, parent, running.stop, watching)
            async with trio.open_nursery() as waiting:  # a signal, or the supervisor gone
                waiting.start_soon(_first_signal, signals, running.stop)
                await running.stop.wait()
                waiting.cancel_scope.cancel()
            running.stop.set()
            watching.cancel()
    return 0


async def _first_signal(signals: Any, stop: trio.Event) -> None:
    async for _ in signals:
        stop.set()
        return


async def _stop_with_parent(parent: int, stop: trio.Event, scope: trio.CancelScope) -> None:
    """A shard whose supervisor is gone (killed) stops, draining its actors, rather than serve on alone.

    (Not prctl's PR_SET_PDEATHSIG: it fires when the parent's *thread* ends, and trio starts
    processes from worker threads that end when idle.)"""
    with scope:
        while os.getppid() == parent:
            await trio.sleep(0.25)
        print("everturn: the supervisor is gone; this shard stops", file=sys.stderr, flush=True)
        stop.set()


async def _supervise(args: argparse.Namespace, layout: Layout) -> int:
    from server.shards.supervisor import Sockets, Supervisor, first_token

    # The shards of a server killed just now stop on their own (draining their actors) and let go
    # of the stores and the port a few seconds later: wait for them rather than fail.
    token = await _patiently(partial(first_token, layout), StoreLocked, "its stores")
    try:
        sockets = await _patiently(partial(Sockets.bind, args.host, args.port, layout.count), OSError,
                                   f"{args.host}:{args.port}")
    except OSError as exc:
        raise SystemExit(f"everturn: cannot listen on {args.host}:{args.port}: {exc}") from None
    supervisor = Supervisor(layout, shard_command(args), sockets)
    try:
        with trio.open_signal_receiver(signal.SIGINT, signal.SIGTERM) as signals:
            async with trio.open_nursery() as nursery:
                url = await nursery.start(supervisor.run)
                _announce(args, url, token, shards=layout.count)
                ui_scope = _ui(nursery, args, url)
                async for signum in signals:
                    print(f"everturn: {signal.Signals(signum).name}: stopping {layout.count} shards", flush=True)
                    ui_scope.cancel()
                    break
                await supervisor.stop()
                nursery.cancel_scope.cancel()
    finally:
        sockets.close()
    return 0


async def _patiently(attempt: Any, busy: type[Exception], what: str) -> Any:
    """``attempt()``, again while it raises ``busy`` (for up to :data:`HELD_WAIT_S`)."""
    deadline, told = trio.current_time() + HELD_WAIT_S, False
    while True:
        try:
            return attempt()
        except busy:
            if trio.current_time() > deadline:
                raise
            if not told:
                print(f"everturn: {what} still held (the shards of a server that just ended are stopping); "
                      "waiting", file=sys.stderr, flush=True)
                told = True
            await trio.sleep(0.5)


def shard_command(args: argparse.Namespace) -> list[str]:
    """The command line a shard runs: this one's settings, without the UI (the supervisor runs it)."""
    command = [sys.executable, "-m", "server.cli", "serve", "--data", str(args.data), "--no-ui",
               "--clock", args.clock, "--models", str(args.models), "--training-workers", str(args.training_workers),
               "--policy-workers", str(args.policy_workers), "--narrator-workers", str(args.narrator_workers),
               "--narrator-threads", str(args.narrator_threads)]
    if args.backup_dir is not None:
        command += ["--backup-dir", str(args.backup_dir)]
    if args.no_narrator:
        command.append("--no-narrator")
    if args.webhooks_allow_private:
        command.append("--webhooks-allow-private")
    ui_url = args.ui_url or (None if args.no_ui else f"http://{args.host}:{args.ui_port}")
    if ui_url:
        command += ["--ui-url", ui_url]
    for spec in args.narrator_model:
        command += ["--narrator-model", spec]
    return command


def _announce(args: argparse.Namespace, url: str, token: str | None, shards: int = 1) -> None:
    how = f"; {shards} shards" if shards > 1 else ""
    print(f"everturn: serving {url} on {args.data} (clock: {args.clock}{how}); Ctrl-C stops", flush=True)
    if token:
        print(f"everturn: first operator token (shown once): {token}", flush=True)


def _ui(nursery: trio.Nursery, args: argparse.Namespace, url: str) -> trio.CancelScope:
    scope = trio.CancelScope()
    if not args.no_ui:
        nursery.start_soon(_run_ui_beside, scope, url, args.host, args.ui_port)
    return scope


async def _run_ui_beside(scope: trio.CancelScope, server_url: str, host: str, port: int) -> None:
    """The web UI in its own process (NiceGUI runs on asyncio); ``scope.cancel()`` stops it."""
    command = [sys.executable, "-m", "ui", "--server", server_url, "--host", host, "--port", str(port),
               "--exit-with-parent"]
    print(f"everturn: web UI on http://{host}:{port} (log in with a token)", flush=True)
    process = await trio.lowlevel.open_process(command)
    with scope:
        code = await process.wait()
        print(f"everturn: the web UI stopped (exit code {code}); the server goes on", file=sys.stderr, flush=True)
    if process.returncode is None:
        process.terminate()
        with trio.move_on_after(5) as waited:
            await process.wait()
        if waited.cancelled_caught:
            process.kill()
