"""The narrator's worker processes: llama.cpp runs in them, never in the server.

One process per slot (``python -m actors.narration.worker``, see ``worker.py`` for the
frames), each loading every model once.  :class:`WorkerPool` keeps them running: started
in a nursery (:meth:`WorkerPool.run`), it starts each slot's process, hands ready ones to
callers one request at a time, and restarts a process that ends:

    starting --ready--> idle --generate--> busy --done--> idle
        ^                                   |  \\
        |       crashed (a signal, an exit) |   past its deadline, or the caller cancelled:
        +---- backoff (doubling to cap) ----+   killed and started again at once ("recycled")

A crash fails the request the process held with ``actors.errors.WorkerCrashed`` (the narrator
settles it with the template); the next start waits ``BACKOFF_S``, doubled after each
crash of a process that lived less than ``STABLE_S``, up to ``BACKOFF_CAP_S``.

Why not the runtime's ``actors.runtime.work.ProcessPool`` (which runs training and learned
players): its workers start with the first call that needs them and answer each call
once, which suits stateless calls; a narrator worker must hold its loaded models and kept
contexts, be loaded before the server listens (a model that cannot load is known at
start), stream tokens while it works, and be replaced at once when it dies, so that the
console shows who serves.
"""
from __future__ import annotations

import itertools
import logging
import math
import os
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson
import trio

from ..errors import WorkerCrashed
from ..runtime.work import how_it_ended
from .model import Generation, ModelError

log = logging.getLogger("everturn.narrator")
GRACE_S = 5.0        # past a request's deadline before its worker is killed (a prompt's reading cannot be stopped)
LOAD_S = 120.0       # for a new process to load its models and say ready
BACKOFF_S = 0.5      # before restarting a crashed worker; doubled for each crash of a worker that lived < STABLE_S
BACKOFF_CAP_S = 30.0
STABLE_S = 60.0
MAX_FRAME = 1 << 20  # a longer line from a worker is a broken worker
ROOT = str(Path(__file__).resolve().parents[2])  # the checkout (or site-packages) holding ``actors``


class WorkerTimeout(Exception):
    """The worker overstayed the request's deadline by ``GRACE_S``: it was killed and is restarting."""


def ending(returncode: int | None) -> str:
    """How a worker process ended, for people (``killed by SIGSEGV``); ``still running`` if it has not."""
    return "still running" if returncode is None else how_it_ended(returncode)


@dataclass
class Worker:
    """One running worker process."""

    slot: int
    process: trio.Process
    started_at: float
    failed: dict[str, str] = field(default_factory=dict)  # models it could not load: name -> why
    busy: bool = False
    recycled: bool = False  # killed on purpose: restarted at once, not counted as a crash
    _buffer: bytearray = field(default_factory=bytearray)

    @property
    def pid(self) -> int:
        return self.process.pid

    @property
    def alive(self) -> bool:
        return self.process.returncode is None and not self.recycled

    async def send(self, frame: dict[str, Any]) -> None:
        assert self.process.stdin is not None
        await self.process.stdin.send_all(orjson.dumps(frame) + b"\n")

    async def receive(self) -> dict[str, Any] | None:
        """The next frame; None once the process has closed its end."""
        assert self.process.stdout is not None
        while (end := self._buffer.find(b"\n")) < 0:
            if len(self._buffer) > MAX_FRAME:
                raise ModelError(f"narrator worker {self.pid} sent a frame over {MAX_FRAME} bytes")
            chunk = await self.process.stdout.receive_some(65536)
            if not chunk:
                return None
            self._buffer += chunk
        line = bytes(self._buffer[:end])
        del self._buffer[:end + 1]
        return orjson.loads(line)

    def kill(self) -> None:
        """End the process now (SIGKILL); the pool starts another at once."""
        self.recycled = True
        if self.process.returncode is None:
            self.process.kill()


@dataclass
class Figures:
    crashes: int = 0       # processes that died on their own
    recycled: int = 0      # processes killed on purpose (deadline overstayed, caller gone)
    starts: int = 0        # processes started, first ones included
    last_crash: str | None = None
    last_crash_at: float | None = None


class WorkerPool:
    """``slots`` worker processes serving ``models`` (name -> GGUF path); one request per process at a time."""

    def __init__(self, models: dict[str, Path], *, slots: int, threads: int, n_ctx: int,
                 on_crash: Callable[[str, bool], None] | None = None) -> None:
        self.config = {"models": {name: str(path) for name, path in models.items()}, "n_ctx": n_ctx,
                       "n_threads": threads}
        self.slots = slots
        self.figures = Figures()
        self.workers: dict[int, Worker] = {}     # slot -> its current process (alive or being replaced)
        self.state: dict[int, str] = {slot: "stopped" for slot in range(slots)}
        self.running = False
        self._on_crash = on_crash  # (how, serving) for each crash: the narrator's health hears of it
        self._ready_send, self._ready = trio.open_memory_channel[Worker](math.inf)
        self._ids = itertools.count(1)

    # -- running ---------------------------------------------------------------------

    async def run(self, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        """Keep every slot's process running until cancelled; started once each has loaded (or failed to)."""
        try:
            async with trio.open_nursery() as nursery:
                for slot in range(self.slots):
                    await nursery.start(self._keep, slot)
                self.running = True
                task_status.started()
        finally:
            self.running = False
            with trio.CancelScope(shield=True), trio.move_on_after(GRACE_S):
                for worker in self.workers.values():
                    worker.kill()
                    await worker.process.wait()  # reaped: no zombie outlives the pool

    async def _keep(self, slot: int, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        delay = 0.0
        while True:
            worker = await self._start(slot)
            task_status.started()
            task_status = trio.TASK_STATUS_IGNORED
            if worker is not None:
                self.state[slot] = "ready"
                self._ready_send.send_nowait(worker)
                await worker.process.wait()
                if worker.recycled:
                    self.figures.recycled += 1
                    delay = 0.0
                    continue
                stable = trio.current_time() - worker.started_at >= STABLE_S
                delay = BACKOFF_S if stable else min(BACKOFF_CAP_S, max(BACKOFF_S, 2 * delay))
                how = ending(worker.process.returncode)
                log.error("narrator worker %d (pid %d) died: %s%s; restarting in %.1f s", slot, worker.pid, how,
                          " while generating" if worker.busy else "", delay)
                self._crashed(f"worker {slot} (pid {worker.pid}) died: {how}", worker.busy)
            else:
                delay = min(BACKOFF_CAP_S, max(BACKOFF_S, 2 * delay))
            self.state[slot] = "restarting"
            await trio.sleep(delay)

    async def _start(self, slot: int) -> Worker | None:
        """A new process for ``slot``, loaded and ready; None (counted as a crash) if it is not."""
        self.state[slot] = "starting"
        self.figures.starts += 1
        env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [ROOT, os.environ.get("PYTHONPATH")]))}
        try:
            process = await trio.lowlevel.open_process(
                [sys.executable, "-m", "actors.narration.worker", orjson.dumps(self.config).decode()],
                stdin=subprocess.PIPE, stdout=subprocess.PIPE, env=env)  # the server's session: nice levels compare
        except OSError as exc:  # out of processes or file descriptors: the narrator waits, the server goes on
            log.error("narrator worker %d could not be started: %s", slot, exc)
            self._crashed(f"worker {slot} could not be started: {exc}", False)
            return None
        worker = self.workers[slot] = Worker(slot, process, trio.current_time())
        with trio.move_on_after(LOAD_S):
            try:
                hello = await worker.receive()
            except (ModelError, orjson.JSONDecodeError):
                hello = None
            if hello is not None and hello.get("op") == "ready":
                worker.failed = hello.get("failed") or {}
                for name, why in worker.failed.items():
                    log.warning("narrator worker %d: %s", slot, why)
                log.info("narrator worker %d (pid %d) ready", slot, worker.pid)
                return worker
        worker.kill()
        with trio.CancelScope(shield=True):
            await process.wait()
        log.error("narrator worker %d (pid %d) did not start: %s", slot, process.pid, ending(process.returncode))
        self._crashed(f"worker {slot} did not start: {ending(process.returncode)}", False)
        return None

    def _crashed(self, how: str, serving: bool) -> None:
        figures = self.figures
        figures.crashes += 1
        figures.last_crash, figures.last_crash_at = how, trio.current_time()
        if self._on_crash is not None:
            self._on_crash(how, serving)

    # -- asking ----------------------------------------------------------------------

    async def generate(self, request: dict[str, Any], *, deadline_s: float,
                       on_token: Callable[[str], None] | None = None) -> Generation:
        """One generation on the next free process; ``deadline_s`` counts the wait for it too.

        Raises ``trio.TooSlowError`` if no process frees in time, ``WorkerCrashed`` if the
        process dies meanwhile, :class:`WorkerTimeout` if it overstays the deadline, and
        ``ModelError`` for what the model itself refused.  ``on_token`` runs on the loop.
        """
        started = trio.current_time()
        with trio.fail_after(max(0.0, deadline_s)):
            worker = await self._ready.receive()
            while not worker.alive:  # died while it waited for work: its slot is starting another
                worker = await self._ready.receive()
        left = max(0.0, deadline_s - (trio.current_time() - started))
        ident = next(self._ids)
        worker.busy, slot = True, worker.slot
        self.state[slot] = "busy"
        settled = False
        try:
            with trio.move_on_after(left + GRACE_S) as patience:
                await worker.send({**request, "op": "generate", "id": ident, "deadline_s": left})
                while True:
                    frame = await worker.receive()
                    if frame is None:
                        break
                    if frame.get("id") != ident:
                        raise ModelError(f"narrator worker {worker.pid} answered request {frame.get('id')}, "
                                         f"not {ident}")
                    if frame["op"] == "token":
                        if on_token is not None:
                            on_token(frame["piece"])
                    elif frame["op"] == "done":
                        settled = True
                        return Generation(**frame["generation"])
                    else:
                        settled = True
                        raise ModelError(frame.get("message") or "the narrator worker failed")
            if patience.cancelled_caught:
                raise WorkerTimeout(f"the narrator worker {slot} (pid {worker.pid}) did not answer within "
                                    f"{left + GRACE_S:.1f} s; it was restarted")
            with trio.CancelScope(shield=True), trio.move_on_after(GRACE_S):
                await worker.process.wait()  # the pipe closed: its end is a moment away
            raise WorkerCrashed(f"the narrator worker {slot} (pid {worker.pid}) died while generating: "
                                f"{ending(worker.process.returncode)}")
        except (trio.BrokenResourceError, trio.ClosedResourceError) as exc:
            raise WorkerCrashed(f"the narrator worker {slot} (pid {worker.pid}) went away: {exc}") from None
        finally:
            if settled:  # a worker that died mid-request stays busy: the crash is the request's
                worker.busy = False
            if settled and worker.alive:
                self.state[slot] = "ready"
                self._ready_send.send_nowait(worker)
            elif worker.process.returncode is None:
                worker.kill()  # cancelled or overstayed mid-request: its state is unknown, so it goes

    # -- operating -------------------------------------------------------------------

    def status(self) -> list[dict[str, Any]]:
        """Each slot's process: pid, state, since when, models it failed to load."""
        now = trio.current_time()
        out = []
        for slot in range(self.slots):
            worker = self.workers.get(slot)
            out.append({"slot": slot, "state": self.state[slot], "pid": None if worker is None else worker.pid,
                        "up_s": None if worker is None or not worker.alive else round(now - worker.started_at, 1),
                        "failed_models": {} if worker is None else dict(worker.failed)})
        return out

    @property
    def busy(self) -> int:
        """Processes generating now."""
        return sum(state == "busy" for state in self.state.values())

    @property
    def waiting(self) -> int:
        """Requests waiting for a free process."""
        return self._ready.statistics().tasks_waiting_receive

    def pids(self) -> list[int]:
        """The pids of the processes running now."""
        return [worker.pid for worker in self.workers.values() if worker.process.returncode is None]
