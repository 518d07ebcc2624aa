"""Running blocking work off the trio loop, behind capacity limits.

:class:`Workers` holds two kinds of capacity:

- threads, for code of ours that releases the GIL (Cython ``nogil`` estimates, RocksDB
  reads, the search index): the shared ``threads``, or a named thread pool with a capacity
  of its own (``thread_pools``);
- processes, for native code we do not control (torch) and pure-Python number crunching:
  named process pools (``process_pools``), plus an unnamed shared one (``processes``).
  Each is a :class:`ProcessPool` of supervised worker processes started by ``forkserver``
  (``spawn`` where there is none): a worker inherits nothing of the server's state, and
  what it imports (torch) is never loaded in the server.  The modules the work runs
  (``preload``, the kinds' ``worker_preload``) are imported once by the forkserver
  process (``actors/preload.py``), when it starts with the first worker; every worker forks
  from it with them loaded, so a replacement after a crash serves in milliseconds instead
  of importing torch again (about a second).

The loop only waits.  A caller that is cancelled stops waiting: a thread cannot be
interrupted, so its result is discarded; a worker process is killed, and the next call
starts another.  A worker process that dies while it runs a call (a segfault, SIGKILL, the
OOM killer) fails that call with :class:`WorkerCrashed` naming the signal; the death is
counted (``ProcessPool.crashes``, ``everturn_worker_crashes_total`` in ``/metrics``) and
logged, and the next call starts a replacement after a backoff that doubles with each
crash in a row (``backoff_base`` up to ``backoff_max``).  A call may carry a time limit
(``timeout_s``): a worker that has not answered by then (hung on a lock, stopped, spinning
in native code) is killed and the call fails with :class:`WorkerTimeout`; that is counted
apart (``ProcessPool.timeouts``, ``everturn_worker_timeouts_total``), not as a crash, and
the next call starts a replacement at once.  The limit counts from the moment a worker
takes the call, not while it waits for one: a busy pool is not a hung worker.  A worker
runs one call at a time; a pool runs at most ``size`` at once and the rest wait their turn.
"""
from __future__ import annotations

import functools
import logging
import math
import multiprocessing
import os
import pickle
import signal
import traceback
from dataclasses import dataclass
from multiprocessing.connection import Connection
from typing import Any, Callable, Iterable, TypeVar

import trio

from ..errors import WorkerCrashed, WorkerTimeout

T = TypeVar("T")
log = logging.getLogger("everturn.actors")

SHARED = "shared"          # the unnamed process pool's name in statistics and metrics
PRELOAD_ENV = "EVERTURN_WORKER_PRELOAD"  # the modules the forkserver imports (actors/preload.py), comma-separated
_SEND_INLINE = 32 * 1024   # a request this small fits a socket buffer: sending it never blocks the loop


class Workers:
    """Thread and process capacity for blocking work.  Use as a context manager, or ``close()`` it."""

    def __init__(self, threads: int = 4, processes: int = 0, thread_pools: dict[str, int] | None = None,
                 process_pools: dict[str, int] | None = None, *, backoff_base: float = 0.05,
                 backoff_max: float = 5.0, preload: Iterable[str] = ()) -> None:
        self.threads = trio.CapacityLimiter(threads)
        # named thread pools with a capacity of their own, so one kind of work never takes every thread
        self.thread_pools = {name: trio.CapacityLimiter(size) for name, size in (thread_pools or {}).items()}
        if SHARED in (process_pools or {}):
            raise ValueError(f"{SHARED!r} names the shared process pool (Workers(processes=...))")
        sizes = {**({SHARED: processes} if processes > 0 else {}), **(process_pools or {})}
        self.process_pools = {name: ProcessPool(name, size, backoff_base=backoff_base, backoff_max=backoff_max)
                          for name, size in sizes.items()}
        preload = sorted(set(preload))
        if preload and self.process_pools and "forkserver" in multiprocessing.get_all_start_methods():
            # Names only: the forkserver imports them (actors/preload.py) as it starts, never this process. One
            # forkserver serves every pool of the process: the first worker starts it, and once running it keeps
            # what it loaded.
            os.environ[PRELOAD_ENV] = ",".join(preload)
            multiprocessing.get_context("forkserver").set_forkserver_preload(["actors.runtime.preload"])

    def __enter__(self) -> "Workers":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Stop every worker process (a call still running in one is lost)."""
        for pool in self.process_pools.values():
            pool.close()

    async def in_thread(self, fn: Callable[..., T], *args: Any, pool: str | None = None, **kwargs: Any) -> T:
        """Run ``fn`` in a worker thread, at most ``threads`` at a time (or as many as thread pool ``pool`` holds)."""
        limiter = self.threads if pool is None else self.thread_pools[pool]
        return await trio.to_thread.run_sync(functools.partial(fn, *args, **kwargs), limiter=limiter,
                                             abandon_on_cancel=True)

    async def in_process(self, fn: Callable[..., T], *args: Any, pool: str | None = None,
                         timeout_s: float | None = None) -> T:
        """Run ``fn(*args)`` in a worker process of ``pool`` (None: the shared one), killed if it has not
        answered ``timeout_s`` seconds after it took the call; see :meth:`ProcessPool.run`."""
        name = SHARED if pool is None else pool
        if name not in self.process_pools:
            raise LookupError(f"no process pool {name!r} (RuntimeConfig.process_pools / worker_processes)")
        return await self.process_pools[name].run(fn, *args, timeout_s=timeout_s)

    def pids(self, pool: str | None = None) -> list[int]:
        """The process ids of ``pool``'s live workers (None: the shared pool's), idle or busy."""
        return self.process_pools[SHARED if pool is None else pool].pids()

    def statistics(self) -> list[PoolStatistics]:
        """One line per process pool: its size, workers, calls and crashes."""
        return [pool.statistics() for pool in self.process_pools.values()]


@dataclass(frozen=True, slots=True)
class PoolStatistics:
    name: str
    size: int       # calls at once, at most
    busy: int       # calls running now
    waiting: int    # calls waiting for a free worker
    workers: int    # live worker processes (idle or busy)
    calls: int      # calls that came back (with a result or an exception)
    crashes: int    # workers that died, while running a call or idle
    timeouts: int   # workers killed because a call ran past its time limit


class ProcessPool:
    """Up to ``size`` supervised worker processes of one name, each running one call at a time.

    Workers start with the first calls that need them and stay for the next ones.
    """

    def __init__(self, name: str, size: int, *, backoff_base: float = 0.05, backoff_max: float = 5.0) -> None:
        if size < 1:
            raise ValueError(f"process pool {name!r}: size {size}, at least 1")
        self.name, self.size = name, size
        self.backoff_base, self.backoff_max = backoff_base, backoff_max
        self.calls = 0
        self.crashes = 0
        self.timeouts = 0
        self._context = multiprocessing.get_context("forkserver" if "forkserver" in
                                                    multiprocessing.get_all_start_methods() else "spawn")
        self._slots = trio.CapacityLimiter(size)
        self._idle: list[_Worker] = []
        self._busy: set[_Worker] = set()
        self._crashes_in_a_row = 0
        self._closed = False

    async def run(self, fn: Callable[..., T], *args: Any, timeout_s: float | None = None) -> T:
        """``fn(*args)`` in a worker process: its result, or the exception it raised.

        ``fn`` and ``args`` must pickle (``fn`` by reference: a module-level function, whose
        module the worker imports).  Raises :class:`WorkerCrashed` if the worker died
        while running it; :class:`WorkerTimeout` if it had not answered ``timeout_s``
        seconds (trio's clock) after it took the call (the wait for a free worker does not
        count), and was killed; ``RuntimeError`` once the pool is closed.  Cancelled, it
        kills the worker (the call's effects stop wherever it was).
        """
        if timeout_s is not None and not timeout_s > 0:
            raise ValueError(f"timeout_s is above 0 (got {timeout_s})")
        request = pickle.dumps((fn, args), protocol=pickle.HIGHEST_PROTOCOL)  # a bad argument fails here
        async with self._slots:
            worker = await self._checkout()
            self._busy.add(worker)
            try:
                with trio.move_on_after(math.inf if timeout_s is None else timeout_s) as limit:
                    reply = await worker.call(request)
            except _Died:
                self._busy.discard(worker)
                if self._closed:
                    worker.kill()
                    raise RuntimeError(f"the {self.name} process pool was closed while it ran "
                                       f"{_name_of(fn)}") from None
                how = await trio.to_thread.run_sync(worker.ended)
                raise self._crashed(worker, how, f"while it ran {_name_of(fn)}") from None
            except BaseException:  # cancelled (or worse): the worker's state is unknown, it goes
                self._busy.discard(worker)
                worker.kill()
                raise
            self._busy.discard(worker)
            if limit.cancelled_caught:
                raise self._overstayed(worker, f"{timeout_s:g} s", f"while it ran {_name_of(fn)}")
            self._crashes_in_a_row = 0
            self.calls += 1
            if self._closed:
                worker.kill()
            else:
                self._idle.append(worker)
        outcome, value, remote = reply
        if outcome == "ok":
            return value
        if remote:
            value.__cause__ = RemoteTraceback(remote)
        raise value

    def pids(self) -> list[int]:
        """Process ids of the live workers (idle or busy)."""
        return sorted(w.pid for w in (*self._idle, *self._busy) if w.alive())

    def statistics(self) -> PoolStatistics:
        return PoolStatistics(self.name, self.size, len(self._busy), self._slots.statistics().tasks_waiting,
                              len(self.pids()), self.calls, self.crashes, self.timeouts)

    def close(self) -> None:
        """Kill every worker; calls still running fail, later ones are refused."""
        self._closed = True
        for worker in self._idle:
            worker.kill()
        self._idle.clear()
        for worker in self._busy:  # its caller sees the connection close and closes it
            worker.process.kill()

    async def _checkout(self) -> _Worker:
        if self._closed:
            raise RuntimeError(f"the {self.name} process pool is closed")
        while self._idle:
            worker = self._idle.pop()
            if worker.alive() and not worker.conn.poll():  # an idle worker's connection is readable only at its end
                return worker
            how = await trio.to_thread.run_sync(worker.ended)
            self._crashed(worker, how, "while it was idle")  # counted and logged; a new one takes the call
        if self._crashes_in_a_row:
            await trio.sleep(min(self.backoff_base * 2 ** (self._crashes_in_a_row - 1), self.backoff_max))
        parent, child = self._context.Pipe()
        process = self._context.Process(target=serve, args=(child,), name=f"everturn {self.name} worker", daemon=True)
        try:
            await trio.to_thread.run_sync(process.start)  # talks to the forkserver: not on the loop
        except BaseException:
            if process.pid is not None:
                process.kill()
            raise
        finally:
            child.close()
        if self._closed:  # closed while it started
            process.kill()
            raise RuntimeError(f"the {self.name} process pool is closed")
        return _Worker(process, parent)

    def _crashed(self, worker: _Worker, how: str, when: str) -> WorkerCrashed:
        self.crashes += 1
        self._crashes_in_a_row += 1
        log.error("the %s worker process %d crashed (%s) %s; the next call starts a new one", self.name, worker.pid,
                  how, when)
        worker.kill()
        return WorkerCrashed(f"the {self.name} worker process {worker.pid} crashed ({how}) {when}")

    def _overstayed(self, worker: _Worker, limit: str, when: str) -> WorkerTimeout:
        # Killed on purpose, not a crash: no backoff (the replacement is not being crash-looped), counted apart.
        self.timeouts += 1
        log.error("the %s worker process %d did not answer within %s %s; it was killed, the next call starts a "
                  "new one", self.name, worker.pid, limit, when)
        worker.kill()
        return WorkerTimeout(f"the {self.name} worker process {worker.pid} did not answer within {limit} {when}; "
                             "it was killed")


class _Died(Exception):
    """The worker's end of the connection closed mid-call."""


class _Worker:
    """One worker process and the parent's end of its connection."""

    __slots__ = ("process", "conn", "pid")

    def __init__(self, process: multiprocessing.process.BaseProcess, conn: Connection) -> None:
        self.process, self.conn = process, conn
        self.pid: int = process.pid  # type: ignore[assignment]

    async def call(self, request: bytes) -> tuple[str, Any, str | None]:
        try:
            if len(request) <= _SEND_INLINE:
                self.conn.send_bytes(request)
            else:
                await trio.to_thread.run_sync(self.conn.send_bytes, request)
            await trio.lowlevel.wait_readable(self.conn.fileno())
            data = await trio.to_thread.run_sync(self.conn.recv_bytes, abandon_on_cancel=True)
        except (EOFError, OSError) as exc:
            raise _Died() from exc
        try:
            return pickle.loads(data)
        except Exception as exc:  # an exception class that cannot be rebuilt here, say
            return "error", RuntimeError(f"the worker's reply could not be read: {exc}"), None

    def alive(self) -> bool:
        return self.process.is_alive()

    def ended(self) -> str:
        """How the process ended: ``killed by SIGSEGV``, ``exit code 3`` (blocking: waits up to 5 s for the end)."""
        self.process.join(timeout=5.0)  # its end of the connection is closed: it has ended or is ending
        code = self.process.exitcode
        return "it stopped answering" if code is None else how_it_ended(code)

    def kill(self) -> None:
        if self.process.is_alive():
            self.process.kill()
        self.conn.close()


def how_it_ended(returncode: int) -> str:
    """A finished process's exit status for people: ``killed by SIGSEGV``, ``exit code 3``."""
    if returncode < 0:
        try:
            return f"killed by {signal.Signals(-returncode).name}"
        except ValueError:
            return f"killed by signal {-returncode}"
    return f"exit code {returncode}"


class RemoteTraceback(Exception):
    """The traceback of an exception raised in a worker process (its ``__cause__``)."""

    def __str__(self) -> str:
        return str(self.args[0])


def serve(conn: Connection) -> None:
    """A worker process's life: run each call that arrives on ``conn`` and send back its outcome."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C reaches the whole process group: the server stops us
    while True:
        try:
            request = conn.recv_bytes()
        except (EOFError, OSError):
            return  # the server closed the connection, or is gone
        try:
            fn, args = pickle.loads(request)
            reply: tuple[str, Any, str | None] = ("ok", fn(*args), None)
        except BaseException as exc:  # noqa: B036 (everything the call raises is its caller's to see)
            reply = ("error", exc, traceback.format_exc())
        try:
            data = pickle.dumps(reply, protocol=pickle.HIGHEST_PROTOCOL)
        except Exception as exc:  # an unpicklable result or exception: its text still goes back
            what = "result" if reply[0] == "ok" else f"exception {type(reply[1]).__name__}: {reply[1]}"
            data = pickle.dumps(("error", RuntimeError(f"the worker could not send its {what} back: {exc}"),
                                 reply[2]))
        try:
            conn.send_bytes(data)
        except OSError:
            return


def _name_of(fn: Any) -> str:
    return getattr(fn, "__qualname__", None) or repr(fn)

