"""Training a strategy policy in resumable chunks: the same steps, checkpoint or not.

Two phases share one step counter: ``steps`` of behaviour cloning on ``everturn sim``
records, then ``selfplay`` updates of policy gradient (REINFORCE with the batch's mean as
baseline and an entropy bonus): each update plays ``games_per_update`` duels against the
rule-based personalities in turn (seats alternating), sampling every head's plan, and
pushes up the plans of won games and down those of lost ones.

``train(spec, until, start)`` runs steps from ``start`` (a :class:`Checkpoint`, or None
for step 0) up to step ``until`` and returns the checkpoint there with the chunk's
figures.  Everything a step depends on is in the checkpoint or a pure function
of the step: the weights, the optimizer's moments, torch's RNG state and the data
position (epoch and index into that epoch's permutation, drawn from ``seed`` and the
epoch); the learning rate follows a cosine from ``lr`` over ``steps``.  So a job cut
into chunks, or killed and resumed from its last checkpoint, ends with the very weights
of one uninterrupted run (``tests/training/test_trainer.py``).  Torch computes on one thread
(``THREADS``): sums then add up in one order whatever the calling thread or machine (a
network this small gains nothing from more, and a server's loop keeps a core of its own).
"""
from __future__ import annotations

import math
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Callable

import torch
from torch import nn

from engine_ext.strategy_macro import HEADS
from snapshots.files import replacing

from .dataset import IMITATE, Dataset, load
from .policy import ModelSpec, PolicyNet


THREADS = 1


@dataclass(frozen=True)
class TrainSpec:
    data: str                        # an everturn sim runs.jsonl
    steps: int = 2000                # the budget, in optimizer steps
    minutes: float | None = None     # or in minutes of training (whichever ends first)
    batch: int = 256
    lr: float = 3e-3
    seed: int = 0
    checkpoint_every: int = 200
    imitate: str = "winners"
    selfplay: int = 0                # policy-gradient updates after the cloning steps
    games_per_update: int = 8
    selfplay_lr: float = 1e-3
    turns: int = 60                  # length of the self-play duels
    model: ModelSpec = field(default_factory=ModelSpec)

    def __post_init__(self) -> None:
        if self.steps < 1 or self.batch < 1 or self.checkpoint_every < 1 or not self.lr > 0:
            raise ValueError("steps, batch and checkpoint_every are at least 1, lr above 0")
        if self.selfplay < 0 or self.games_per_update < 1 or not self.selfplay_lr > 0 or self.turns < 1:
            raise ValueError("selfplay is 0 or more; games_per_update and turns at least 1; selfplay_lr above 0")
        if self.imitate not in IMITATE:
            raise ValueError(f"imitate is one of {', '.join(IMITATE)}")

    @property
    def total(self) -> int:
        """Every step of the job: the cloning steps, then the self-play updates."""
        return self.steps + self.selfplay

    @classmethod
    def of(cls, data: dict[str, Any]) -> "TrainSpec":
        return cls(**{**data, "model": ModelSpec(**data.get("model", {}))})

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class Checkpoint:
    step: int
    weights: dict[str, torch.Tensor]
    optimizer: dict[str, Any]
    rng: torch.Tensor
    epoch: int
    index: int
    trained_s: float = 0.0           # seconds of training so far (the minutes budget)

    def save(self, path: Path) -> None:
        with replacing(path) as partial:
            torch.save(asdict(self), partial)

    @classmethod
    def load(cls, path: Path) -> "Checkpoint":
        return cls(**torch.load(path, weights_only=True))


@dataclass
class Chunk:
    checkpoint: Checkpoint
    figures: dict[str, Any]          # loss, per-head accuracy, lr, samples/s over the chunk
    done: bool                       # the budget is spent


def lr_at(spec: TrainSpec, step: int) -> float:
    return spec.lr * (0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * min(step, spec.steps) / spec.steps)))


def permutation(spec: TrainSpec, epoch: int, n: int) -> torch.Tensor:
    return torch.randperm(n, generator=torch.Generator().manual_seed(spec.seed * 1_000_003 + epoch))


def fresh(spec: TrainSpec) -> tuple[PolicyNet, torch.optim.Optimizer]:
    torch.manual_seed(spec.seed)
    net = PolicyNet(spec.model)
    return net, torch.optim.Adam(net.parameters(), lr=spec.lr)


def restore(spec: TrainSpec, start: Checkpoint | None) -> tuple[PolicyNet, torch.optim.Optimizer, Checkpoint]:
    net, optimizer = fresh(spec)
    if start is None:
        start = Checkpoint(0, net.state_dict(), optimizer.state_dict(), torch.get_rng_state(), 0, 0)
    else:
        net.load_state_dict(start.weights)
        optimizer.load_state_dict(start.optimizer)
    return net, optimizer, start


def train(spec: TrainSpec, until: int, start: Checkpoint | None = None,
          should_stop: Callable[[], bool] | None = None, data: Dataset | None = None) -> Chunk:
    """Steps from ``start`` up to ``until`` (at most ``spec.total``), or fewer if ``should_stop``
    or the minutes run out."""
    torch.set_num_threads(THREADS)  # for the calling thread: one order of sums, the same weights
    data = data if data is not None or (start is not None and start.step >= spec.steps) \
        else load(spec.data, spec.imitate)
    net, optimizer, at = restore(spec, start)
    torch.set_rng_state(at.rng)
    step, epoch, index, trained_s = at.step, at.epoch, at.index, at.trained_s
    order = permutation(spec, epoch, len(data)) if data is not None else None
    tally = Tally()
    began = time.perf_counter()
    budget_s = spec.minutes * 60 if spec.minutes is not None else None
    until = min(until, spec.total)
    while step < until and not (should_stop and should_stop()) and not (
            budget_s is not None and trained_s + time.perf_counter() - began >= budget_s):
        if step < spec.steps:
            assert data is not None and order is not None
            if index >= len(data):
                epoch, index = epoch + 1, 0
                order = permutation(spec, epoch, len(data))
            rows = order[index:index + spec.batch]
            index += len(rows)
            clone_step(spec, net, optimizer, data, rows, step, tally)
        else:
            if step == spec.steps:  # a fresh optimizer for the new objective
                optimizer = torch.optim.Adam(net.parameters(), lr=spec.selfplay_lr)
            selfplay_step(spec, net, optimizer, step, tally)
        step += 1
    took = time.perf_counter() - began
    trained_s += took
    checkpoint = Checkpoint(step, net.state_dict(), optimizer.state_dict(), torch.get_rng_state(), epoch, index,
                            trained_s)
    figures = tally.figures(step, took, lr_at(spec, step) if step < spec.steps else spec.selfplay_lr)
    done = step >= spec.total or (budget_s is not None and trained_s >= budget_s)
    return Chunk(checkpoint, figures, done)


class Tally:
    """A chunk's figures as its steps go."""

    def __init__(self) -> None:
        self.steps, self.loss, self.samples = 0, 0.0, 0
        self.correct = dict.fromkeys(HEADS, 0)
        self.games = self.won = 0

    def figures(self, step: int, took: float, lr: float) -> dict[str, Any]:
        seen = self.samples
        return {"step": step, "steps": self.steps, "loss": round(self.loss / self.steps, 5) if self.steps else None,
                "lr": lr, "samples": seen, "samples_per_s": round(seen / took, 1) if took > 0 else 0.0,
                "accuracy": {h: round(self.correct[h] / seen, 4) for h in HEADS} if seen and not self.games else None,
                "selfplay": {"games": self.games, "won": self.won} if self.games else None}


def clone_step(spec: TrainSpec, net: PolicyNet, optimizer: torch.optim.Optimizer, data: Dataset,
               rows: torch.Tensor, step: int, tally: Tally) -> None:
    for group in optimizer.param_groups:
        group["lr"] = lr_at(spec, step)
    logits = net(data.states[rows], {head: m[rows] for head, m in data.masks.items()})
    loss = sum(nn.functional.cross_entropy(logits[head], data.labels[head][rows]) for head in HEADS)
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()
    tally.steps += 1
    tally.loss += float(loss.detach())
    tally.samples += len(rows)
    for head in HEADS:
        tally.correct[head] += int((logits[head].argmax(1) == data.labels[head][rows]).sum())


def selfplay_step(spec: TrainSpec, net: PolicyNet, optimizer: torch.optim.Optimizer, step: int,
                  tally: Tally) -> None:
    from .selfplay import play_batch

    log_probs, entropies, rewards, decisions = play_batch(net, spec, step)
    advantage = rewards - rewards.mean()
    loss = -(torch.stack([lp.sum() * a for lp, a in zip(log_probs, advantage, strict=True)]).sum()
             / max(1, decisions)) - 0.01 * torch.cat(entropies).mean()
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()
    tally.steps += 1
    tally.loss += float(loss.detach())
    tally.samples += decisions
    tally.games += len(rewards)
    tally.won += int((rewards > 0).sum())


def model_of(spec: TrainSpec, checkpoint: Checkpoint) -> PolicyNet:
    net = PolicyNet(spec.model)
    net.load_state_dict(checkpoint.weights)
    return net.eval()
