"""Training a strategy policy: resumable to the bit, stoppable, legal in play, gated on deployment."""
from __future__ import annotations


import pytest
import torch

from engine_ext.strategy_orders import validate
from engine_ext.strategy_state import new_game
from engine_ext.strategy_turn import resolve
from training.dataset import DatasetError, load
from training.policy import Player
from training.registry import Registry, RegistryError
from training.trainer import Checkpoint, TrainSpec, model_of, train

from .cli import simulated
from .hand_made import IDLER, SETTLER, biased


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    return simulated(tmp_path_factory.mktemp("sim") / "runs.jsonl", games=12, turns=20, seed=40)


def small(runs, **changes) -> TrainSpec:
    return TrainSpec(**{"data": str(runs), "steps": 24, "batch": 32, "selfplay": 2, "games_per_update": 2,
                        "turns": 8, "seed": 3, "checkpoint_every": 5, **changes})


def test_a_job_cut_into_chunks_and_restored_from_files_ends_with_the_uninterrupted_weights(runs, tmp_path):
    spec = small(runs)
    whole = train(spec, spec.total)
    assert whole.done and whole.checkpoint.step == spec.total
    at, cuts = None, [7, 19, 25, spec.total]   # inside cloning, across an epoch, inside self-play, the end
    for cut in cuts:
        chunk = train(spec, cut, at)
        chunk.checkpoint.save(tmp_path / f"ckpt-{cut}.pt")
        at = Checkpoint.load(tmp_path / f"ckpt-{cut}.pt")
        assert at.step == cut
    for name, weights in whole.checkpoint.weights.items():
        assert torch.equal(weights, at.weights[name]), name


def test_a_stop_request_ends_the_chunk_at_a_step_boundary(runs):
    spec = small(runs)
    asked = iter([False, False, False, True])
    chunk = train(spec, spec.total, should_stop=lambda: next(asked))
    assert chunk.checkpoint.step == 3 and not chunk.done
    again = train(spec, spec.total, chunk.checkpoint)
    assert again.done and again.checkpoint.step == spec.total


def test_a_trained_policy_gives_only_legal_orders(runs):
    spec = small(runs, selfplay=0)
    player = Player(model_of(spec, train(spec, spec.total).checkpoint), turns=30)
    game = new_game(3, 2, 8)
    given_any = 0
    for _ in range(30):
        mine = player(game, 0)
        assert validate(game, 0, mine) == []
        given_any += bool(mine)
        game, _ = resolve(game, {0: mine, 1: player(game, 1)}, turn_limit=30)
    assert given_any > 10


def test_the_gate_deploys_a_better_model_and_refuses_a_worse_one(tmp_path):
    registry = Registry(tmp_path / "models")
    good = registry.register("duke", biased(SETTLER), {"data": "hand-made"})
    first = registry.deploy("duke", good)
    assert first.passed and first.against == "balanced" and registry.deployed("duke") == good
    worse = registry.register("duke", biased(IDLER), {"data": "hand-made"})
    verdict = registry.deploy("duke", worse)
    assert not verdict.passed and verdict.against == f"v{good}" and verdict.lost > verdict.won
    assert registry.deployed("duke") == good
    assert registry.meta("duke", worse)["gate"]["passed"] is False
    with pytest.raises(RegistryError, match="never passed"):
        registry.player(f"policy:duke@{worse}")
    assert isinstance(registry.player("policy:duke"), Player)


def test_records_that_cannot_be_trained_on_are_refused_plainly(tmp_path):
    with pytest.raises(DatasetError, match="cannot read"):
        load(tmp_path / "missing.jsonl")
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"state": [1, 2]}\n')
    with pytest.raises(DatasetError, match="bad.jsonl:1"):
        load(bad)
