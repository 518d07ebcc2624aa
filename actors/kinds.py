"""The game's actor kinds, in one list the server registers.

Campaigns (issue 4), combat encounters (issue 6), strategy simulations (issue 7) and
training jobs (issue 8) and the narrator (issue 9) add their behaviours here.
"""
from __future__ import annotations

from pathlib import Path

from typing import TYPE_CHECKING

from .behavior import Behavior

if TYPE_CHECKING:
    from .narration.service import Narrator


def game_kinds(data: Path | str | None = None, models: Path | str = "models",
               narrator: "Narrator | None" = None) -> list[Behavior]:
    """The kinds; training jobs keep their checkpoints under ``data``/blobs (the server's data
    directory; default ./blobs) and register models in ``models``; campaigns narrate with
    ``narrator`` (without one, the server posts its templates)."""
    from .campaign import CampaignKind
    from .combat import CombatKind
    from .strategy import StrategyKind
    from .train import TrainKind

    blobs = Path(data) / "blobs" if data is not None else Path("blobs")
    return [CampaignKind(narrator), CombatKind(), StrategyKind(models), TrainKind(blobs, models)]
