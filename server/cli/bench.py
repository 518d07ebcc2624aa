"""``everturn bench NAME``: runs one module of ``server.bench``.

Only the benchmark asked for is imported (by name, when it runs): each pulls in the subsystem
it measures (the runtime and RocksDB, hypercorn, torch, llama.cpp), and a figure such as the
campaigns' resident memory must not carry the others.
"""
from __future__ import annotations

import argparse
import importlib
from collections.abc import Callable
from types import ModuleType

# bench NAME -> (module of server.bench, how to run it with the parsed arguments)
BENCHES: dict[str, tuple[str, Callable[[ModuleType, argparse.Namespace], int]]] = {
    "runtime": ("runtime", lambda bench, args: bench.run_runtime_bench(
        json_output=args.json, actors=args.actors, idle_actors=args.idle_actors)),
    "server": ("server", lambda bench, args: bench.run_server_bench(json_output=args.json)),
    "peers": ("peers", lambda bench, args: bench.run_peers_bench(
        json_output=args.json, with_colyseus=not args.no_colyseus, scale=bench.Scale(
            rounds=args.rounds, clients=args.clients, round_trips=args.round_trips, subscribers=args.subscribers,
            triggers=args.triggers, seconds=args.seconds, in_flight=args.in_flight, idle=args.idle,
            scaling_clients=args.scaling_clients))),
    "combat": ("engine", lambda bench, args: bench.run_combat_bench(json_output=args.json, seed=args.seed)),
    "strategy": ("engine", lambda bench, args: bench.run_strategy_bench(
        json_output=args.json, seed=args.seed, workers=args.workers)),
    "narrator": ("narrator", lambda bench, args: bench.run_narrator_bench(
        json_output=args.json, slots=args.slots, threads=args.threads, rounds=args.rounds)),
    "training": ("training", lambda bench, args: bench.run_training_bench(
        json_output=args.json, minutes=args.minutes, seed=args.seed, eval_games=args.eval_games)),
    "search": ("search", lambda bench, args: bench.run_search_bench(
        json_output=args.json, count=args.queries, seed=args.seed)),
    "bridge": ("bridge", lambda bench, args: bench.run_bridge_bench(
        json_output=args.json, backlog=args.backlog, burst=args.burst, rounds=args.rounds)),
    "campaigns": ("campaigns", lambda bench, args: bench.run_campaign_bench(
        json_output=args.json, campaigns=args.campaigns, days=args.days, seed=args.seed, shards=args.shards)),
}


def bench(args: argparse.Namespace) -> int:
    module, run = BENCHES[args.bench]
    return run(importlib.import_module(f"server.bench.{module}"), args)
