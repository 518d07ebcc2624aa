"""What operators read: the tree with per-actor figures; work kept off the loop; loop lag."""
from __future__ import annotations

import os
import signal
import sys
import threading
import time

import pytest
import trio
import trio.testing

from actors import Rejected, RuntimeConfig, TrioClock, WorkerCrashed, Workers, WorkerTimeout, open_runtime
from actors.runtime.metrics import LagMonitor

from ..kinds import Add, Boom, LedgerKind


async def test_tree_shows_per_actor_figures(store, autojump_clock):
    config = RuntimeConfig(lag_interval=None, snapshot_every=2)
    async with open_runtime(store, [LedgerKind()], clock=TrioClock(), config=config) as rt:
        for amount in (1, 2, 3):
            await rt.ask("ledger/a", Add(amount=amount))
        with pytest.raises(Rejected):
            await rt.ask("ledger/a", Add(amount=0))
        await rt.ask("ledger/a", Boom(times=1))
        tree = rt.tree()
    [kind] = tree["children"]
    [node] = kind["children"]
    assert node["address"] == "ledger/a"
    assert node["status"] == "running"
    assert (node["handled"], node["rejected"], node["restarts"]) == (5, 1, 1)
    assert node["journal_length"] == 3 and node["snapshot_seq"] == 2
    assert node["last_error"] == "RuntimeError: boom 1"
    assert node["state_bytes"] > 0 and node["mailbox"] == 0
    assert 0 <= node["handle_ms_p50"] <= node["handle_ms_p99"]
    assert tree["active"] == 1 and tree["commit_writes"] >= 3


async def test_thread_work_respects_its_capacity():
    running, peak = 0, 0
    lock = threading.Lock()
    release = threading.Event()

    def job(n: int) -> int:
        nonlocal running, peak
        with lock:
            running += 1
            peak = max(peak, running)
        release.wait(timeout=30)
        with lock:
            running -= 1
        return n * n

    results = []
    with Workers(threads=2) as workers:
        async with trio.open_nursery() as nursery:
            async def one(n: int) -> None:
                results.append(await workers.in_thread(job, n))

            for n in range(5):
                nursery.start_soon(one, n)
            while running < 2:  # both threads inside job (a borrowed token may not have started its thread yet)
                await trio.sleep(0.001)
            await trio.testing.wait_all_tasks_blocked()
            assert workers.threads.borrowed_tokens == 2
            release.set()
    assert sorted(results) == [0, 1, 4, 9, 16]
    assert peak == 2


def _square(n: int) -> int:
    return n * n


async def test_process_work_returns_results():
    with Workers(processes=2) as workers:
        assert [await workers.in_process(_square, n) for n in range(3)] == [0, 1, 4]


def _held(fifo: str) -> str:
    """In a worker: wait until the test opens ``fifo`` for writing and closes it (the test then knows the
    call is in progress); what was written."""
    with open(fifo) as given:
        return given.read()


def _refuse(text: str) -> None:
    raise ValueError(text)


async def _inside(workers: Workers, fifo, nursery: trio.Nursery, outcome: list, pool: str = "p"):
    """Start ``_held`` in ``pool`` and return, holding the FIFO open, once the worker is inside the call."""
    async def call() -> None:
        try:
            outcome.append(await workers.in_process(_held, str(fifo), pool=pool))
        except Exception as exc:
            outcome.append(exc)

    nursery.start_soon(call)
    return await trio.to_thread.run_sync(open, fifo, "w")


async def test_a_worker_process_killed_mid_call_fails_that_call_and_the_next_starts_a_new_one(tmp_path):
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    outcome: list = []
    with Workers(process_pools={"p": 1}, backoff_base=0.0) as workers:
        with pytest.raises(ValueError, match="not this one"):         # an exception is the call's, not a crash
            await workers.in_process(_refuse, "not this one", pool="p")
        [first] = workers.pids("p")
        async with trio.open_nursery() as nursery:
            held = await _inside(workers, fifo, nursery, outcome)
            os.kill(first, signal.SIGKILL)
        held.close()
        [crashed] = outcome
        assert isinstance(crashed, WorkerCrashed)
        assert str(crashed) == f"the p worker process {first} crashed (killed by SIGKILL) while it ran _held"
        assert await workers.in_process(_square, 7, pool="p") == 49
        [second] = workers.pids("p")
        [stats] = workers.statistics()
    assert second != first and (stats.calls, stats.crashes, stats.busy) == (2, 1, 0)


async def test_a_cancelled_call_kills_its_worker_and_an_idle_one_that_died_is_replaced_unseen(tmp_path):
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    outcome: list = []
    with Workers(process_pools={"p": 1}, backoff_base=0.0) as workers:
        async with trio.open_nursery() as nursery:
            held = await _inside(workers, fifo, nursery, outcome)
            [busy] = workers.pids("p")
            nursery.cancel_scope.cancel()
        held.close()
        assert outcome == [] and workers.pids("p") == []               # cancelled: no result, and the worker gone
        assert await workers.in_process(_square, 3, pool="p") == 9
        [idle] = workers.pids("p")
        ended = os.pidfd_open(idle)
        os.kill(idle, signal.SIGKILL)
        await trio.lowlevel.wait_readable(ended)                         # it is gone
        os.close(ended)
        assert await workers.in_process(_square, 4, pool="p") == 16     # a new worker takes the call
        [stats] = workers.statistics()
    assert busy != idle and stats.crashes == 1


@pytest.fixture
def still_clock() -> trio.testing.MockClock:
    """Time moves only when the test says (an autojumping clock would pass a time limit while a worker computes)."""
    return trio.testing.MockClock()


async def test_a_worker_that_stops_answering_is_killed_at_the_time_limit_and_the_next_call_gets_a_new_one(
        tmp_path, still_clock):
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    outcome: list = []
    with Workers(process_pools={"p": 1}) as workers:
        async with trio.open_nursery() as nursery:
            async def call() -> None:
                try:
                    outcome.append(await workers.in_process(_held, str(fifo), pool="p", timeout_s=30))
                except Exception as exc:
                    outcome.append(exc)

            nursery.start_soon(call)
            held = await trio.to_thread.run_sync(open, fifo, "w")       # the worker is inside the call
            [hung] = workers.pids("p")
            os.kill(hung, signal.SIGSTOP)                                # alive, and never answering
            ended = os.pidfd_open(hung)
            still_clock.jump(29)
            await trio.testing.wait_all_tasks_blocked()
            assert outcome == [] and workers.pids("p") == [hung]          # within the limit: still waiting
            still_clock.jump(1)
        await trio.lowlevel.wait_readable(ended)                         # killed
        os.close(ended)
        held.close()
        [timed_out] = outcome
        assert isinstance(timed_out, WorkerTimeout)
        assert str(timed_out) == (f"the p worker process {hung} did not answer within 30 s while it ran _held; "
                                  "it was killed")
        assert await workers.in_process(_square, 5, pool="p", timeout_s=30) == 25   # at once: no crash backoff
        [stats] = workers.statistics()
    assert workers.pids("p") == [] and (stats.calls, stats.crashes, stats.timeouts) == (1, 0, 1)


PROBE = """
import importlib, sys

def loaded(name):
    return name in sys.modules

def imported(name):
    importlib.import_module(name)
"""
PRELOADING_SERVER = """
import sys, trio
from actors import Workers
from probe import imported, loaded

async def main():
    with Workers(process_pools={"p": 1}, preload=["broken", "colorsys"]) as workers:
        print(await workers.in_process(loaded, "colorsys", pool="p"))
        try:
            await workers.in_process(imported, "broken", pool="p")
        except OSError as exc:
            print(f"OSError: {exc}")
    print("colorsys" in sys.modules)

trio.run(main)
"""


async def test_the_forkserver_preloads_the_work_modules_for_every_worker_and_outlives_one_that_fails(tmp_path):
    """In a process of its own: the test session's forkserver is already running with what it loaded."""
    (tmp_path / "probe.py").write_text(PROBE)
    (tmp_path / "broken.py").write_text('raise OSError("libbroken.so: cannot open shared object file")\n')
    env = {**os.environ, "PYTHONPATH": str(tmp_path)}
    done = await trio.run_process([sys.executable, "-c", PRELOADING_SERVER], cwd=tmp_path, env=env,
                                  capture_stdout=True, capture_stderr=True)
    assert done.stdout.decode().splitlines() == [
        "True",                                                      # the worker started with colorsys loaded
        "OSError: libbroken.so: cannot open shared object file",     # the worker that needs it: the real error
        "False",                                                     # and the server never imported it
    ]
    assert b"OSError: libbroken.so" in done.stderr                   # the forkserver's skip, on stderr


async def test_lag_monitor_sees_a_blocked_loop():
    monitor = LagMonitor(interval=0.01)
    async with trio.open_nursery() as nursery:
        await nursery.start(monitor.run)
        await trio.sleep(0.02)
        blocked_until = time.perf_counter() + 0.2   # the bug the monitor exists to catch:
        while time.perf_counter() < blocked_until:  # a handler that blocks the loop
            pass
        await trio.sleep(0.05)
        nursery.cancel_scope.cancel()
    assert monitor.max_ms >= 150


async def test_restart_reloads_an_actor_from_storage(store, autojump_clock):
    async with open_runtime(store, [LedgerKind()], clock=TrioClock(), config=RuntimeConfig(lag_interval=None)) as rt:
        await rt.ask("ledger/a", Add(amount=3))
        old = rt.cells["ledger/a"]
        assert await rt.restart("ledger/a")
        new = rt.cells["ledger/a"]
        assert new is not old
        assert await rt.ask("ledger/a", Add(amount=1)) is not None
        assert new.state.total == 4 and rt.activations == 2
        figures = rt.describe(new)                      # an operator restart is counted, the figures kept
        assert (figures["restarts"], figures["handled"]) == (1, 2)
        assert await rt.restart("ledger/a") and rt.describe(rt.cells["ledger/a"])["restarts"] == 2
        assert not await rt.restart("ledger/nobody")
