# cython: language_level=3
"""Compiled twin of ``dice_ref``: same numbers, uint64 arithmetic in C."""
from libc.stdint cimport uint64_t

cdef uint64_t GOLDEN = 0x9E3779B97F4A7C15ULL


cdef inline uint64_t _splitmix64(uint64_t seed, uint64_t counter) nogil:
    cdef uint64_t z = seed + (counter + 1) * GOLDEN
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL
    return z ^ (z >> 31)


LIMIT = 1 << 63


def splitmix64(seed, counter):
    if not 0 <= counter <= 0xFFFFFFFFFFFFFFFF:
        raise ValueError(f"stream position {counter} outside 0..2**64-1")
    return _splitmix64(<uint64_t>(seed & 0xFFFFFFFFFFFFFFFF), <uint64_t>counter)


def roll(seed, counter, count, sides):
    # Range checks on Python ints first, so both builds refuse exactly the same inputs.
    if not (1 <= sides < LIMIT and 0 <= count < LIMIT):
        raise ValueError(f"cannot roll {count}d{sides}")
    if not 0 <= counter < LIMIT:
        raise ValueError(f"dice counter {counter} outside 0..2**63-1")
    cdef uint64_t s = <uint64_t>(seed & 0xFFFFFFFFFFFFFFFF)
    cdef uint64_t n = <uint64_t>sides
    # 2**64 - (2**64 % n), computed without overflow; 0 means "every value is accepted"
    cdef uint64_t rem = (0xFFFFFFFFFFFFFFFFULL % n + 1) % n
    cdef uint64_t limit = 0 - rem
    cdef uint64_t value
    cdef uint64_t c = <uint64_t>counter
    out = []
    while len(out) < count:
        value = _splitmix64(s, c)
        c += 1
        if rem == 0 or value < limit:
            out.append(<long long>(value % n) + 1)
    return out
