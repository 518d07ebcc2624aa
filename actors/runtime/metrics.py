"""Per-actor figures and the event-loop lag monitor."""
from __future__ import annotations

import time
from array import array
from dataclasses import dataclass, field

import trio

_WINDOW = 256  # handle times kept per actor for p50/p99


@dataclass(slots=True)
class ActorMetrics:
    """Counters kept by each active actor; cheap to record, computed on read."""

    handled: int = 0
    rejected: int = 0
    restarts: int = 0
    dead_letters: int = 0
    last_error: str | None = None
    state_bytes: int = 0
    _times: array | None = None
    _next: int = 0

    def record(self, seconds: float) -> None:
        times = self._times
        if times is None:
            times = self._times = array("d")
        if len(times) < _WINDOW:
            times.append(seconds)
        else:
            times[self._next] = seconds
            self._next = (self._next + 1) % _WINDOW
        self.handled += 1

    def percentile_ms(self, q: float) -> float | None:
        if not self._times:
            return None
        ordered = sorted(self._times)
        return ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000.0


@dataclass(slots=True)
class LagMonitor:
    """Measures how late the trio loop wakes a sleeper: a blocked loop shows up here."""

    interval: float = 0.5
    samples: list[float] = field(default_factory=list)
    max_ms: float = 0.0
    last_ms: float = 0.0

    async def run(self, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        task_status.started()
        while True:
            start = time.perf_counter()
            await trio.sleep(self.interval)
            lag = max(0.0, time.perf_counter() - start - self.interval) * 1000.0
            self.last_ms = lag
            self.max_ms = max(self.max_ms, lag)
            self.samples.append(lag)
            del self.samples[:-600]

    def p99_ms(self) -> float:
        if not self.samples:
            return 0.0
        ordered = sorted(self.samples)
        return ordered[min(len(ordered) - 1, int(0.99 * len(ordered)))]
