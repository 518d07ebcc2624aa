# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True
"""Compiled twin of ``strategy_ref.fight`` (and its ``damage``): the same battle, die for die.

Read the reference for the rules.  Each side is copied into fixed C arrays (at most
MAXF fleets a side); the ships to hit are ordered once per damage step by (defence,
fleet id, class) with an insertion sort, as the reference's ``sorted`` orders them.
"""
from libc.stdint cimport uint64_t

from . import strategy_rules as rules

cdef enum:
    MAXF = 128
    MAXC = 16

cdef uint64_t GOLDEN = 0x9E3779B97F4A7C15ULL
cdef int NCLASS = len(rules.SHIPS)
cdef int ATTACK[MAXC]
cdef int DEFENCE[MAXC]
cdef int EFFECT[10]
cdef int RETREAT[11]
cdef int ROUNDS = rules.COMBAT_ROUNDS_MAX
cdef int STEP = rules.WEAPONS_STEP_PERCENT

for _i, _ship in enumerate(rules.SHIPS):
    ATTACK[_i] = _ship.attack
    DEFENCE[_i] = _ship.defence
for _i, _value in enumerate(rules.EFFECTIVENESS):
    EFFECT[_i] = _value
for _i, _value in enumerate(rules.RETREAT_AT):
    RETREAT[_i] = _value


cdef struct Side:
    int n
    long long fid[MAXF]
    int weapons[MAXF]
    int roe[MAXF]
    int ships[MAXF][MAXC]
    int crippled[MAXF][MAXC]


cdef inline uint64_t _splitmix64(uint64_t seed, uint64_t counter) noexcept nogil:
    cdef uint64_t z = seed + (counter + 1) * GOLDEN
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL
    return z ^ (z >> 31)


cdef inline int _die(uint64_t seed, uint64_t* counter, int sides) noexcept nogil:
    cdef uint64_t n = <uint64_t>sides
    cdef uint64_t rem = (0xFFFFFFFFFFFFFFFFULL % n + 1) % n
    cdef uint64_t limit = 0 - rem
    cdef uint64_t value
    while True:
        value = _splitmix64(seed, counter[0])
        counter[0] += 1
        if rem == 0 or value < limit:
            return <int>(value % n) + 1


cdef long long _power(Side* s) noexcept nogil:
    cdef long long total, all_ = 0
    cdef int f, c
    for f in range(s.n):
        total = 0
        for c in range(NCLASS):
            total += (s.ships[f][c] - s.crippled[f][c]) * ATTACK[c] * 2 + s.crippled[f][c] * ATTACK[c]
        all_ += total * (100 + (s.weapons[f] - 1) * STEP) // 200  # floor division: non-negative here
    return all_


cdef void _damage(Side* s, long long hits) noexcept nogil:
    cdef int order_f[MAXF * MAXC]
    cdef int order_c[MAXF * MAXC]
    cdef int n = 0, f, c, k, j, kf, kc
    for f in range(s.n):
        for c in range(NCLASS):
            if s.ships[f][c]:
                # insertion by (defence, fid, class)
                j = n - 1
                while j >= 0 and (DEFENCE[order_c[j]] > DEFENCE[c] or (DEFENCE[order_c[j]] == DEFENCE[c] and (
                        s.fid[order_f[j]] > s.fid[f] or (s.fid[order_f[j]] == s.fid[f] and order_c[j] > c)))):
                    order_f[j + 1] = order_f[j]
                    order_c[j + 1] = order_c[j]
                    j -= 1
                order_f[j + 1] = f
                order_c[j + 1] = c
                n += 1
    for k in range(n):
        kf = order_f[k]
        kc = order_c[k]
        while s.ships[kf][kc] - s.crippled[kf][kc] > 0 and hits >= DEFENCE[kc]:
            s.crippled[kf][kc] += 1
            hits -= DEFENCE[kc]
    for f in range(s.n):
        for c in range(NCLASS):
            if s.ships[f][c] != s.crippled[f][c]:
                return
    for k in range(n):
        kf = order_f[k]
        kc = order_c[k]
        while s.crippled[kf][kc] > 0 and hits >= DEFENCE[kc]:
            s.crippled[kf][kc] -= 1
            s.ships[kf][kc] -= 1
            hits -= DEFENCE[kc]


cdef void _drop_empty(Side* s) noexcept nogil:
    cdef int f, c, kept = 0, size
    for f in range(s.n):
        size = 0
        for c in range(NCLASS):
            size += s.ships[f][c]
        if size > 0:
            if kept != f:
                s.fid[kept] = s.fid[f]
                s.weapons[kept] = s.weapons[f]
                s.roe[kept] = s.roe[f]
                for c in range(NCLASS):
                    s.ships[kept][c] = s.ships[f][c]
                    s.crippled[kept][c] = s.crippled[f][c]
            kept += 1
    s.n = kept


cdef int _fill(Side* s, side) except -1:
    if len(side) > MAXF:
        raise ValueError(f"at most {MAXF} fleets a side in one battle")
    s.n = len(side)
    for f, (fid, weapons, roe, ships, crippled) in enumerate(side):
        s.fid[f] = fid
        s.weapons[f] = weapons
        s.roe[f] = roe
        for c in range(NCLASS):
            s.ships[f][c] = ships[c]
            s.crippled[f][c] = crippled[c]
    return 0


cdef list _left(Side* s):
    return [(s.fid[f], [s.ships[f][c] for c in range(NCLASS)], [s.crippled[f][c] for c in range(NCLASS)])
            for f in range(s.n)]


def fight(side_a, side_b, seed, counter):
    """Same as ``strategy_ref.fight``."""
    cdef Side sides[2]
    _fill(&sides[0], side_a)
    _fill(&sides[1], side_b)
    cdef uint64_t s = <uint64_t>(seed & 0xFFFFFFFFFFFFFFFF)
    cdef uint64_t c = <uint64_t>counter
    cdef long long start[2]
    cdef long long hits[2]
    cdef int retreated[2]
    cdef int rounds = 0, h, f, roe
    start[0] = _power(&sides[0])
    start[1] = _power(&sides[1])
    retreated[0] = 0
    retreated[1] = 0
    with nogil:
        while rounds < ROUNDS and sides[0].n > 0 and sides[1].n > 0 and not retreated[0] and not retreated[1]:
            rounds += 1
            for h in range(2):
                hits[h] = _power(&sides[h]) * EFFECT[_die(s, &c, 10) - 1] // 100
            _damage(&sides[1], hits[0])
            _damage(&sides[0], hits[1])
            _drop_empty(&sides[0])
            _drop_empty(&sides[1])
            for h in range(2):
                roe = 0
                if sides[h].n > 0:
                    roe = sides[h].roe[0]
                    for f in range(1, sides[h].n):
                        if sides[h].roe[f] < roe:
                            roe = sides[h].roe[f]
                if sides[h].n > 0 and start[h] and _power(&sides[h]) * 100 < start[h] * RETREAT[roe]:
                    retreated[h] = 1
    return rounds, bool(retreated[0]), bool(retreated[1]), _left(&sides[0]), _left(&sides[1]), c
