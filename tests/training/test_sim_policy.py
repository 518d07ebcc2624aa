"""``everturn sim --ai policy:NAME@VERSION``: a model that passed the gate plays headless games; others are refused."""
from __future__ import annotations

import subprocess
import sys

import orjson
import pytest

from engine_ext.strategy_macro import HEADS, plan_of

from .hand_made import SETTLER, gated_registry


@pytest.fixture(scope="module")
def models(tmp_path_factory):
    root = tmp_path_factory.mktemp("registry") / "models"
    gated_registry(root)
    return root


def sim(models, tmp_path, ai: str, *more: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "server.cli", "sim", "--games", "4", "--turns", "12", "--houses", "2",
                           "--rings", "3", "--ai", ai, "--models", str(models), "--out", str(tmp_path / "runs.jsonl"),
                           "--json", *more], capture_output=True, text=True, timeout=120)


def test_a_model_that_passed_the_gate_plays_on_worker_processes(models, tmp_path):
    done = sim(models, tmp_path, "policy:duke@1,balanced", "--workers", "2")
    assert done.returncode == 0, done.stderr
    summary = orjson.loads(done.stdout)
    assert summary["games"] == 4 and summary["wins"]["policy:duke@1"]["played"] == 4
    records = [orjson.loads(line) for line in (tmp_path / "runs.jsonl").read_bytes().splitlines()]
    learned = [r for r in records if r["personality"] == "policy:duke@1"]
    assert len(learned) == 4 * 12 and {tuple(r["meta"]["players"]) for r in records} == {
        ("policy:duke@1", "balanced"), ("balanced", "policy:duke@1")}
    # the records show the hand-made model's plan: colony ships while it could build them, never war
    plans = [plan_of(r["orders"], int(r["state"][3])) for r in learned]
    assert all(p["diplomacy"] == 0 for p in plans)
    assert sum(p["build"] == HEADS["build"].index("colony_ship") for p in plans) >= len(plans) // 2
    assert all(p["tax"] == SETTLER["tax"] for p in plans)


def test_a_bare_name_plays_the_deployed_version(models, tmp_path):
    done = sim(models, tmp_path, "policy:duke,turtle")
    assert done.returncode == 0, done.stderr
    assert "policy:duke@1" in orjson.loads(done.stdout)["wins"]


@pytest.mark.parametrize("ai, says", [("policy:duke@2,balanced", "duke v2 never passed the deployment gate"),
                                      ("policy:ghost,balanced", "no model ghost"),
                                      ("policy:duke@9,balanced", "no model duke v9"),
                                      ("oracle:duke,balanced", "no kind of player 'oracle'")])
def test_a_model_that_may_not_play_is_refused_before_any_game(models, tmp_path, ai, says):
    done = sim(models, tmp_path, ai)
    assert done.returncode == 2 and says in done.stderr, done.stderr
    assert not (tmp_path / "runs.jsonl").exists()
