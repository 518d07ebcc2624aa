"""A training job's work, as the ``train/{id}`` actor hands it to its worker process.

Plain functions of files (no trio, no actors): ``run_chunk`` trains from the job's last
checkpoint to the next one and saves it; ``finish`` evaluates the final model and
registers it.  Checkpoints are blob files in the job's folder under the server's data
directory, named by step (``ckpt-000200.pt``); the journal refers to them by name and
their SHA-256, and only the newest ``KEEP`` stay (a chunk deletes only checkpoints older than
the one it started from).
"""
from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

from .evaluate import evaluate
from .policy import Player
from .registry import Registry
from .trainer import Checkpoint, TrainSpec, model_of, train

KEEP = 2                 # checkpoints a job keeps
CHUNK_SECONDS = 10.0     # a chunk also ends after this long: progress, pause and cancel never wait longer


def checkpoint_name(step: int) -> str:
    return f"ckpt-{step:09d}.pt"


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def run_chunk(spec_data: dict[str, Any], folder: str, start: str | None, start_sha: str | None,
              max_seconds: float = CHUNK_SECONDS) -> dict[str, Any]:
    """Train from checkpoint ``start`` (a name in ``folder``; None: from scratch) up to the next
    multiple of ``checkpoint_every`` (or for ``max_seconds``); save and name the new checkpoint."""
    spec, root = TrainSpec.of(spec_data), Path(folder)
    begin = None
    if start is not None:
        path = root / start
        if start_sha is not None and digest(path) != start_sha:
            raise ValueError(f"checkpoint {start} does not match its journaled SHA-256")
        begin = Checkpoint.load(path)
    step = begin.step if begin is not None else 0
    until = min(spec.total, (step // spec.checkpoint_every + 1) * spec.checkpoint_every)
    deadline = _deadline(max_seconds)
    chunk = train(spec, until, begin, should_stop=deadline)
    name = checkpoint_name(chunk.checkpoint.step)
    chunk.checkpoint.save(root / name)
    for old in sorted(root.glob("ckpt-*.pt"))[:-KEEP]:
        if old.name < checkpoint_name(step):  # never this chunk's start or anything after it (a stale chunk
            old.unlink(missing_ok=True)       # still running may be about to read it)
    return {"step": chunk.checkpoint.step, "checkpoint": name, "sha256": digest(root / name),
            "figures": chunk.figures, "done": chunk.done}


def _deadline(seconds: float):
    import time

    ends = time.monotonic() + seconds
    return lambda: time.monotonic() >= ends


def finish(spec_data: dict[str, Any], folder: str, checkpoint: str, models: str, name: str, eval_games: int,
           job: str) -> dict[str, Any]:
    """Evaluate the trained model against every personality and register it (not deployed: the gate decides)."""
    spec = TrainSpec.of(spec_data)
    net = model_of(spec, Checkpoint.load(Path(folder) / checkpoint))
    report = evaluate(Player(net, turns=spec.turns), games=eval_games)
    version = Registry(models).register(name, net, {"data": spec.data, "spec": spec.as_dict(), "job": job,
                                                      "checkpoint": checkpoint, "evaluation": report})
    return {"version": version, "evaluation": report}
