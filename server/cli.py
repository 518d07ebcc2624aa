"""The ``everturn`` command."""
from __future__ import annotations

import argparse
import logging
import signal
import sys
import time
from functools import partial
from pathlib import Path

import trio

DEFAULT_DATA = Path("everturn-data")


def _add_data(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA,
                        help="data directory holding the embedded RocksDB (default: ./everturn-data)")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="everturn",
        description="Everturn: an actor-based game server where campaigns never stall.",
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    serve = commands.add_parser("serve", help="run the server (HTTP, websocket, actors) until SIGINT/SIGTERM")
    _add_data(serve)
    serve.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    serve.add_argument("--port", type=int, default=8800, help="port to listen on (default 8800)")
    serve.add_argument("--backup-dir", type=Path, default=None,
                       help="directory where POST /api/v1/admin/backup writes online backups")
    serve.add_argument("--clock", choices=["real", "virtual"], default="real",
                       help="real: wall time; virtual: time moves only when an operator advances it")
    serve.add_argument("--ui-port", type=int, default=8801,
                       help="port of the web UI, started beside the server in its own process (default 8801)")
    serve.add_argument("--no-ui", action="store_true", help="serve the API only, without the web UI")

    ui = commands.add_parser("ui", help="run the web UI (table view, operator console) against a running server")
    ui.add_argument("--server", default="http://127.0.0.1:8800",
                    help="the server's URL (default http://127.0.0.1:8800)")
    ui.add_argument("--host", default="127.0.0.1", help="address the UI listens on (default 127.0.0.1)")
    ui.add_argument("--port", type=int, default=8801, help="port the UI listens on (default 8801)")
    ui.add_argument("--exit-with-parent", action="store_true", help=argparse.SUPPRESS)  # started by serve

    bench = commands.add_parser("bench", help="benchmarks that print ratios measured side by side")
    bench_kinds = bench.add_subparsers(dest="bench", required=True, metavar="WHAT")
    runtime = bench_kinds.add_parser("runtime", help="actor mailboxes, durable commands, recovery, activation")
    runtime.add_argument("--json", action="store_true", help="print one JSON object instead of a table")
    runtime.add_argument("--actors", type=int, default=1000, help="actors in the throughput runs (default 1000)")
    runtime.add_argument("--idle-actors", type=int, default=10_000,
                         help="actors passivated and reactivated for activation_us (default 10000)")
    server = bench_kinds.add_parser("server", help="websocket round trips (100 clients) and fan-out (1,000 "
                                                   "subscribers) beside a bare hypercorn echo and broadcast")
    server.add_argument("--json", action="store_true", help="print one JSON object instead of a table")
    combat = bench_kinds.add_parser("combat", help="simulated 4-vs-4 fights per second, the Cython build beside "
                                                   "the pure-Python reference (cython_ratio, fights_per_s)")
    combat.add_argument("--json", action="store_true", help="print one JSON object instead of a table")
    combat.add_argument("--seed", type=int, default=1, help="seed of the fights (default 1)")
    strategy = bench_kinds.add_parser("strategy", help="strategy turns: compiled vs reference resolution, a 100-turn "
                                                       "AI game, battles/s, headless games/s")
    strategy.add_argument("--json", action="store_true", help="print one JSON object instead of a table")
    strategy.add_argument("--seed", type=int, default=1, help="seed of the games (default 1)")
    strategy.add_argument("--workers", type=int, default=2, help="processes for the headless games (default 2)")
    campaigns = bench_kinds.add_parser("campaigns", help="campaigns on durable timers, mostly passivated, played "
                                                         "on a virtual clock: simulated days/s, timer lag, memory")
    campaigns.add_argument("--json", action="store_true", help="print one JSON object instead of a table")
    campaigns.add_argument("--campaigns", type=int, default=10_000, help="campaigns (default 10000)")
    campaigns.add_argument("--days", type=float, default=7.0, help="simulated days to play (default 7)")
    campaigns.add_argument("--seed", type=int, default=1, help="seed of the scripted players and GMs (default 1)")

    sim = commands.add_parser("sim", help="headless strategy games played by the AI, written as training records "
                                          "(one JSON line per house-turn)")
    sim.add_argument("--games", type=int, default=10, help="games to play (default 10)")
    sim.add_argument("--turns", type=int, default=100, help="turn limit of each game (default 100)")
    sim.add_argument("--houses", type=int, default=4, help="houses per game, 2-12 (default 4)")
    sim.add_argument("--rings", type=int, default=4, help="map rings, 2-12 (default 4)")
    sim.add_argument("--seed", type=int, default=1, help="game i plays seed + i (default 1)")
    sim.add_argument("--ai", default="aggressive,economic,turtle,expansionist,balanced",
                     help="players, comma-separated, dealt round the houses: personalities, or learned models "
                          "policy:NAME@VERSION (policy:NAME: the deployed version) that passed the gate "
                          "(default: the five personalities)")
    sim.add_argument("--models", type=Path, default=Path("models"),
                     help="the model registry policy: players come from (default ./models)")
    sim.add_argument("--workers", type=int, default=1, help="processes playing games side by side (default 1)")
    sim.add_argument("--out", type=Path, default=Path("runs.jsonl"), help="where the records go (default runs.jsonl)")
    sim.add_argument("--backend", choices=["local", "ray"], default="local",
                     help="local processes, or Ray tasks (pip install 'everturn[ray]')")
    sim.add_argument("--json", action="store_true", help="print the summary as one JSON object")

    export = commands.add_parser("export", help="write a stopped server's session data as files")
    export_kinds = export.add_subparsers(dest="export", required=True, metavar="WHAT")
    campaign = export_kinds.add_parser("campaign", help="a campaign's event log and its chat-format training dataset "
                                                        "(ID.events.jsonl, ID.dataset.jsonl)")
    campaign.add_argument("campaign_id", metavar="ID", help="the campaign's id")
    campaign.add_argument("--format", dest="fmt", default="jsonl", help="output format (default and only: jsonl)")
    campaign.add_argument("--out", type=Path, default=Path("."), help="directory to write into (default: .)")
    _add_data(campaign)

    backup = commands.add_parser("backup", help="write an online checkpoint of the data directory to DIR")
    backup.add_argument("target", type=Path, metavar="DIR", help="new directory for the backup")
    _add_data(backup)

    token = commands.add_parser("token", help="manage access tokens of a stopped server's data directory")
    token_commands = token.add_subparsers(dest="token_command", required=True, metavar="ACTION")
    create = token_commands.add_parser("create", help="create a token and print it (shown only once)")
    create.add_argument("--role", required=True, choices=["operator", "gm", "player", "bot", "bridge"])
    create.add_argument("--campaign", help="the campaign a gm, player, bot or bridge token reaches")
    create.add_argument("--character", help="the character a player token plays")
    create.add_argument("--as", dest="acts_as", choices=["player", "gm"], help="what a bot token acts as")
    _add_data(create)

    restore = commands.add_parser("restore", help="restore the backup in DIR into an empty data directory")
    restore.add_argument("source", type=Path, metavar="DIR", help="a directory written by 'everturn backup'")
    _add_data(restore)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.command == "serve":
        from server.logs import log_as_json

        log_as_json()
    else:
        logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s %(message)s")
    from snapshots import StoreError

    try:
        if args.command == "serve":
            return trio.run(_serve, args)
        if args.command == "ui":
            return _ui(args)
        if args.command == "bench" and args.bench == "server":
            from server.bench import run_server_bench

            return run_server_bench(json_output=args.json)
        if args.command == "bench" and args.bench == "strategy":
            from engine_ext.bench import run_strategy_bench

            return run_strategy_bench(json_output=args.json, seed=args.seed, workers=args.workers)
        if args.command == "bench" and args.bench == "combat":
            from engine_ext.bench import run_combat_bench

            return run_combat_bench(json_output=args.json, seed=args.seed)
        if args.command == "bench" and args.bench == "campaigns":
            from actors.campaign.bench import run_campaign_bench

            return run_campaign_bench(json_output=args.json, campaigns=args.campaigns, days=args.days, seed=args.seed)
        if args.command == "bench":
            from actors.bench import run_runtime_bench

            return run_runtime_bench(json_output=args.json, actors=args.actors, idle_actors=args.idle_actors)
        if args.command == "export":
            return _export(args)
        if args.command == "sim":
            return _sim(args)
        if args.command == "backup":
            return _backup(args)
        if args.command == "restore":
            return _restore(args)
        if args.command == "token":
            return _token(args)
    except StoreError as exc:
        print(f"everturn: {exc}", file=sys.stderr)
        return 2
    except BaseExceptionGroup as group:  # raised inside a nursery (serve): report it the same way
        store_errors = group.subgroup(lambda exc: isinstance(exc, StoreError))
        if store_errors is None:
            raise
        while isinstance(store_errors, BaseExceptionGroup):
            store_errors = store_errors.exceptions[0]
        print(f"everturn: {store_errors}", file=sys.stderr)
        return 2
    return 1


def _sim(args: argparse.Namespace) -> int:
    import orjson

    from engine_ext.headless import jobs, run, summarize, write_records

    try:
        batch = jobs(args.games, args.seed, args.rings, args.houses, args.turns,
                     [name.strip() for name in args.ai.split(",") if name.strip()], models=str(args.models))
        if not 1 <= args.games <= 1_000_000 or not 1 <= args.turns <= 1000:
            raise ValueError("--games is 1 to 1,000,000 and --turns 1 to 1,000")
        from engine_ext.galaxy import generate

        generate(args.rings, args.houses, args.seed)  # refuse a bad size before any process starts
    except ValueError as exc:
        print(f"everturn sim: {exc}", file=sys.stderr)
        return 2
    results = []
    started = time.monotonic()
    args.out.parent.mkdir(parents=True, exist_ok=True)
    with open(args.out, "wb") as out:
        try:
            for result in run(batch, workers=args.workers, backend=args.backend):
                results.append(write_records(result, out))
                done = len(results)
                bar = "#" * (30 * done // len(batch))
                print(f"\r[{bar:<30}] {done}/{len(batch)} games  {time.monotonic() - started:.1f} s", end="",
                      file=sys.stderr, flush=True)
        except RuntimeError as exc:
            print(f"\neverturn sim: {exc}", file=sys.stderr)
            return 2
    print(file=sys.stderr)
    summary = {**summarize(results), "seconds": round(time.monotonic() - started, 2), "out": str(args.out)}
    if args.json:
        print(orjson.dumps(summary).decode())
        return 0
    print(f"{summary['games']} games in {summary['seconds']} s -> {args.out}")
    for name, wins in summary["wins"].items():
        low, high = wins["ci95"]
        print(f"  {name:<13} won {wins['won']:>4} of {wins['played']:>4}  {wins['share']:.1%} "
              f"(95%: {low:.1%}-{high:.1%})")
    turns, ms = summary["game_turns"], summary["turn_ms"]
    print(f"  game length: mean {turns['mean']} turns ({turns['min']}-{turns['max']})")
    print(f"  turn time: p50 {ms['p50']} ms, p90 {ms['p90']} ms, p99 {ms['p99']} ms")
    return 0


def _backup(args: argparse.Namespace) -> int:
    from snapshots import Store, StoreLocked, backup

    try:
        store = Store.open(args.data)
    except StoreLocked as exc:
        # A read-only RocksDB instance checkpoints without the WAL: such a backup would
        # silently miss the newest events, so a running server must take its own backup.
        raise StoreLocked(f"{exc}. A running server backs itself up (operator API); "
                          f"'everturn backup' works on a stopped one") from exc
    try:
        target = backup(store, args.target)
    finally:
        store.close()
    print(f"backup of {args.data} written to {target}")
    return 0


def _export(args: argparse.Namespace) -> int:
    from snapshots import Store, StoreLocked
    from training.sessions import ExportError, export_campaign

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
    print(f"{summary['turns']} turns, {summary['kept']} kept -> {summary['paths']['dataset']} (dropped: {dropped})")
    return 0


def _token(args: argparse.Namespace) -> int:
    from server.auth import TokenError, Tokens
    from snapshots import Store, StoreLocked

    try:
        store = Store.open(args.data)
    except StoreLocked as exc:
        raise StoreLocked(f"{exc}. A running server makes tokens with POST /api/v1/admin/tokens") from exc
    try:
        token, principal = Tokens(store).create(args.role, args.campaign, args.character, args.acts_as)
    except (TokenError, ValueError) as exc:
        print(f"everturn: {exc}", file=sys.stderr)
        return 2
    finally:
        store.close()
    print(token)
    return 0


def _restore(args: argparse.Namespace) -> int:
    from snapshots import restore

    target = restore(args.source, args.data)
    print(f"restored {args.source} into {target}")
    return 0


async def _serve(args: argparse.Namespace) -> int:
    from actors import SystemClock, VirtualClock
    from actors.kinds import game_kinds
    from server.app import ServerSettings
    from server.serve import run_server

    clock = VirtualClock() if args.clock == "virtual" else SystemClock()
    settings = ServerSettings(backup_dir=str(args.backup_dir) if args.backup_dir else None)
    with trio.open_signal_receiver(signal.SIGINT, signal.SIGTERM) as signals:
        async with trio.open_nursery() as nursery:
            running = await nursery.start(partial(run_server, args.data, game_kinds(), host=args.host,
                                                  port=args.port, clock=clock, settings=settings, tune_gc=True))
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


def _ui(args: argparse.Namespace) -> int:
    from ui.app import run_ui

    print(f"everturn: web UI on http://{args.host}:{args.port} for {args.server} (log in with a token)", flush=True)
    run_ui(args.server, host=args.host, port=args.port, exit_with_parent=args.exit_with_parent)
    return 0


if __name__ == "__main__":
    sys.exit(main())
