"""Combat encounters (``combat/{campaign}.{n}``): children of their campaign.

``state`` holds the initiative order and the current round and turn, ``messages`` the
commands and events, ``behavior`` the actor kind: end turn, compare-and-swap skips, and
the durable turn timer that skips an idle combatant.  The rules engine (issue 6) builds on
these turns.
"""
from .behavior import CombatKind

__all__ = ["CombatKind"]
