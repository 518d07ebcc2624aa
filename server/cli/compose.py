"""The product put together: what ``everturn serve`` hands the server.

Each piece is one small function of the command's settings, so a change to what the server
registers (a kind, a learned-player registry, a narrator) is made here and nowhere else.
Raises ``SystemExit`` with the message ``everturn`` prints for a setting it refuses.
"""
from __future__ import annotations

from pathlib import Path

from actors import Clock, RuntimeConfig, SystemClock, VirtualClock
from actors.behavior import Behavior
from actors.kinds import game_kinds
from actors.narration.model import ModelError
from actors.narration.service import Narrator, configured
from server.app import ServerSettings
from training.hosted import RegistryPolicies
from training.worker import JOBS


def kinds(data: Path, models: Path, narrator: Narrator | None) -> list[Behavior]:
    """The kinds the server registers: training checkpoints under ``data``, models in ``models``."""
    return game_kinds(data, models, narrator, RegistryPolicies(Path(models)), JOBS)


def runtime_config(training_workers: int, policy_workers: int) -> RuntimeConfig:
    """The runtime's process pools: torch and the learned players run there, never in the server."""
    if training_workers < 1 or policy_workers < 1:
        raise SystemExit("everturn: --training-workers and --policy-workers must be at least 1")
    return RuntimeConfig(process_pools=(("training", training_workers), ("policy", policy_workers)))


def clock(name: str) -> Clock:
    """``real``: wall time; ``virtual``: time moves only when an operator advances it."""
    return VirtualClock() if name == "virtual" else SystemClock()


def settings(backup_dir: Path | None, models: Path, ui_url: str | None = None,
             webhooks_allow_private: bool = False) -> ServerSettings:
    return ServerSettings(backup_dir=str(backup_dir) if backup_dir else None, models=models,
                          ui_url=ui_url.rstrip("/") if ui_url else None, webhooks_allow_private=webhooks_allow_private)


def narrator(specs: list[str], workers: int, threads: int) -> Narrator:
    """The local narrator of ``--narrator-model`` specs (none: the default model)."""
    if workers < 1 or threads < 1:
        raise SystemExit("everturn: --narrator-workers and --narrator-threads must be at least 1")
    try:
        return configured(specs, slots=workers, threads=threads)
    except ModelError as exc:
        raise SystemExit(f"everturn: {exc}") from None
