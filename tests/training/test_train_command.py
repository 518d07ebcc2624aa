"""``everturn train``: a job trained, evaluated, registered and gated; killed, it goes on to the same weights."""
from __future__ import annotations

import orjson
import pytest
import torch

from engine_ext.strategy_ai import PERSONALITIES
from server.cli import main
from training.registry import Registry

from .cli import everturn, kill_when, simulated, start
from .hand_made import gated_registry

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
    ({"--eval-games": "0"}, "--eval-games is at least 1"),
    ({"--data": "bad.jsonl"}, "bad.jsonl:1: not an everturn sim record"),
])
def test_bad_input_is_refused_in_one_line(runs, tmp_path, capsys, change, says):
    (tmp_path / "bad.jsonl").write_text('{"state": [1]}\n')
    options = {"--data": str(runs), "--name": "duke", "--out": str(tmp_path / "models"), "--steps": "5", **change}
    if options["--data"] != str(runs):
        options["--data"] = str(tmp_path / options["--data"])
    code = main(["train", *(x for pair in options.items() for x in pair)])
    said = capsys.readouterr().err
    assert code == 2 and says in said and len(said.strip().splitlines()) == 1, said
    assert not (tmp_path / "models" / ".jobs" / "duke").exists()


def test_the_models_command_lists_versions_and_its_gate_refuses_a_worse_model(tmp_path, capsys):
    models = tmp_path / "models"
    gated_registry(models)  # duke v1 deployed, v2 refused
    assert main(["models", "--models", str(models)]) == 0
    table = capsys.readouterr().out.splitlines()
    assert any(line.startswith("duke v1") and "yes" in line and "passed vs balanced" in line for line in table)
    assert any(line.startswith("duke v2") and "refused vs v1" in line for line in table)
    assert main(["models", "deploy", "duke", "v2", "--models", str(models), "--json"]) == 1
    verdict = orjson.loads(capsys.readouterr().out)
    assert not verdict["passed"] and verdict["against"] == "v1" and verdict["lost"] > verdict["won"]
    assert Registry(models).deployed("duke") == 1
    assert main(["models", "--models", str(models), "deploy", "duke", "7"]) == 2
    assert "no model duke v7" in capsys.readouterr().err
