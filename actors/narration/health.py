"""When the narrator may be asked: failures open a pause window that grows exponentially.

Pure bookkeeping over times the caller passes in (the trio clock in the service, numbers
in tests).  A success closes the window and forgets the failures; while paused, the
campaigns' templates serve; an operator may resume (or pause) by hand.

    closed --failure--> paused(base) --failure after it--> paused(2 x base) ... (cap)
       ^                    |
       +----success---------+          resume(): closed, failures forgotten

A worker process that crashes (``worker_crashed``) opens it too, from the second crash in a
row on: one crash costs one request (the process is restarted at once), a crashing model
keeps the templates serving while it is looked into.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

FAILURES = ("timeout", "error")  # outcomes that open the window; a rejected text is the model's style, not its health
CRASHES = 2  # worker crashes in a row (no narration in between) that open the window


@dataclass
class Health:
    base_s: float = 30.0  # the first pause
    cap_s: float = 3600.0  # the longest
    failures: int = 0  # consecutive, since the last success or resume
    crashes: int = 0  # worker crashes in a row, likewise
    paused_until: float | None = None
    paused_by: str | None = None  # "failures" or "operator"
    last_failure: str | None = None
    last_failure_at: float | None = None

    def paused(self, now: float) -> bool:
        return self.paused_until is not None and now < self.paused_until

    def window_s(self) -> float:
        """The pause the next failure opens."""
        return min(self.cap_s, self.base_s * 2 ** self.failures)

    def record(self, outcome: str, now: float, detail: str | None = None) -> None:
        """One call's outcome (``narrated``, ``rejected``, ``timeout``, ``error``...)."""
        if outcome == "narrated":
            self.failures, self.crashes, self.paused_until, self.paused_by = 0, 0, None, None
        elif outcome == "worker_crashed":
            self.crashes += 1
            self.last_failure, self.last_failure_at = detail or outcome, now
            if self.crashes >= CRASHES:
                self.paused_until, self.paused_by = now + self.window_s(), "failures"
                self.failures += 1
        elif outcome in FAILURES:
            self.paused_until, self.paused_by = now + self.window_s(), "failures"
            self.failures += 1
            self.last_failure, self.last_failure_at = detail or outcome, now

    def pause(self, now: float, seconds: float) -> None:
        self.paused_until, self.paused_by = now + seconds, "operator"

    def resume(self) -> None:
        self.failures, self.crashes, self.paused_until, self.paused_by = 0, 0, None, None

    def as_dict(self, now: float) -> dict[str, Any]:
        paused = self.paused(now)
        return {"state": "paused" if paused else "ready", "paused_by": self.paused_by if paused else None,
                "paused_for_s": round(self.paused_until - now, 3) if paused and self.paused_until else 0.0,
                "consecutive_failures": self.failures, "consecutive_crashes": self.crashes,
                "next_pause_s": self.window_s(),
                "last_failure": self.last_failure,
                "last_failure_ago_s": None if self.last_failure_at is None else round(now - self.last_failure_at, 3)}
