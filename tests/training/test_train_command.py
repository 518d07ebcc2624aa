"""``everturn train``: a job trained, evaluated, registered and gated; killed, it goes on to the same weights."""
from __future__ import annotations

import orjson
import pytest
import torch

from engine_ext.strategy_ai import PERSONALITIES
from training.registry import Registry

from .cli import everturn, kill_when, simulated, start

TINY = ("--steps", "60", "--batch", "64", "--selfplay", "1", "--games-per-update", "2", "--checkpoint-every", "25",
        "--eval-games", "2", "--seed", "5")


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    return simulated(tmp_path_factory.mktemp("sim") / "runs.jsonl")


def test_a_job_trains_evaluates_registers_and_runs_the_gate(runs, tmp_path):
    models = tmp_path / "models"
    done = everturn("train", "--data", runs, "--out", models, "--name", "duke", *TINY, "--deploy", "--json")
    assert done.returncode == 0, done.stderr
    outcome = orjson.loads(done.stdout)
    assert outcome["version"] == 1 and outcome["gate"]["against"] == "balanced"
    assert "61/61 steps" in done.stderr and "samples/s" in done.stderr and "self-play won" in done.stderr
    meta = Registry(models).meta("duke", 1)
    assert meta["data"] == str(runs.resolve()) and meta["spec"]["steps"] == 60 and meta["created"]
    assert meta["figures"]["clone_steps"] == 60 and meta["figures"]["updates"] == 1
    assert set(meta["evaluation"]["vs"]) == set(PERSONALITIES) and meta["evaluation"]["games_each"] == 2
    assert meta["gate"] == outcome["gate"] and meta["playable"] == outcome["gate"]["passed"]
    assert not (models / ".jobs" / "duke").exists()  # a finished job leaves only its model

    listed = everturn("models", "--models", models, "--json")
    assert listed.returncode == 0, listed.stderr
    [row] = orjson.loads(listed.stdout)["versions"]
    assert (row["name"], row["version"], row["deployed"]) == ("duke", 1, outcome["gate"]["passed"])
    table = everturn("models", "--models", models)
    assert "duke v1" in table.stdout and "vs balanced" in table.stdout


def test_a_killed_job_run_again_ends_with_the_weights_of_an_uninterrupted_one(runs, tmp_path):
    settings = ("--data", runs, "--name", "duke", "--steps", "400", "--batch", "64", "--selfplay", "1",
                "--games-per-update", "2", "--checkpoint-every", "40", "--eval-games", "1", "--seed", "7")
    whole = everturn("train", "--out", tmp_path / "whole", *settings)
    assert whole.returncode == 0, whole.stderr

    models = tmp_path / "models"
    checkpoint = models / ".jobs" / "duke" / "ckpt.pt"
    kill_when(start(tmp_path / "first.log", "train", "--out", models, *settings), checkpoint.exists)
    at = torch.load(checkpoint, weights_only=True)["checkpoint"]["step"]
    assert 40 <= at < 401

    other = everturn("train", "--out", models, *settings[:-1], "8")
    assert other.returncode == 2 and "other settings (seed)" in other.stderr

    again = everturn("train", "--out", models, *settings)
    assert again.returncode == 0, again.stderr
    assert f"resuming duke from step {at} of 401" in again.stderr
    resumed = torch.load(models / "duke" / "v1" / "model.pt", weights_only=True)["weights"]
    uninterrupted = torch.load(tmp_path / "whole" / "duke" / "v1" / "model.pt", weights_only=True)["weights"]
    assert resumed.keys() == uninterrupted.keys()
    assert all(torch.equal(resumed[k], uninterrupted[k]) for k in resumed)


@pytest.mark.parametrize("change, says", [
    ({"--data": "missing.jsonl"}, "missing.jsonl"),
    ({"--name": "Duke!"}, "a model name is 1-40 of a-z"),
    ({"--steps": "0"}, "steps, batch and checkpoint_every are at least 1"),
    ({"--data": "bad.jsonl"}, "bad.jsonl:1: not an everturn sim record"),
])
def test_bad_input_is_refused_in_one_line(runs, tmp_path, change, says):
    (tmp_path / "bad.jsonl").write_text('{"state": [1]}\n')
    options = {"--data": str(runs), "--name": "duke", "--out": str(tmp_path / "models"), "--steps": "5", **change}
    if options["--data"] != str(runs):
        options["--data"] = str(tmp_path / options["--data"])
    done = everturn("train", *(x for pair in options.items() for x in pair))
    assert done.returncode == 2 and says in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1, done.stderr
