"""Training jobs (``train/{id}``) on the real runtime and RocksDB: torch work in a worker process,
checkpoints as blob files, pause/resume/cancel, and a restart that resumes from the last
checkpoint and ends with the weights of an uninterrupted run.  Nothing here waits on time: the
tests wait for the job's events (on trio's own clock: a MockClock that autojumps would spin the
loop through every periodic task while the worker process trains)."""
from __future__ import annotations

import os
import shutil
import signal
from contextlib import asynccontextmanager

import pydantic
import pytest
import torch
import trio
import trio.testing

from actors import Forbidden, Published, RuntimeConfig, TrioClock, open_runtime
from actors.train import TrainKind
from actors.train.behavior import chunk_limit_s
from actors.train.messages import CancelTraining, ChunkDone, PauseTraining, ResumeTraining, StartTraining
from snapshots import Store
from training.registry import Registry
from training.trainer import TrainSpec, train

from ..training.cli import simulated
from training.worker import JOBS

OPERATOR = {"token_id": "op", "role": "operator"}
JOB = "train/j1"


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    return simulated(tmp_path_factory.mktemp("sim") / "runs.jsonl", games=10, turns=16, seed=60)


def start(runs, **changes) -> StartTraining:
    return StartTraining(**{"data": str(runs), "name": "duke", "steps": 24, "batch": 32, "selfplay": 2,
                            "games_per_update": 2, "turns": 8, "seed": 3, "checkpoint_every": 5, "eval_games": 2,
                            **changes})


@asynccontextmanager
async def runtime(tmp_path):
    store = Store.open(tmp_path / "data")
    kinds = [TrainKind(tmp_path / "data" / "blobs", tmp_path / "models", JOBS)]
    try:
        async with open_runtime(store, kinds, clock=TrioClock(), config=RuntimeConfig(lag_interval=None)) as rt:
            yield rt
    finally:
        store.close()


async def until(rt, predicate):
    """Wait, without spinning, for the job's state to satisfy ``predicate``; the state."""
    state = rt.state_of(JOB)[0]
    if predicate(state):
        return state
    async with rt.subscribe(JOB) as items:
        async for item in items:
            if isinstance(item, Published) and predicate(state := rt.state_of(JOB)[0]):
                return state
    raise AssertionError("the job's stream ended")


def uninterrupted(command: StartTraining) -> dict[str, torch.Tensor]:
    spec = TrainSpec.of(command.model_dump(exclude={"name", "eval_games"}))
    return train(spec, spec.total).checkpoint.weights


def same_weights(registry: Registry, version: int, expected: dict[str, torch.Tensor]) -> bool:
    got = registry.model("duke", version).state_dict()
    return all(torch.equal(got[name], expected[name]) for name in expected)


async def test_a_job_trains_in_checkpointed_chunks_and_registers_its_evaluated_model(runs, tmp_path):
    command = start(runs)
    async with runtime(tmp_path) as rt:
        await rt.ask(JOB, command, by=OPERATOR)
        state = await until(rt, lambda s: s.status in ("finished", "failed"))
    assert state.status == "finished", state.error
    assert state.step == state.total == 26 and [p["step"] for p in state.history] == [5, 10, 15, 20, 25, 26]
    assert state.history[-1]["selfplay"]["games"] == 2
    registry = Registry(tmp_path / "models")
    meta = registry.meta("duke", state.model_version)
    assert set(meta["evaluation"]["vs"]) == {"aggressive", "economic", "turtle", "expansionist", "balanced"}
    assert meta["job"] == JOB and not meta.get("playable")   # registered, not deployed: the gate decides
    assert same_weights(registry, state.model_version, uninterrupted(command))
    blobs = sorted(p.name for p in (tmp_path / "data" / "blobs" / "train" / "j1").glob("ckpt-*.pt"))
    assert len(blobs) == 2 and blobs[-1] == state.checkpoint


async def test_pause_keeps_the_checkpoint_and_resume_goes_on_to_the_same_weights(runs, tmp_path):
    command = start(runs)
    async with runtime(tmp_path) as rt:
        await rt.ask(JOB, command, by=OPERATOR)
        await until(rt, lambda s: s.step >= 5)
        await rt.ask(JOB, PauseTraining(), by=OPERATOR)
        paused = await until(rt, lambda s: s.status == "paused")
        run = paused.run
        with pytest.raises(Exception, match="paused, not running"):
            await rt.ask(JOB, PauseTraining(), by=OPERATOR)
        await rt.ask(JOB, ResumeTraining(), by=OPERATOR)
        state = await until(rt, lambda s: s.status in ("finished", "failed"))
    assert state.status == "finished" and state.run > run
    assert same_weights(Registry(tmp_path / "models"), state.model_version, uninterrupted(command))


async def test_a_cancelled_job_ignores_the_chunk_in_flight(runs, tmp_path):
    async with runtime(tmp_path) as rt:
        await rt.ask(JOB, start(runs, steps=200, checkpoint_every=100), by=OPERATOR)
        await rt.ask(JOB, CancelTraining(reason="wrong data"), by=OPERATOR)
        state = rt.state_of(JOB)[0]
        assert state.status == "cancelled" and state.error == "wrong data"
        late = ChunkDone(run=state.run, step=100, checkpoint="ckpt-000000100.pt", sha256="0" * 64, figures={},
                         done=False)
        await rt.ask(JOB, late)
        assert rt.state_of(JOB)[0].step == 0 and rt.state_of(JOB)[0].status == "cancelled"
        with pytest.raises(Exception, match="nothing to cancel"):
            await rt.ask(JOB, CancelTraining(), by=OPERATOR)


async def test_a_restarted_server_resumes_the_job_from_its_last_checkpoint(runs, tmp_path):
    command = start(runs)
    async with runtime(tmp_path) as rt:
        await rt.ask(JOB, command, by=OPERATOR)
        first = await until(rt, lambda s: s.step >= 10)
    assert first.status == "running"
    async with runtime(tmp_path) as rt:   # Woken: the job starts again from its newest checkpoint
        state = await until(rt, lambda s: s.status in ("finished", "failed"))
    assert state.status == "finished", state.error
    assert same_weights(Registry(tmp_path / "models"), state.model_version, uninterrupted(command))


@pytest.fixture
def still_clock() -> trio.testing.MockClock:
    """Time moves only when the test says (an autojumping clock would pass the chunk's time limit while it trains)."""
    return trio.testing.MockClock()


async def test_a_chunk_whose_worker_stops_answering_is_killed_at_its_time_limit_and_tried_again(
        runs, tmp_path, still_clock):
    records = tmp_path / "runs.jsonl"
    shutil.copy(runs, records)
    command = start(records)                                   # checked here, while the records are a file
    records.rename(tmp_path / "runs.kept")
    os.mkfifo(records)                                         # the first chunk's worker blocks reading them
    async with runtime(tmp_path) as rt:
        await rt.ask(JOB, command, by=OPERATOR)
        held = await trio.to_thread.run_sync(open, records, "w")   # returns once the worker is inside the chunk
        [hung] = rt.workers.pids("training")
        os.kill(hung, signal.SIGSTOP)
        records.unlink()
        (tmp_path / "runs.kept").rename(records)               # the next worker reads the real records
        limit = chunk_limit_s(rt.state_of(JOB)[0].spec)
        still_clock.jump(limit)
        state = await until(rt, lambda s: s.status in ("finished", "failed"))
        held.close()
        [training] = [p for p in rt.workers.statistics() if p.name == "training"]
        journal = [stored for _, stored in rt.store.read_journal(JOB)]
    assert state.status == "finished", state.error
    [retried] = [e["d"] for e in journal if e["t"] == "WorkRetried"]
    assert retried["error"] == (f"WorkerTimeout: the training worker process {hung} did not answer within {limit:g} s "
                                "while it ran run_chunk; it was killed")
    assert [e["d"]["step"] for e in journal if e["t"] == "ChunkStarted"][:2] == [0, 0]   # the same chunk again
    assert (training.timeouts, training.crashes) == (1, 0)
    assert same_weights(Registry(tmp_path / "models"), state.model_version, uninterrupted(command))


async def test_only_operators_start_jobs_and_bad_specs_are_refused_where_they_arrive(runs, tmp_path):
    async with runtime(tmp_path) as rt:
        with pytest.raises(Forbidden):
            await rt.ask(JOB, start(runs), by={"token_id": "p", "role": "player", "campaign": "x"})
    with pytest.raises(pydantic.ValidationError, match="no records file"):
        start(tmp_path / "missing.jsonl")
    with pytest.raises(pydantic.ValidationError, match="model name"):
        start(runs, name="Bad Name")
