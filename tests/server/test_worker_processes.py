"""Native work never takes the server down: training chunks and learned players run in worker
processes the runtime supervises. A training worker killed mid-chunk is replaced and its job
resumes from the last checkpoint to the weights of an uninterrupted run, while the server goes
on answering; and ``everturn serve`` never maps torch, though its policy worker does (and the
forkserver that preloads it for its workers)."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import pytest
import trio
import trio.testing

from actors.train import TrainKind
from actors.train.messages import StartTraining
from server.app import ServerSettings
from training.registry import Registry

from ..actors.test_training_jobs import JOB, same_weights, uninterrupted, until
from ..kinds import LedgerKind
from ..training.cli import simulated
from ..training.hand_made import gated_registry
from .conftest import WsClient, add, bearer, command, http_client, operator_token, start_server
from training.worker import JOBS


def pool(runtime, name: str):
    return next(p for p in runtime.workers.statistics() if p.name == name)


@pytest.fixture
async def trainer(nursery, tmp_path):
    """A server running ledgers (the campaigns that must not notice) and training jobs."""
    settings = ServerSettings(campaign_kinds=frozenset({"ledger"}), rate=1e6, burst=1e6, models=tmp_path / "models")
    running = await start_server(nursery, tmp_path / "data", settings,
                                 kinds=[LedgerKind(), TrainKind(tmp_path / "data" / "blobs", tmp_path / "models", JOBS)])
    yield running
    running.stop.set()


async def test_a_training_worker_killed_mid_chunk_is_replaced_and_the_job_ends_with_uninterrupted_weights(
        trainer, tmp_path):
    records = simulated(tmp_path / "runs.jsonl", games=4, turns=12, seed=61)
    spec = {"data": str(records), "name": "duke", "steps": 1000, "checkpoint_every": 500, "seed": 5, "eval_games": 2}
    rt, op = trainer.runtime, bearer(operator_token(trainer))
    async with http_client(trainer) as http:
        response = await http.post(f"/api/v1/actors/{JOB}/commands", headers=op, json=command("StartTraining", **spec))
        assert response.status_code == 200, response.text
        await until(rt, lambda s: s.step >= 500)             # the first chunk is done, the second handed out ...
        await trio.testing.wait_all_tasks_blocked()           # ... and sent: the worker trains it (~0.4 s)
        assert pool(rt, "training").busy == 1
        [killed] = rt.workers.pids("training")
        os.kill(killed, signal.SIGSEGV)

        assert (await http.get("/health/ready")).status_code == 200
        for amount in (1, 2, 3):                              # another campaign goes on meanwhile
            assert (await add(http, operator_token(trainer), "ledger/l1", amount)).status_code == 200
        state = await until(rt, lambda s: s.status in ("finished", "failed"))
        metrics = (await http.get("/metrics")).text
        journal = [stored for _, stored in rt.store.read_journal(JOB)]

    assert state.status == "finished", state.error
    [retried] = [e["d"] for e in journal if e["t"] == "WorkRetried"]
    assert f"the training worker process {killed} crashed (killed by SIGSEGV)" in retried["error"]
    assert [e["d"]["step"] for e in journal if e["t"] == "ChunkStarted"] == [0, 500, 500]   # again from 500
    assert rt.workers.pids("training") not in ([], [killed])  # replaced
    assert rt.state_of("ledger/l1")[0].total == 6
    assert 'everturn_worker_crashes_total{pool="training"} 1' in metrics
    assert 'everturn_worker_timeouts_total{pool="training"} 0' in metrics     # a crash is not a time limit
    assert same_weights(Registry(tmp_path / "models"), state.model_version, uninterrupted(StartTraining(**spec)))


def torch_mapped(pid: int) -> bool:
    return "libtorch" in Path(f"/proc/{pid}/maps").read_text()


def parent_of(pid: int) -> int:
    return int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[1])


def descendants(pid: int) -> list[int]:
    """Every process below ``pid`` (its workers sit under the forkserver it started)."""
    parents = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                parents[int(entry.name)] = parent_of(int(entry.name))
            except (OSError, IndexError, ValueError):
                continue  # gone meanwhile
    found, frontier = [], [pid]
    while frontier:
        children = [child for child, parent in parents.items() if parent in frontier]
        found += children
        frontier = children
    return found


async def test_everturn_serve_never_maps_torch_while_its_policy_worker_plays_a_learned_house(tmp_path):
    gated_registry(tmp_path / "models")
    serve = subprocess.Popen([sys.executable, "-m", "server.cli", "serve", "--data", str(tmp_path / "data"),
                              "--port", "0", "--no-ui", "--no-narrator", "--models", str(tmp_path / "models"),
                              "--policy-workers", "1", "--shards", "1"],  # one process tree to inspect
                             stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    try:
        printed = {}
        while not {"serving", "token"} <= printed.keys():
            line = await trio.to_thread.run_sync(serve.stdout.readline)
            assert line, "everturn serve ended before it served"
            if line.startswith("everturn: serving "):
                printed["serving"] = line.split()[2]
            elif "first operator token" in line:
                printed["token"] = line.split()[-1]
        running = SimpleNamespace(url=printed["serving"], first_token=printed["token"])
        op = bearer(printed["token"])
        async with http_client(running) as http:
            ann = (await http.post("/api/v1/admin/tokens", headers=op,
                                   json={"role": "player", "campaign": "g1", "character": "ann"})).json()["token"]
            game = {"rings": 3, "houses": 2, "seed": 4, "personalities": ["balanced", "policy:duke@1"]}
            for token, kind, data in ((printed["token"], "CreateGame", game), (ann, "JoinHouse", {"house": 0})):
                response = await http.post("/api/v1/actors/strategy/g1/commands", headers=bearer(token),
                                           json=command(kind, **data))
                assert response.status_code == 200, response.text
            async with await WsClient.open(running, printed["token"]) as ws:
                await ws.send({"type": "subscribe", "topic": "strategy/g1"})
                assert (await ws.expect())["type"] == "snapshot"
                response = await http.post("/api/v1/actors/strategy/g1/commands", headers=bearer(ann),
                                           json=command("SubmitOrders", turn=1, orders=[{"kind": "set_tax",
                                                                                          "amount": 40}]))
                assert response.status_code == 200, response.text
                seen = [(await ws.expect(timeout=60))["event"] for _ in range(3)]
            models = await http.get("/api/v1/admin/models", headers=op)
            assert [m["version"] for m in models.json()["items"]] == [1, 2]
            assert (await http.get("/api/v1/admin/training", headers=op)).status_code == 200
        assert [e["type"] for e in seen] == ["OrdersSubmitted", "PolicyAsked", "TurnResolved"]
        assert any(o["kind"] == "build" and o.get("ship") == "colony_ship" for o in seen[2]["data"]["orders"]["1"])
        assert not torch_mapped(serve.pid)
        with_torch = {pid: parent_of(pid) for pid in descendants(serve.pid) if torch_mapped(pid)}
        [forkserver] = [pid for pid, parent in with_torch.items() if parent == serve.pid]   # it preloads torch ...
        assert list(with_torch.values()).count(forkserver) == 1     # ... for its one worker: the policy one
    finally:
        serve.send_signal(signal.SIGINT)
        code = await trio.to_thread.run_sync(serve.wait, 60)
        serve.stdout.close()
    assert code == 0
