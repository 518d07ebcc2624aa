"""Hosted strategy games (``strategy/{id}``): houses seated by players or bots, turns that
resolve when every house has given its orders or at the turn deadline (a durable timer),
with the rule-based AI playing for houses whose orders are missing.  The rules are
``engine_ext``'s (map, orders, turn resolution, AI)."""
from .behavior import StrategyKind

__all__ = ["StrategyKind"]
