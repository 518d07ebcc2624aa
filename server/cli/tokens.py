"""``everturn token create``: an access token made in a stopped server's data directory."""
from __future__ import annotations

import argparse
import sys

from server.auth import TokenError, Tokens
from snapshots import Store, StoreLocked


def token(args: argparse.Namespace) -> int:

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
