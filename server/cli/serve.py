"""``everturn serve``: the server, and the web UI beside it in its own process."""
from __future__ import annotations

import argparse
import signal
import sys
from functools import partial

import trio

from server.serve import run_server

from . import compose


def serve(args: argparse.Namespace) -> int:
    return trio.run(_serve, args)


async def _serve(args: argparse.Namespace) -> int:
    config = compose.runtime_config(args.training_workers, args.policy_workers)
    clock = compose.clock(args.clock)
    settings = compose.settings(args.backup_dir, args.models)
    narrator = None if args.no_narrator else compose.narrator(args.narrator_model, args.narrator_workers,
                                                                 args.narrator_threads)
    kinds = compose.kinds(args.data, args.models, narrator)
    with trio.open_signal_receiver(signal.SIGINT, signal.SIGTERM) as signals:
        async with trio.open_nursery() as nursery:
            running = await nursery.start(partial(run_server, args.data, kinds, host=args.host, port=args.port,
                                                  clock=clock, settings=settings, config=config, tune_gc=True,
                                                  narrator=narrator))
            print(f"everturn: serving {running.url} on {args.data} (clock: {args.clock}); Ctrl-C stops", flush=True)
            if running.first_token:
                print(f"everturn: first operator token (shown once): {running.first_token}", flush=True)
            ui_scope = trio.CancelScope()
            if not args.no_ui:
                nursery.start_soon(_run_ui_beside, ui_scope, running.url, args.host, args.ui_port)
            async for signum in signals:
                draining = len(running.runtime.cells)
                print(f"everturn: {signal.Signals(signum).name}: stopping; draining {draining} actors", flush=True)
                ui_scope.cancel()
                running.stop.set()
                break
    return 0


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
