"""Running CPU-heavy work off the trio loop, behind capacity limits.

Simulation batches, Monte Carlo estimates, torch steps and LLM generation go through
:class:`Workers`: threads for code that releases the GIL (numpy, torch, llama.cpp,
Cython ``nogil`` sections), processes for pure-Python number crunching.  The loop only
waits; a caller that is cancelled stops waiting (a thread cannot be interrupted, so its
result is discarded; a process task is cancelled if it has not started).
"""
from __future__ import annotations

import concurrent.futures
import functools
import multiprocessing
import os
from typing import Any, Callable, TypeVar

import trio

T = TypeVar("T")


class Workers:
    """Thread and process capacity for blocking work.  Use as a context manager."""

    def __init__(self, threads: int = 4, processes: int = 0, pools: dict[str, int] | None = None) -> None:
        self.threads = trio.CapacityLimiter(threads)
        # named pools with a capacity of their own, so one kind of work (training) never takes every thread
        self.pools = {name: trio.CapacityLimiter(size) for name, size in (pools or {}).items()}
        self.process_slots = trio.CapacityLimiter(max(1, processes))
        self._processes = processes
        self._pool: concurrent.futures.ProcessPoolExecutor | None = None

    def __enter__(self) -> "Workers":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=False, cancel_futures=True)
            self._pool = None

    async def in_thread(self, fn: Callable[..., T], *args: Any, pool: str | None = None, **kwargs: Any) -> T:
        """Run ``fn`` in a worker thread, at most ``threads`` at a time (or as many as ``pool`` holds)."""
        limiter = self.threads if pool is None else self.pools[pool]
        return await trio.to_thread.run_sync(functools.partial(fn, *args, **kwargs), limiter=limiter,
                                             abandon_on_cancel=True)

    async def in_process(self, fn: Callable[..., T], *args: Any) -> T:
        """Run picklable ``fn(*args)`` in a worker process, at most ``processes`` at a time."""
        if self._processes <= 0:
            raise RuntimeError("this Workers was created without processes")
        if self._pool is None:
            ctx = multiprocessing.get_context("forkserver" if os.name == "posix" else "spawn")
            self._pool = concurrent.futures.ProcessPoolExecutor(self._processes, mp_context=ctx)
        async with self.process_slots:
            future = self._pool.submit(fn, *args)
            try:
                return await trio.to_thread.run_sync(future.result, abandon_on_cancel=True)
            finally:
                future.cancel()
