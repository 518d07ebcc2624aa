"""The ``everturn`` command: the composition root of the product.

``build_parser`` adds every command's arguments (``parser``); ``main`` parses, sets up logging,
refuses a data directory that a killed restore left unfinished, and runs the command's handler,
found in ``COMMANDS``. A handler's module is imported when its command runs, never to parse:
``everturn --help`` (and ``python -m ui``, which runs this command too) loads none of the
runtime, the server, RocksDB, torch, llama.cpp or NiceGUI.

- ``serve``: the server and the web UI beside it; ``compose``: what the server registers
  (the kinds, the narrator, the settings, the process pools)
- ``ui``: the web UI against a running server
- ``bench``: one module of ``server.bench``
- ``train``: ``sim``, ``train`` (and ``train loop``), ``models``
- ``tokens``: ``token create``
- ``data``: ``backup``, ``restore``, ``verify``, ``export``, ``reindex``, ``rules``

A new command: its arguments in ``parser`` (and a line in ``build_parser``), its handler
``(args) -> exit code`` in its group's module, a line in ``COMMANDS``.
"""
from __future__ import annotations

import argparse
import importlib
import logging
import sys
from collections.abc import Callable
from types import ModuleType

from server.logs import log_as_json
from snapshots import StoreError

from . import parser as arguments

# command -> (module of this package, handler in it)
COMMANDS: dict[str, tuple[str, str]] = {
    "serve": ("serve", "serve"),
    "ui": ("ui", "ui"),
    "bench": ("bench", "bench"),
    "sim": ("train", "sim"),
    "train": ("train", "train"),
    "models": ("train", "models"),
    "token": ("tokens", "token"),
    "backup": ("data", "backup"),
    "restore": ("data", "restore"),
    "verify": ("data", "verify"),
    "export": ("data", "export"),
    "reindex": ("data", "reindex"),
    "rules": ("data", "rules"),
}

OPEN_DATA_FOR_WRITING = frozenset({"serve", "backup", "token", "rules", "reindex", "export"})


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="everturn",
        description="Everturn: an actor-based game server where campaigns never stall.",
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for add in (arguments.add_serve, arguments.add_ui, arguments.add_bench, arguments.add_sim, arguments.add_train,
                arguments.add_models, arguments.add_rules, arguments.add_reindex, arguments.add_export,
                arguments.add_backup, arguments.add_token, arguments.add_verify, arguments.add_restore):
        add(commands)
    return parser


def handler(command: str) -> Callable[[argparse.Namespace], int]:
    """The handler of ``command``, its module imported now."""
    module, name = COMMANDS[command]
    return getattr(_group(module), name)


def _group(module: str) -> ModuleType:
    return importlib.import_module(f"{__name__}.{module}")


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.command == "serve":
        log_as_json()
    else:
        logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s %(message)s")
    if args.command in OPEN_DATA_FOR_WRITING and _group("data").interrupted_restore(args.data):
        return 2
    try:
        return handler(args.command)(args)
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
