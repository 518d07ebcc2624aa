"""Strategy battles: the compiled ``_strategy.fight`` when built, else ``strategy_ref.fight``.

``EVERTURN_NO_EXTENSIONS=1`` forces the reference; ``COMPILED`` says which one serves.
"""
from __future__ import annotations

from .compiled import pick

_serving, COMPILED = pick("._strategy", ".strategy_ref")
fight = _serving.fight

__all__ = ["COMPILED", "fight"]
