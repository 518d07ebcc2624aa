"""``python -m server.cli``: the same as ``everturn``."""
import sys

from server.cli import main

sys.exit(main())
