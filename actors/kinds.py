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
    from .strategy.policies import Policies
    from .train.jobs import Jobs


def game_kinds(data: Path | str | None = None, models: Path | str = "models", narrator: "Narrator | None" = None,
               policies: "Policies | None" = None, jobs: "Jobs | None" = None) -> list[Behavior]:
    """The kinds; training jobs keep their checkpoints under ``data``/blobs (the server's data
    directory; default ./blobs) and register models in ``models``; campaigns narrate with
    ``narrator`` (without one, the server posts its templates); strategy games seat the learned
    players of ``policies`` and training jobs run with ``jobs`` (the composition root gives
    ``training.hosted.RegistryPolicies`` and ``training.worker.JOBS``; without them, none)."""
    from .campaign import CampaignKind
    from .combat import CombatKind
    from .strategy import StrategyKind
    from .train import TrainKind

    blobs = Path(data) / "blobs" if data is not None else Path("blobs")
    return [CampaignKind(narrator), CombatKind(), StrategyKind(models, policies), TrainKind(blobs, models, jobs)]

