"""Who may do what, read from the principal the edge authenticated (``ctx.by``).

``by`` is None (or empty) for messages from inside the runtime: timers and other actors.
"""
from __future__ import annotations

from typing import Any


def is_gm(by: dict[str, Any] | None) -> bool:
    """The runtime itself, an operator, the campaign's GM, or a bot acting as GM."""
    return not by or by.get("role") in ("operator", "gm") or (by.get("role") == "bot" and by.get("acts_as") == "gm")


def is_operator(by: dict[str, Any] | None) -> bool:
    """The runtime itself or an operator."""
    return not by or by.get("role") == "operator"
