"""``everturn sim`` records as tensors: state vectors, each head's legal plans and the plan followed.

``load(path, imitate)`` reads a runs.jsonl (one house-turn a line, ``engine_ext.headless``)
into a :class:`Dataset`; ``imitate="winners"`` keeps the house-turns of houses that won
their game (cloning what won), ``"all"`` every one.  Loaded sets are cached per file and
its modification time, so a job that trains in chunks reads its file once.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import orjson
import torch

from engine_ext.headless import ACTIONS, STATE_FIELDS
from engine_ext.strategy_macro import HEADS, plan_of

from .policy import masks_of

IMITATE = ("winners", "all")


class DatasetError(ValueError):
    """The records cannot be trained on as asked (missing file, bad line, nothing left)."""


@dataclass(frozen=True)
class Dataset:
    states: torch.Tensor                 # [n, len(STATE_FIELDS)]
    masks: dict[str, torch.Tensor]       # head -> [n, plans]
    labels: dict[str, torch.Tensor]      # head -> [n]
    games: int

    def __len__(self) -> int:
        return self.states.shape[0]


def load(path: str | Path, imitate: str = "winners") -> Dataset:
    path = Path(path)
    if imitate not in IMITATE:
        raise DatasetError(f"imitate is one of {', '.join(IMITATE)}, not {imitate!r}")
    try:
        stamp = os.stat(path).st_mtime_ns
    except OSError as exc:
        raise DatasetError(f"cannot read the records {path}: {exc.strerror}") from exc
    return _load(str(path), stamp, imitate)


@lru_cache(maxsize=4)
def _load(path: str, stamp: int, imitate: str) -> Dataset:
    states, action_masks, plans, games = [], [], [], set()
    with open(path, "rb") as lines:
        for number, line in enumerate(lines, 1):
            if not line.strip():
                continue
            try:
                record = orjson.loads(line)
                state, mask = record["state"], record["mask"]
                if len(state) != len(STATE_FIELDS) or len(mask) != len(ACTIONS):
                    raise ValueError("state or mask of the wrong size")
                plan = plan_of(record["orders"], int(state[STATE_FIELDS.index("tax")]))
            except (ValueError, KeyError, TypeError) as exc:
                raise DatasetError(f"{path}:{number}: not an everturn sim record ({exc})") from exc
            if imitate == "winners" and not record.get("outcome"):
                continue
            mask = list(mask)
            states.append(state)
            action_masks.append(mask)
            plans.append(plan)
            games.add((record.get("meta", {}).get("seed"), record.get("game")))
    if not states:
        raise DatasetError(f"{path}: no house-turns to learn from (imitate={imitate})")
    masks = masks_of(action_masks)
    labels = {head: torch.tensor([plan[head] for plan in plans]) for head in HEADS}
    for head in HEADS:  # a plan the house followed was open to it, whatever the probe said
        masks[head][torch.arange(len(plans)), labels[head]] = 1.0
    return Dataset(torch.tensor(states, dtype=torch.float32), masks, labels, len(games))
