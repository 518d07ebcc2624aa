"""Strategy battles: the compiled ``_strategy.fight`` when built, else ``strategy_ref.fight``.

``EVERTURN_NO_EXTENSIONS=1`` forces the reference; ``COMPILED`` says which one serves.
"""
from __future__ import annotations

import os

if os.environ.get("EVERTURN_NO_EXTENSIONS"):
    from .strategy_ref import fight

    COMPILED = False
else:
    try:
        from ._strategy import fight

        COMPILED = True
    except ImportError:
        from .strategy_ref import fight

        COMPILED = False

__all__ = ["COMPILED", "fight"]
