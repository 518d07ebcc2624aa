"""Clocks: where the runtime's (and the game's) notion of *now* comes from.

``SystemClock`` is wall time; ``VirtualClock`` stands still until an operator advances
it (``everturn serve --clock virtual``); ``TrioClock`` follows trio's own clock, so tests
running under ``trio.testing.MockClock`` move game time by jumping trio time.  Times are
POSIX seconds (float); ``now_ms`` is what timers store.
"""
from __future__ import annotations

import math
import time
from datetime import datetime, timezone
from typing import Protocol

import trio


class Clock(Protocol):
    def now(self) -> float:
        """Current time, POSIX seconds."""

    async def sleep_until(self, when: float) -> None:
        """Return once ``now() >= when``; cancellable."""


def now_ms(clock: Clock) -> int:
    return to_ms(clock.now())


def to_ms(seconds: float) -> int:
    """Whole milliseconds of a clock reading (what timers are stored by)."""
    return math.floor(seconds * 1000)


def from_ms(ms: int) -> float:
    """The clock reading (seconds) whose :func:`to_ms` is exactly ``ms``."""
    seconds = ms / 1000
    while to_ms(seconds) < ms:  # a float just under the millisecond: step up to it
        seconds = math.nextafter(seconds, math.inf)
    return seconds


def to_datetime(seconds: float) -> datetime:
    return datetime.fromtimestamp(seconds, tz=timezone.utc)


class SystemClock:
    """Wall-clock time.  Long sleeps re-check so wall-clock steps are honoured."""

    def now(self) -> float:
        return time.time()

    async def sleep_until(self, when: float) -> None:
        while (left := when - time.time()) > 0:
            await trio.sleep(min(left, 30.0))
        await trio.lowlevel.checkpoint()


class TrioClock:
    """Game time = ``epoch`` + trio's clock: under MockClock, time jumps instead of passing."""

    def __init__(self, epoch: float = 1_767_225_600.0) -> None:  # 2026-01-01T00:00:00Z
        self.epoch = epoch - trio.current_time()

    def now(self) -> float:
        return self.epoch + trio.current_time()

    async def sleep_until(self, when: float) -> None:
        await trio.sleep_until(when - self.epoch)


class VirtualClock:
    """A clock that moves only when :meth:`advance` or :meth:`set` is called."""

    def __init__(self, start: float = 1_767_225_600.0) -> None:
        self._now = start
        self._moved = trio.lowlevel.ParkingLot()

    def now(self) -> float:
        return self._now

    def advance(self, seconds: float) -> float:
        """Move time forward by ``seconds`` (>= 0) and wake every sleeper that is due."""
        if not seconds >= 0:
            raise ValueError(f"a virtual clock only moves forward (got {seconds} s)")
        return self.set(self._now + seconds)

    def set(self, when: float) -> float:
        if when < self._now:
            raise ValueError("a virtual clock only moves forward")
        self._now = when
        self._moved.unpark_all()
        return self._now

    async def sleep_until(self, when: float) -> None:
        while self._now < when:
            await self._moved.park()
        await trio.lowlevel.checkpoint()
