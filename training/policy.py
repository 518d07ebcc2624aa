"""The policy network: a house's state vector in, one choice per head out (``strategy_macro.HEADS``).

Small on purpose (two hidden layers of 64), so it trains on two CPU cores.  Inputs are
``headless.STATE_FIELDS``, squashed with a signed log so treasuries and turn shares sit
on one scale; each head's illegal plans are masked out before the softmax.  ``Player``
makes a trained network a strategy player: the same callable as the rule-based AI's
(``Policy``: game, house -> orders), greedy and deterministic.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import torch
from torch import nn

from engine_ext.headless import ACTIONS, STATE_FIELDS, action_mask, state_vector
from engine_ext.strategy_macro import HEADS, legal, plan_orders
from engine_ext.strategy_orders import Order
from engine_ext.strategy_state import Game
from snapshots.files import replacing

NEG = -1e9  # an illegal plan's logit


@dataclass(frozen=True)
class ModelSpec:
    hidden: int = 64
    layers: int = 2


class PolicyNet(nn.Module):
    def __init__(self, spec: ModelSpec = ModelSpec()) -> None:
        super().__init__()
        self.spec = spec
        width, body = len(STATE_FIELDS), []
        for _ in range(spec.layers):
            body += [nn.Linear(width, spec.hidden), nn.Tanh()]
            width = spec.hidden
        self.body = nn.Sequential(*body)
        self.heads = nn.ModuleDict({head: nn.Linear(width, len(plans)) for head, plans in HEADS.items()})

    def forward(self, states: torch.Tensor, masks: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        """Masked logits per head for a batch of raw state vectors."""
        hidden = self.body(squash(states))
        return {head: self.heads[head](hidden).masked_fill(masks[head] == 0, NEG) for head in HEADS}


def squash(states: torch.Tensor) -> torch.Tensor:
    return torch.sign(states) * torch.log1p(states.abs())


def masks_of(action_masks: list[list[int]]) -> dict[str, torch.Tensor]:
    """Per head, a batch of 0/1 rows, from records' action masks (``ACTIONS`` order)."""
    rows = [legal(dict(zip(ACTIONS, mask, strict=True))) for mask in action_masks]
    return {head: torch.tensor([row[head] for row in rows], dtype=torch.float32) for head in HEADS}


class Player:
    """A trained network playing a house: greedy over each head's legal plans."""

    def __init__(self, net: PolicyNet, turns: int = 100) -> None:
        self.net, self.turns = net.eval(), turns

    def plan(self, game: Game, hid: int) -> dict[str, int]:
        state = torch.tensor([state_vector(game, hid, self.turns)], dtype=torch.float32)
        with torch.no_grad():
            logits = self.net(state, masks_of([action_mask(game, hid)]))
        return {head: int(values[0].argmax()) for head, values in logits.items()}

    def __call__(self, game: Game, hid: int) -> list[Order]:
        return plan_orders(game, hid, self.plan(game, hid))


def save_model(net: PolicyNet, path: Path, meta: dict[str, Any] | None = None) -> None:
    with replacing(path) as partial:
        torch.save({"spec": asdict(net.spec), "weights": net.state_dict(), "meta": meta or {}}, partial)


def load_model(path: Path) -> PolicyNet:
    saved = torch.load(path, weights_only=True)
    net = PolicyNet(ModelSpec(**saved["spec"]))
    net.load_state_dict(saved["weights"])
    return net.eval()
