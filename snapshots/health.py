"""The store's circuit breaker: is the disk taking writes, and if not, why and since when.

Closed (``fault is None``): writes go to RocksDB.  A write that fails trips it open with
the failure's class (``storage/full``, ``storage/read_only``, ``storage/io``); from then on
every write is refused at once, without touching the disk, until the recovery task
(``snapshots.recovery``) has seen the disk take a probe write and reopened RocksDB.
Reads never go through it: a degraded store still answers them.
"""
from __future__ import annotations

import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any, Callable

from .errors import CAUSES, StorageUnavailable, classify


@dataclass(frozen=True, slots=True)
class Fault:
    code: str            # storage/full, storage/read_only, storage/io
    cause: str           # what the OS or RocksDB said
    since: float         # wall-clock seconds
    applied: bool | None  # the write that met it: False never stored, None maybe stored


@dataclass
class StorageHealth:
    fault: Fault | None = None
    faults: Counter[str] = field(default_factory=Counter)  # by code, every trip
    refused: int = 0                   # writes refused while open
    recoveries: int = 0
    attempts: int = 0                  # failed recovery attempts of the current fault
    last_recovered: float | None = None
    next_attempt_at: float | None = None  # wall-clock seconds of the next recovery attempt
    last_attempt_error: str | None = None
    listener: Callable[[], None] | None = None  # called (from any thread) on every trip: the recovery task


    @property
    def degraded(self) -> bool:
        return self.fault is not None

    def trip(self, exc: BaseException, applied: bool | None) -> StorageUnavailable:
        """Record a failed write (keeping the first fault's time); the error to raise for it."""
        code, cause = classify(exc), str(exc)
        if self.fault is None or self.fault.code != code:
            since = time.time() if self.fault is None else self.fault.since
            self.fault = Fault(code, cause, since, applied)
        self.faults[code] += 1
        if self.listener is not None:
            self.listener()
        return StorageUnavailable(code, cause, applied, self._retry_after())

    def refusal(self) -> StorageUnavailable:
        """The error for a write refused while the breaker is open."""
        fault = self.fault
        assert fault is not None
        self.refused += 1
        return StorageUnavailable(fault.code, fault.cause, False, self._retry_after())

    def attempt_failed(self, error: str, next_attempt_at: float) -> None:
        self.attempts += 1
        self.last_attempt_error = error
        self.next_attempt_at = next_attempt_at

    def cleared(self) -> None:
        self.fault, self.attempts, self.next_attempt_at, self.last_attempt_error = None, 0, None, None
        self.recoveries += 1
        self.last_recovered = time.time()

    @property
    def next_attempt_in_s(self) -> float | None:
        """Seconds to the next recovery attempt, while degraded (None: healthy, or not scheduled yet)."""
        if self.fault is None or self.next_attempt_at is None:
            return None
        return round(max(0.0, self.next_attempt_at - time.time()), 1)

    def _retry_after(self) -> float:
        if self.next_attempt_at is None:
            return 1.0
        return max(1.0, self.next_attempt_at - time.time())

    def as_dict(self) -> dict[str, Any]:
        fault = self.fault
        return {
            "state": "degraded" if fault else "ok",
            "code": fault.code if fault else None,
            "what": CAUSES.get(fault.code) if fault else None,  # the fault in words
            "cause": fault.cause if fault else None,
            "since": fault.since if fault else None,
            "attempts": self.attempts,
            "next_attempt_in_s": self.next_attempt_in_s,
            "last_attempt_error": self.last_attempt_error,
            "faults": dict(self.faults),
            "refused": self.refused,
            "recoveries": self.recoveries,
            "last_recovered": self.last_recovered,
        }
