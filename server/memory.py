"""Giving memory back to the system after a crowd leaves.

Python frees the objects of closed connections, but glibc's allocator keeps the pages they
lived on (in the middle of its heaps) for the process to reuse: after thousands of clients
disconnect at once, the RSS stays at its peak. :class:`Trimmer` watches the number of open
websockets and, once it has fallen by :data:`DROP` from the highest count since the last
trim, collects the garbage they left (a full collection: the server collects its oldest
generation rarely) and asks glibc to return its free pages (``malloc_trim(0)``, in a worker
thread: it walks the heap). Elsewhere than glibc it does nothing.

Python's own allocator (pymalloc, the default) gives back little this way: a 1 MiB arena
stays while one object in it lives (after 4,000 connections closed and a full collection,
it still held 137 arenas, 143 MB, with 36 MB of live blocks in them). On glibc's allocator (``PYTHONMALLOC=malloc everturn serve``) the
trim returns it: measured with 4,000 websockets (``everturn bench peers``' mass
disconnect), RSS 227 MB after they left on pymalloc, 108 MB on malloc (92 MB at rest). The
price, measured in the same bench: RTT p50 about 25 % higher and acked commands/s about
12 % lower, so pymalloc stays the default and docs/operations.md says when to switch.
"""
from __future__ import annotations

import ctypes
import ctypes.util
import gc
import logging
from collections.abc import Callable
from typing import Any, Literal

import trio

log = logging.getLogger("everturn.memory")

DROP = 500  # websockets closed since the peak before a trim is worth its walk over the heap


def _malloc_trim() -> Any:
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        trim = libc.malloc_trim
    except (OSError, AttributeError):  # not glibc
        return None
    trim.argtypes, trim.restype = [ctypes.c_size_t], ctypes.c_int
    return trim


class Trimmer:
    """``trim``: glibc's ``malloc_trim`` (the default; None where there is none)."""

    def __init__(self, drop: int = DROP, trim: Callable[[int], int] | None | Literal["libc"] = "libc") -> None:
        self.drop = drop
        self.peak = 0
        self.trims = 0
        self._trim = _malloc_trim() if trim == "libc" else trim

    async def observe(self, open_sockets: int) -> bool:
        """Note how many websockets are open; trim if enough closed since the peak. Whether it trimmed."""
        self.peak = max(self.peak, open_sockets)
        if self._trim is None or self.peak - open_sockets < self.drop:
            return False
        closed, self.peak = self.peak - open_sockets, open_sockets
        gc.collect()
        await trio.to_thread.run_sync(self._trim, 0)
        self.trims += 1
        log.info("returned free memory to the system after %d websockets closed", closed)
        return True
