"""Versioned models and the gate that deploys them.

``models/NAME/vN/`` holds ``model.pt`` and ``meta.json`` (the data it learned from, its
training figures, its evaluation report, the gate's verdict); ``models/NAME/deployed``
names the version that plays.  ``deploy`` is a gate, not a hope: the candidate plays the
deployed version head to head on fixed seeded duels (both seats) and must win more than
it loses; the first version of a name must beat the balanced personality the same way.
Only versions that passed are playable: ``policy:NAME@VERSION``, or ``policy:NAME`` for
the deployed one.

Reading the registry (``versions``, ``meta``, ``deployed``, ``listing``, ``pin``) touches
only small files and never imports torch: the server checks a game's learned players and
lists models with it.  Registering, loading, gating and playing (``register``, ``model``,
``deploy``, ``player``) import torch (``training.policy``) when first called; the server
leaves those to its worker processes.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import orjson

from snapshots.files import write_atomically

from .evaluate import TURNS, Policy, rule_based, series

if TYPE_CHECKING:
    from .policy import Player, PolicyNet

NAME = re.compile(r"^[a-z0-9][a-z0-9_-]{0,39}$")
SPEC = re.compile(r"^policy:(?P<name>[a-z0-9][a-z0-9_-]{0,39})(?:@v?(?P<version>[0-9]{1,6}))?$")
GATE_GAMES, GATE_SEED = 20, 77_000


class RegistryError(ValueError):
    """No such model or version, a bad name, or a version that never passed the gate."""


# For engine_ext.headless.jobs(sources=...): learned players at headless tables, resolved by training.players
# (named, not imported: it loads torch, and only a game seating one needs it).
LEARNED_PLAYERS = {"policy": "training.players"}

@dataclass(frozen=True)
class Verdict:
    passed: bool
    against: str          # "v3" or "balanced"
    won: int
    lost: int
    drawn: int

    def as_dict(self) -> dict[str, Any]:
        return {"passed": self.passed, "against": self.against, "won": self.won, "lost": self.lost,
                "drawn": self.drawn, "games": GATE_GAMES, "seed": GATE_SEED}


class Registry:
    def __init__(self, root: str | Path) -> None:
        self.root = Path(root)

    def versions(self, name: str) -> list[int]:
        folder = self.root / check_name(name)
        return sorted(int(p.name[1:]) for p in folder.glob("v*") if p.name[1:].isdigit()) if folder.exists() else []

    def register(self, name: str, net: PolicyNet, meta: dict[str, Any]) -> int:
        from .policy import save_model

        version = max(self.versions(name), default=0) + 1
        folder = self.root / name / f"v{version}"
        save_model(net, folder / "model.pt")
        self.write_meta(name, version, {**meta, "name": name, "version": version})
        return version

    def meta(self, name: str, version: int) -> dict[str, Any]:
        path = self.root / check_name(name) / f"v{version}" / "meta.json"
        if not path.exists():
            raise RegistryError(f"no model {name} v{version}")
        return orjson.loads(path.read_bytes())

    def write_meta(self, name: str, version: int, meta: dict[str, Any]) -> None:
        write_atomically(self.root / name / f"v{version}" / "meta.json", orjson.dumps(meta, option=orjson.OPT_INDENT_2))

    def deployed(self, name: str) -> int | None:
        pointer = self.root / check_name(name) / "deployed"
        return int(pointer.read_text().strip()) if pointer.exists() else None

    def model(self, name: str, version: int) -> PolicyNet:
        from .policy import load_model

        self.meta(name, version)
        return load_model(self.root / name / f"v{version}" / "model.pt")

    def deploy(self, name: str, version: int) -> Verdict:
        """Deploy ``version`` if it beats the deployed one (or, first, the balanced AI); the verdict either way."""
        from .policy import Player

        candidate = Player(self.model(name, version), turns=TURNS)  # the gate's duels are TURNS long
        current = self.deployed(name)
        if current == version:
            raise RegistryError(f"{name} v{version} is already deployed")
        opponent: Policy = rule_based("balanced") if current is None else Player(self.model(name, current),
                                                                                             turns=TURNS)
        verdict = gate(candidate, opponent, "balanced" if current is None else f"v{current}")
        meta = self.meta(name, version)
        self.write_meta(name, version, {**meta, "gate": verdict.as_dict(), "playable": verdict.passed})
        if verdict.passed:
            write_atomically(self.root / name / "deployed", f"{version}\n".encode())
        return verdict

    def listing(self) -> list[dict[str, Any]]:
        out = []
        for folder in sorted(p for p in self.root.glob("*") if p.is_dir() and NAME.match(p.name)):
            deployed = self.deployed(folder.name)
            for version in self.versions(folder.name):
                if (folder / f"v{version}" / "meta.json").exists():  # else still being registered
                    out.append({**self.meta(folder.name, version), "deployed": version == deployed})
        return out

    def pin(self, spec: str) -> tuple[str, int]:
        """(name, version) of the playable model ``policy:NAME@VERSION`` (``policy:NAME``: the deployed
        version now); ``RegistryError`` for a bad spec, a missing model or one that never passed the gate."""
        found = SPEC.match(spec)
        if not found:
            raise RegistryError(f"{spec!r}: a learned player is policy:NAME or policy:NAME@VERSION")
        name = found["name"]
        if not self.versions(name):
            raise RegistryError(f"no model {name} in {self.root}")
        version = int(found["version"]) if found["version"] else self.deployed(name)
        if version is None:
            raise RegistryError(f"no version of {name} is deployed in {self.root}")
        if not self.meta(name, version).get("playable"):
            raise RegistryError(f"{name} v{version} never passed the deployment gate, so it does not play")
        return name, version

    def player(self, spec: str) -> Player:
        """The playable model ``spec`` (see ``pin``), reading state vectors on the gate's game length."""
        from .policy import Player

        return Player(self.model(*self.pin(spec)), turns=TURNS)


def gate(candidate: Policy, opponent: Policy, against: str) -> Verdict:
    won, lost = series(candidate, opponent, GATE_GAMES, GATE_SEED)
    return Verdict(won > lost, against, won, lost, GATE_GAMES - won - lost)


def check_name(name: str) -> str:
    if not NAME.match(name):
        raise RegistryError(f"{name!r}: a model name is 1-40 of a-z, 0-9, '-', '_'")
    return name
