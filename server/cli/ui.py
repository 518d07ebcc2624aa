"""``everturn ui`` (and ``python -m ui``): the web UI against a running server.

NiceGUI is imported here, when the command runs: ``everturn serve`` starts the UI as
``python -m ui`` in its own process and never loads it itself.
"""
from __future__ import annotations

import argparse

from ui.app import run_ui


def ui(args: argparse.Namespace) -> int:
    print(f"everturn: web UI on http://{args.host}:{args.port} for {args.server} (log in with a token)", flush=True)
    run_ui(args.server, host=args.host, port=args.port, exit_with_parent=args.exit_with_parent)
    return 0
