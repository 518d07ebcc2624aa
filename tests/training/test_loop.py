"""``everturn train loop``: cycle after cycle, killed mid-cycle and started again, it goes on where it was."""
from __future__ import annotations

import orjson

from training.registry import Registry

from .cli import everturn, kill_when, start
from .hand_made import SETTLER, biased


def test_a_killed_loop_goes_on_from_its_state_file_and_keeps_only_the_newest_files(tmp_path):
    models, work = tmp_path / "models", tmp_path / "work"
    registry = Registry(models)
    assert registry.deploy("duke", registry.register("duke", biased(SETTLER), {"data": "hand-made"})).passed
    loop = ("train", "loop", "--models", models, "--work", work, "--name", "duke", "--games", "6", "--turns", "20",
            "--steps", "200", "--batch", "64", "--selfplay", "1", "--games-per-update", "2", "--checkpoint-every",
            "20", "--eval-games", "1", "--cycles", "3", "--keep", "1", "--workers", "1", "--json")
    state = work / "loop.json"

    def training_cycle_2() -> bool:
        if not state.exists():
            return False
        now = orjson.loads(state.read_bytes())
        return now["cycle"] == 2 and now["phase"] == "train" and (work / "jobs/cycle-000002/ckpt.pt").exists()

    kill_when(start(tmp_path / "first.log", *loop), training_cycle_2)
    killed = orjson.loads(state.read_bytes())
    assert [c["cycle"] for c in killed["cycles"]] == [1]

    again = everturn(*loop)
    assert again.returncode == 0, again.stderr
    assert "going on with cycle 2 at train" in again.stderr
    assert [orjson.loads(line)["cycle"] for line in again.stdout.splitlines()] == [2, 3]

    final = orjson.loads(state.read_bytes())
    assert (final["cycle"], final["phase"]) == (4, "simulate")
    cycles = final["cycles"]
    assert [c["cycle"] for c in cycles] == [1, 2, 3] and [c["version"] for c in cycles] == [2, 3, 4]
    # the deployed model sat at the simulated tables (pinned to its version)
    assert all(any(p.startswith("policy:duke@") for p in c["players"]) for c in cycles)
    # rotation: one runs file and one checkpoint folder left, nothing half-written; models that passed stay
    assert sorted(p.name for p in (work / "runs").iterdir()) == ["cycle-000003.jsonl"]
    assert sorted(p.name for p in (work / "jobs").iterdir()) == ["cycle-000003"]
    deployed = registry.deployed("duke")
    kept = registry.versions("duke")
    assert deployed in kept and 1 in kept and 4 in kept
    refused = [v for v in kept if registry.meta("duke", v).get("playable") is False]
    assert len(refused) <= 1
    for version in (2, 3, 4):
        if version in kept:
            assert registry.meta("duke", version)["cycle"] == version - 1


def test_a_loop_refuses_other_settings_for_its_work_folder(tmp_path):
    models, work = tmp_path / "models", tmp_path / "work"
    common = ("train", "loop", "--models", models, "--work", work, "--name", "duke", "--turns", "10",
              "--steps", "5", "--selfplay", "0", "--eval-games", "1", "--cycles", "1", "--workers", "1")
    first = everturn(*common, "--games", "2")
    assert first.returncode == 0, first.stderr
    other = everturn(*common, "--games", "3")
    assert other.returncode == 2 and "other settings (games)" in other.stderr
