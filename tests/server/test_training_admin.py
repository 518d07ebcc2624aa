"""The operator's view of training over HTTP: the jobs, page by page, and the model registry
with each version's evaluation; other roles are refused."""
from __future__ import annotations

import orjson
import pytest

from actors.train import TrainKind
from server.app import ServerSettings

from ..training.cli import simulated
from .conftest import assert_error, bearer, command, http_client, operator_token, start_server
from training.worker import JOBS

EVALUATION = {"games_each": 2, "seed": 9000, "turns": 60, "rings": 3,
              "vs": {"balanced": {"won": 1, "played": 2, "share": 0.5, "ci95": [0.09, 0.91]}}}


@pytest.fixture
async def trainer(nursery, tmp_path):
    """A server running training jobs, its registry in ``tmp_path/models``."""
    settings = ServerSettings(rate=1e6, burst=1e6, models=tmp_path / "models")
    running = await start_server(nursery, tmp_path / "data", settings,
                                 kinds=[TrainKind(tmp_path / "data" / "blobs", tmp_path / "models", JOBS)])
    yield running
    running.stop.set()


def register(root, name: str, version: int, **meta) -> None:
    folder = root / name / f"v{version}"
    folder.mkdir(parents=True)
    (folder / "meta.json").write_bytes(orjson.dumps({"name": name, "version": version, **meta}))


async def test_operators_list_training_jobs_and_the_registry_and_players_are_refused(trainer, tmp_path):
    # real records and a long run: the jobs are surely still running when paused or cancelled (an empty file
    # fails a job at once, before the pause could arrive)
    records = simulated(tmp_path / "runs.jsonl", games=4, turns=12, seed=61)
    op = bearer(operator_token(trainer))
    start = {"data": str(records), "steps": 1_000_000, "checkpoint_every": 200}
    async with http_client(trainer) as http:
        for job, name in (("a", "duke"), ("b", "earl")):
            response = await http.post(f"/api/v1/actors/train/{job}/commands", headers=op,
                                       json=command("StartTraining", name=name, **start))
            assert response.status_code == 200, response.text
        for job, verb, data in (("a", "PauseTraining", {}), ("b", "CancelTraining", {"reason": "wrong data"})):
            response = await http.post(f"/api/v1/actors/train/{job}/commands", headers=op, json=command(verb, **data))
            assert response.status_code == 200, response.text
        refused = await http.post("/api/v1/actors/train/c/commands", headers=op,
                                  json=command("StartTraining", name="duke", **{**start, "data": "/no/such.jsonl"}))
        assert_error(refused, 422, "command/invalid")

        first = (await http.get("/api/v1/admin/training", params={"limit": "1"}, headers=op)).json()
        second = (await http.get("/api/v1/admin/training", params={"cursor": first["next_cursor"]},
                                 headers=op)).json()

        register(tmp_path / "models", "duke", 1, data=str(records), job="train/x", evaluation=EVALUATION,
                 gate={"passed": True, "against": "balanced", "won": 12, "lost": 6, "drawn": 2}, playable=True)
        register(tmp_path / "models", "duke", 2, data=str(records), job="train/a", evaluation=EVALUATION)
        (tmp_path / "models" / "duke" / "v3").mkdir()            # still being registered: not listed yet
        (tmp_path / "models" / "duke" / "deployed").write_text("1\n")
        models = (await http.get("/api/v1/admin/models", headers=op)).json()

        player = (await http.post("/api/v1/admin/tokens", headers=op,
                                  json={"role": "player", "campaign": "c1", "character": "ann"})).json()["token"]
        for path in ("/api/v1/admin/training", "/api/v1/admin/models"):
            assert_error(await http.get(path, headers=bearer(player)), 403, "auth/forbidden")

    [a] = first["items"]
    assert first["next_cursor"] is not None and second["next_cursor"] is None
    assert a["address"] == "train/a" and a["status"] == "paused" and a["name"] == "duke"
    assert a["step"] % 200 == 0 and a["total"] == 1_000_000 and a["model_version"] is None and a["updated_at"] > 0
    [b] = second["items"]                                     # the refused job never existed
    assert b["address"] == "train/b" and b["status"] == "cancelled" and b["error"] == "wrong data"

    assert models["root"] == str(tmp_path / "models")
    assert [(m["name"], m["version"], m["deployed"], m.get("playable", False)) for m in models["items"]] == [
        ("duke", 1, True, True), ("duke", 2, False, False)]
    assert models["items"][0]["evaluation"]["vs"]["balanced"]["ci95"] == [0.09, 0.91]
    assert models["items"][0]["gate"]["passed"] is True
