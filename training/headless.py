"""A training job run headless (``everturn train``, the loop): resumable from its folder after a kill.

The job trains in checkpointed chunks, then is evaluated, registered and (if asked)
deployed.  (The server's ``train/{id}`` actor runs its jobs through ``training.jobs``
instead, its checkpoints named in its journal.)  A job lives in a folder of its own
(``models/.jobs/NAME/`` for ``everturn train``, ``WORK/jobs/cycle-N/`` in the loop):

- ``job.json``: the spec, the data file's size and modification time, the phase
  (``train`` -> ``trained`` -> ``evaluated`` -> ``registered`` -> ``done``), the evaluation report, the
  version registered and the gate's verdict; replaced atomically at each phase.
- ``ckpt.pt``: the trainer's last checkpoint with the job's running figures, written
  every ``spec.checkpoint_every`` steps (and when the job stops or finishes).

``Job.open`` refuses a folder holding a job with another spec, or whose data file changed
since (either would make the resumed job a different one).  ``train`` goes on from the
checkpoint: the trainer's chunks end with the very weights of an uninterrupted run, so a
job killed and run again ends as if never killed.  A job killed between registering and
noting it finds its version in the registry by its ``job_id`` instead of registering twice.
"""
from __future__ import annotations

import os
import secrets
import time
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Callable

import orjson
import torch

from snapshots.files import replacing, write_atomically

from .dataset import load
from .evaluate import TURNS, evaluate
from .policy import Player, PolicyNet
from .registry import Registry, RegistryError
from .trainer import Checkpoint, TrainSpec, fresh, model_of, train

PHASES = ("train", "trained", "evaluated", "registered", "done")
PROGRESS_STEPS = 50    # cloning steps between progress reports (a self-play update reports alone: ~1 s each)


class JobError(ValueError):
    """The job cannot run as asked: another job's folder, changed data, bad settings."""


@dataclass
class Figures:
    """A job's running figures, kept with its checkpoint so that a resumed job counts every step once."""
    clone_steps: int = 0
    clone_samples: int = 0
    clone_s: float = 0.0
    loss: float | None = None            # the last chunk's mean cloning loss
    accuracy: dict[str, float] | None = None
    updates: int = 0
    decisions: int = 0
    selfplay_s: float = 0.0
    games: int = 0
    won: int = 0

    def add(self, chunk: dict[str, Any], took: float) -> None:
        if chunk["steps"] == 0:
            return
        if chunk["selfplay"]:
            self.updates += chunk["steps"]
            self.decisions += chunk["samples"]
            self.selfplay_s += took
            self.games += chunk["selfplay"]["games"]
            self.won += chunk["selfplay"]["won"]
        else:
            self.clone_steps += chunk["steps"]
            self.clone_samples += chunk["samples"]
            self.clone_s += took
            self.loss, self.accuracy = chunk["loss"], chunk["accuracy"]

    def summary(self) -> dict[str, Any]:
        return {**asdict(self), "clone_s": round(self.clone_s, 2), "selfplay_s": round(self.selfplay_s, 2),
                "samples_per_s": round(self.clone_samples / self.clone_s, 1) if self.clone_s else None,
                "selfplay_won_share": round(self.won / self.games, 4) if self.games else None}


@dataclass
class Job:
    folder: Path
    spec: TrainSpec
    state: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def open(cls, folder: Path, spec: TrainSpec) -> "Job":
        """The job in ``folder``: a new one, or the one already there if it has the same spec and data."""
        folder = Path(folder)
        path = folder / "job.json"
        if path.exists():
            state = orjson.loads(path.read_bytes())
            if state["spec"] != spec.as_dict():
                differ = sorted(k for k in spec.as_dict() if state["spec"].get(k) != spec.as_dict()[k])
                raise JobError(f"{folder} holds a job with other settings ({', '.join(differ)}); "
                               f"run it with its own settings or remove the folder")
            if state["phase"] == "train" and state["data_stamp"] != data_stamp(spec.data):
                raise JobError(f"{spec.data} changed since the job in {folder} began; remove the folder to start over")
            return cls(folder, spec, state)
        stamp = data_stamp(spec.data)
        load(spec.data, spec.imitate)  # records that cannot be trained on leave no job behind (loaded once, cached)
        job = cls(folder, spec, {"spec": spec.as_dict(), "data_stamp": stamp, "phase": "train",
                                 "job_id": secrets.token_hex(8), "began": now()})
        job.save()
        return job

    @property
    def phase(self) -> str:
        return self.state["phase"]

    def save(self, **changes: Any) -> None:
        self.state.update(changes)
        write_atomically(self.folder / "job.json", orjson.dumps(self.state, option=orjson.OPT_INDENT_2))

    # -- training ------------------------------------------------------------------------------

    def resumed(self) -> tuple[Checkpoint | None, Figures]:
        """The last checkpoint written (None before the first) and the figures up to it."""
        path = self.folder / "ckpt.pt"
        if not path.exists():
            return None, Figures()
        saved = torch.load(path, weights_only=True)
        return Checkpoint(**saved["checkpoint"]), Figures(**saved["figures"])

    def keep(self, checkpoint: Checkpoint, figures: Figures) -> None:
        path = self.folder / "ckpt.pt"
        with replacing(path) as partial:
            torch.save({"checkpoint": asdict(checkpoint), "figures": asdict(figures)}, partial)

    def train(self, progress: Callable[[Checkpoint, dict[str, Any], Figures], None] | None = None,
              should_stop: Callable[[], bool] | None = None, warm: PolicyNet | None = None) -> bool:
        """Train from the last checkpoint until the budget is spent (True) or ``should_stop`` (False,
        after writing a checkpoint).  ``warm``: the weights a new job starts from (else fresh ones)."""
        if self.phase != "train":
            return True
        at, figures = self.resumed()
        if at is None and warm is not None:
            at = warm_start(self.spec, warm)
        if at is None or at.step < self.spec.steps:
            load(self.spec.data, self.spec.imitate)  # refuse bad records before any step (loaded once, cached)
        every = self.spec.checkpoint_every
        while True:
            step = at.step if at is not None else 0
            next_checkpoint = (step // every + 1) * every
            report = PROGRESS_STEPS if step < self.spec.steps else 1
            until = min(next_checkpoint, step + report, self.spec.total)
            if step < self.spec.steps:
                until = min(until, self.spec.steps)  # report the cloning phase's end on its own
            began = time.perf_counter()
            chunk = train(self.spec, until, at, should_stop=should_stop)
            figures.add(chunk.figures, time.perf_counter() - began)
            at = chunk.checkpoint
            stopping = not chunk.done and at.step < until
            if chunk.done or stopping or at.step % every == 0:
                self.keep(at, figures)
            if progress is not None:
                progress(at, chunk.figures, figures)
            if chunk.done:
                self.save(phase="trained", trained_steps=at.step, trained_s=round(at.trained_s, 2))
                return True
            if stopping:
                return False

    def network(self) -> PolicyNet:
        at, _ = self.resumed()
        if at is None:
            raise JobError(f"{self.folder} has no checkpoint")
        return model_of(self.spec, at)

    # -- after training ------------------------------------------------------------------------

    def evaluate(self, games: int) -> dict[str, Any]:
        """The trained policy's duels against every personality (once: the report is kept)."""
        if "evaluation" not in self.state:
            report = evaluate(Player(self.network(), turns=TURNS), games=games)
            _, figures = self.resumed()
            self.save(phase="evaluated", evaluation=report, figures=figures.summary())
        return self.state["evaluation"]

    def register(self, registry: Registry, name: str, meta: dict[str, Any]) -> int:
        """Register the trained model under ``name`` with its meta (once, even across a kill)."""
        if "version" in self.state:
            return self.state["version"]
        version = next((v for v in registry.versions(name) if meta_of(registry, name, v).get("job_id")
                        == self.state["job_id"]), None)
        if version is None:
            version = registry.register(name, self.network(), {
                **meta, "data": self.spec.data, "spec": self.spec.as_dict(), "figures": self.state["figures"],
                "evaluation": self.state["evaluation"], "created": now(), "job_id": self.state["job_id"]})
        self.save(phase="registered", version=version, name=name)
        return version

    def deploy(self, registry: Registry) -> dict[str, Any]:
        """The gate's verdict on the registered version (run once, even across a kill)."""
        if "gate" not in self.state:
            name, version = self.state["name"], self.state["version"]
            try:
                verdict = registry.deploy(name, version).as_dict()
            except RegistryError:
                if registry.deployed(name) != version:
                    raise
                verdict = registry.meta(name, version)["gate"]  # deployed just before a kill
            self.save(gate=verdict)
        return self.state["gate"]

    def finish(self) -> None:
        self.save(phase="done", finished=now())


def warm_start(spec: TrainSpec, net: PolicyNet) -> Checkpoint:
    """A step-0 checkpoint holding ``net``'s weights, with the fresh optimizer and RNG a new job has."""
    fresh_net, optimizer = fresh(spec)
    fresh_net.load_state_dict(net.state_dict())
    return Checkpoint(0, fresh_net.state_dict(), optimizer.state_dict(), torch.get_rng_state(), 0, 0)


def meta_of(registry: Registry, name: str, version: int) -> dict[str, Any]:
    try:
        return registry.meta(name, version)
    except RegistryError:  # a version whose meta.json a kill never let be written
        return {}


def data_stamp(path: str) -> list[int]:
    try:
        stat = os.stat(path)
    except OSError as exc:
        raise JobError(f"no data file {path} ({exc.strerror})") from exc
    return [stat.st_size, stat.st_mtime_ns]


def now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")
