"""Dice for the rules engines: the compiled ``_dice`` when built, else ``dice_ref``.

``EVERTURN_NO_EXTENSIONS=1`` forces the reference; ``COMPILED`` says which one serves.
"""
from __future__ import annotations

from .compiled import pick

_serving, COMPILED = pick("._dice", ".dice_ref")
roll, splitmix64 = _serving.roll, _serving.splitmix64

__all__ = ["COMPILED", "roll", "splitmix64"]
