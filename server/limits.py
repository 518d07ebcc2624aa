"""Per-token rate limits: a token bucket each, on trio's clock."""
from __future__ import annotations

from dataclasses import dataclass

import trio


@dataclass(slots=True)
class _Bucket:
    tokens: float
    updated: float


class RateLimiter:
    """``rate`` requests per second sustained, bursts up to ``burst``."""

    def __init__(self, rate: float = 50.0, burst: float = 100.0) -> None:
        self.rate = rate
        self.burst = burst
        self._buckets: dict[str, _Bucket] = {}

    def take(self, who: str) -> float | None:
        """Spend one request for ``who``; None if allowed, else seconds until one is."""
        now = trio.current_time()
        bucket = self._buckets.get(who)
        if bucket is None:
            bucket = self._buckets[who] = _Bucket(self.burst, now)
        bucket.tokens = min(self.burst, bucket.tokens + (now - bucket.updated) * self.rate)
        bucket.updated = now
        if bucket.tokens >= 1:
            bucket.tokens -= 1
            return None
        return (1 - bucket.tokens) / self.rate
