"""Dice for the rules engines: the compiled ``_dice`` when built, else ``dice_ref``.

``EVERTURN_NO_EXTENSIONS=1`` forces the reference; ``COMPILED`` says which one serves.
"""
from __future__ import annotations

import os

if os.environ.get("EVERTURN_NO_EXTENSIONS"):
    from .dice_ref import roll, splitmix64

    COMPILED = False
else:
    try:
        from ._dice import roll, splitmix64

        COMPILED = True
    except ImportError:
        from .dice_ref import roll, splitmix64

        COMPILED = False

__all__ = ["COMPILED", "roll", "splitmix64"]
