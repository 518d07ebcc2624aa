"""``python -m ui --server URL``: the same as ``everturn ui``."""
from __future__ import annotations

import sys

from server.cli import main

if __name__ == "__main__":
    sys.exit(main(["ui", *sys.argv[1:]]))
