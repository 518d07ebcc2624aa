"""Rate limits on trio's clock: per-token request budgets, and throttling of failed authentications.

Both are token buckets read from ``trio.current_time()``, so a test's ``MockClock`` (or the
server's virtual clock, when it drives trio's) moves them.
"""
from __future__ import annotations

from dataclasses import dataclass

import trio


@dataclass(slots=True)
class _Bucket:
    tokens: float
    updated: float


class RateLimiter:
    """``rate`` requests per second sustained, bursts up to ``burst``."""

    def __init__(self, rate: float = 50.0, burst: float = 100.0, max_keys: int = 100_000) -> None:
        self.rate = rate
        self.burst = burst
        self.max_keys = max_keys  # past this many, buckets back at full are forgotten (they hold nothing)
        self._buckets: dict[str, _Bucket] = {}

    def take(self, who: str, cost: float = 1.0) -> float | None:
        """Spend ``cost`` requests for ``who``; None if allowed, else seconds until it is."""
        bucket = self._refilled(who)
        if bucket.tokens >= cost:
            bucket.tokens -= cost
            return None
        return (cost - bucket.tokens) / self.rate

    def wait(self, who: str) -> float | None:
        """Seconds until ``who`` may spend one (None: now), spending nothing."""
        bucket = self._buckets.get(who)
        if bucket is None:
            return None
        bucket = self._refilled(who)
        return None if bucket.tokens >= 1 else (1 - bucket.tokens) / self.rate

    def _refilled(self, who: str) -> _Bucket:
        now = trio.current_time()
        bucket = self._buckets.get(who)
        if bucket is None:
            if len(self._buckets) >= self.max_keys:
                self._forget_full(now)
            bucket = self._buckets[who] = _Bucket(self.burst, now)
        bucket.tokens = min(self.burst, bucket.tokens + (now - bucket.updated) * self.rate)
        bucket.updated = now
        return bucket

    def _forget_full(self, now: float) -> None:
        full = [who for who, b in self._buckets.items() if b.tokens + (now - b.updated) * self.rate >= self.burst]
        for who in full:
            del self._buckets[who]


class AuthThrottle:
    """Failed authentications, limited per client address and per token id.

    Each failure spends one from the address's bucket and, when the token id names a real
    token, from that token's bucket (ids nobody holds get no bucket, so guessing ids
    cannot grow the table).  While either is empty every attempt from that address or for
    that token is refused before its secret is checked, so a right guess during the
    lock-out gains nothing.  Defaults: 10 failures at once, then one per 6 s, each way.
    """

    def __init__(self, burst: float = 10.0, per_s: float = 6.0) -> None:
        self.by_address = RateLimiter(1 / per_s, burst)
        self.by_token = RateLimiter(1 / per_s, burst)

    def locked(self, address: str, token_id: str | None) -> tuple[str, float] | None:
        """``(what, seconds)`` while ``address`` or ``token_id`` is throttled, else None."""
        wait = self.by_address.wait(address)
        if wait is not None:
            return "address", wait
        if token_id is not None and (wait := self.by_token.wait(token_id)) is not None:
            return "token", wait
        return None

    def failed(self, address: str, token_id: str | None) -> None:
        """Count one failed attempt (``token_id``: only when it names a real token)."""
        self.by_address.take(address)
        if token_id is not None:
            self.by_token.take(token_id)
