"""Reference dice: a counter-based, seedable generator (SplitMix64) and dice rolls.

The rules engines take their randomness from here so that a roll is a pure function of
(seed, counter): replaying a journal reproduces every roll, and the Cython build must
produce the very same numbers (``tests/engine_ext``).  Integer arithmetic only.
"""
from __future__ import annotations

MASK = (1 << 64) - 1
GOLDEN = 0x9E3779B97F4A7C15
LIMIT = 1 << 63  # counters, counts and sides stay below this (C's signed 64-bit range)


def _check(counter: int, count: int, sides: int) -> None:
    if not (1 <= sides < LIMIT and 0 <= count < LIMIT):
        raise ValueError(f"cannot roll {count}d{sides}")
    if not 0 <= counter < LIMIT:
        raise ValueError(f"dice counter {counter} outside 0..2**63-1")


def splitmix64(seed: int, counter: int) -> int:
    """The ``counter``-th (0..2**64-1) 64-bit output of SplitMix64 started at ``seed`` (any int; masked)."""
    if not 0 <= counter <= MASK:
        raise ValueError(f"stream position {counter} outside 0..2**64-1")
    z = (seed + (counter + 1) * GOLDEN) & MASK
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & MASK
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & MASK
    return z ^ (z >> 31)


def roll(seed: int, counter: int, count: int, sides: int) -> list[int]:
    """Roll ``count`` dice of ``sides`` faces using outputs ``counter``.. of the stream.

    Uses rejection sampling, so each face is exactly equally likely; returns the faces.
    ``counter``, ``count`` and ``sides`` must lie in 0..2**63-1 (sides >= 1): ValueError.
    """
    _check(counter, count, sides)
    seed &= MASK
    limit = (1 << 64) - ((1 << 64) % sides)
    out: list[int] = []
    while len(out) < count:
        value = splitmix64(seed, counter)
        counter = (counter + 1) & MASK  # the stream position wraps like C's uint64
        if value < limit:
            out.append(value % sides + 1)
    return out


class Stream:
    """The dice stream at a position: one die per ``die`` call, each as ``roll`` rolls it (the
    position moves past every output read, rejected ones too)."""

    __slots__ = ("seed", "counter")

    def __init__(self, seed: int, counter: int) -> None:
        self.seed = seed & MASK
        self.counter = counter

    def die(self, sides: int) -> int:
        limit = (1 << 64) - ((1 << 64) % sides)
        while True:
            value = splitmix64(self.seed, self.counter)
            self.counter = (self.counter + 1) & MASK
            if value < limit:
                return value % sides + 1
