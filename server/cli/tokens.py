"""``everturn token create``: an access token made in a stopped server's data directory."""
from __future__ import annotations

import argparse
import sys

from server.auth import TokenError, create_everywhere
from snapshots import Store, StoreLocked

from .data import shard_dirs


def token(args: argparse.Namespace) -> int:
    """A token in every store of the directory (each shard verifies every token)."""
    stores: list[Store] = []
    try:
        for path in shard_dirs(args.data):
            stores.append(Store.open(path))
    except StoreLocked as exc:
        for store in stores:
            store.close()
        raise StoreLocked(f"{exc}. A running server makes tokens with POST /api/v1/admin/tokens") from exc
    try:
        token, _ = create_everywhere(stores, args.role, args.campaign, args.character, args.acts_as)
    except (TokenError, ValueError) as exc:
        print(f"everturn: {exc}", file=sys.stderr)
        return 2
    finally:
        for store in stores:
            store.close()
    print(token)
    return 0
