"""The game's actor kinds, in one list the server registers.

Campaigns (issue 4), combat encounters (issue 6), strategy simulations (issue 7) and
training jobs (issue 8) add their behaviours here.
"""
from __future__ import annotations

from .behavior import Behavior


def game_kinds() -> list[Behavior]:
    from .campaign import CampaignKind
    from .combat import CombatKind
    from .strategy import StrategyKind

    return [CampaignKind(), CombatKind(), StrategyKind()]
