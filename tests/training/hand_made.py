"""Hand-made models for tests: networks that always follow one plan, as good or bad as that plan."""
from __future__ import annotations

from pathlib import Path

import torch

from engine_ext.strategy_macro import HEADS
from training.policy import PolicyNet
from training.registry import Registry

# settle, research construction, keep the peace, lowest tax: beats the balanced AI most games
SETTLER = {"fleets": 0, "build": HEADS["build"].index("colony_ship"), "research": 2, "diplomacy": 0, "tax": 0}
# save everything, research nothing, declare war: loses to nearly anything
IDLER = {"fleets": 0, "build": HEADS["build"].index("save"), "research": 0, "diplomacy": 1, "tax": 1}


def biased(plan: dict[str, int]) -> PolicyNet:
    net = PolicyNet()
    with torch.no_grad():
        for head, choice in plan.items():
            net.heads[head].weight.zero_()
            net.heads[head].bias.fill_(-10.0)
            net.heads[head].bias[choice] = 10.0
    return net


def gated_registry(root: Path, name: str = "duke") -> Registry:
    """``name`` v1 (the settler) deployed through the gate; v2 (the idler) refused by it."""
    registry = Registry(root)
    good = registry.register(name, biased(SETTLER), {"data": "hand-made"})
    assert registry.deploy(name, good).passed
    worse = registry.register(name, biased(IDLER), {"data": "hand-made"})
    assert not registry.deploy(name, worse).passed
    return registry
