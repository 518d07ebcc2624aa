# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True
"""Compiled twin of ``combat_ref``: the same fights, die for die, in C structs and ints.

Read ``combat_ref`` for the rules; this file only mirrors it.  The roster is copied once
into fixed C arrays (at most 32 fighters, 4 strikes of 4 dice terms each) so the fight
loop never touches a Python object.
"""
from libc.stdint cimport uint64_t

from .combat_ref import check_roster

cdef enum:
    MAXF = 32
    MAXS = 4
    MAXT = 4
    DEATH = 4

cdef uint64_t GOLDEN = 0x9E3779B97F4A7C15ULL


cdef struct CStrike:
    int attack
    int flat
    int agile
    int nterms
    int count[MAXT]
    int sides[MAXT]


cdef struct CFighter:
    int side
    int hp
    int ac
    int perception
    int nstrikes
    int shield
    int cowardly
    int character
    CStrike strikes[MAXS]


cdef struct Stream:
    uint64_t seed
    uint64_t counter


cdef inline uint64_t _splitmix64(uint64_t seed, uint64_t counter) noexcept nogil:
    cdef uint64_t z = seed + (counter + 1) * GOLDEN
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL
    return z ^ (z >> 31)


cdef inline int _die(Stream* s, int sides) noexcept nogil:
    cdef uint64_t n = <uint64_t>sides
    cdef uint64_t rem = (0xFFFFFFFFFFFFFFFFULL % n + 1) % n   # 2**64 % n without overflow
    cdef uint64_t limit = 0 - rem
    cdef uint64_t value
    while True:
        value = _splitmix64(s.seed, s.counter)
        s.counter += 1
        if rem == 0 or value < limit:
            return <int>(value % n) + 1


cdef inline int _degree(int total, int dc, int natural) noexcept nogil:
    cdef int result
    if total >= dc + 10:
        result = 3
    elif total >= dc:
        result = 2
    elif total <= dc - 10:
        result = 0
    else:
        result = 1
    if natural == 20 and result < 3:
        result += 1
    elif natural == 1 and result > 0:
        result -= 1
    return result


cdef inline int _map(int attacks, int agile) noexcept nogil:
    if attacks <= 0:
        return 0
    if attacks == 1:
        return -4 if agile else -5
    return -8 if agile else -10


cdef int RECOVERY[4]
RECOVERY[0] = 2
RECOVERY[1] = 1
RECOVERY[2] = -1
RECOVERY[3] = -2


cdef struct Fight:
    int hp[MAXF]
    int dying[MAXF]
    int wounded[MAXF]
    int dead[MAXF]
    int fled[MAXF]
    int raised[MAXF]
    int knocked[MAXF]


cdef inline int _standing(Fight* f, int i) noexcept nogil:
    return not f.dead[i] and not f.fled[i] and f.hp[i] > 0


cdef inline int _side_standing(Fight* f, CFighter* roster, int n, int side) noexcept nogil:
    cdef int i
    for i in range(n):
        if roster[i].side == side and _standing(f, i):
            return 1
    return 0


cdef inline void _hurt(Fight* f, CFighter* roster, int target, int damage, int critical) noexcept nogil:
    if f.hp[target] == 0:
        f.dying[target] += 2 if critical else 1
    else:
        f.hp[target] = f.hp[target] - damage if f.hp[target] > damage else 0
        if f.hp[target] == 0:
            if roster[target].character:
                f.knocked[target] = 1
                f.dying[target] = (2 if critical else 1) + f.wounded[target]
            else:
                f.dead[target] = 1
    if roster[target].character and f.dying[target] >= DEATH:
        f.dead[target] = 1


cdef void _fight(CFighter* roster, int n, Stream* s, int max_rounds, int* out) noexcept nogil:
    cdef Fight f
    cdef int initiative[MAXF]
    cdef int order[MAXF]
    cdef int i, j, k, key, rounds, over, actions, attacks, target, least, face, total, result, damage, t, d, won
    cdef int ok, ko, dd
    cdef CStrike* chosen
    for i in range(n):
        f.hp[i] = roster[i].hp
        f.dying[i] = 0
        f.wounded[i] = 0
        f.dead[i] = 0
        f.fled[i] = 0
        f.raised[i] = 0
        f.knocked[i] = 0
        initiative[i] = _die(s, 20) + roster[i].perception
    # insertion sort by (-initiative, creatures first, index): stable, so the index breaks the last tie
    for i in range(n):
        key = i
        j = i - 1
        while j >= 0 and (initiative[order[j]] < initiative[key] or (
                initiative[order[j]] == initiative[key] and roster[order[j]].side != 1 and roster[key].side == 1)):
            order[j + 1] = order[j]
            j -= 1
        order[j + 1] = key
    rounds = 0
    over = 0
    while rounds < max_rounds and not over:
        rounds += 1
        for k in range(n):
            i = order[k]
            if f.dead[i] or f.fled[i]:
                continue
            f.raised[i] = 0
            if f.hp[i] == 0:
                if f.dying[i] > 0:
                    face = _die(s, 20)
                    f.dying[i] += RECOVERY[_degree(face, 10 + f.dying[i], face)]
                    if f.dying[i] < 0:
                        f.dying[i] = 0
                    if f.dying[i] == 0:
                        f.wounded[i] += 1
                    elif f.dying[i] >= DEATH:
                        f.dead[i] = 1
                continue
            if roster[i].cowardly and f.hp[i] * 4 <= roster[i].hp:
                f.fled[i] = 1
                if not _side_standing(&f, roster, n, roster[i].side):
                    over = 1
                    break
                continue
            actions = 3
            attacks = 0
            while actions > 0 and roster[i].nstrikes > 0:
                target = -1
                least = 0
                for j in range(n):
                    if roster[j].side != roster[i].side and _standing(&f, j) and (target < 0 or f.hp[j] < least):
                        target = j
                        least = f.hp[j]
                if target < 0:
                    break
                if actions == 1 and roster[i].shield and attacks >= 2:
                    f.raised[i] = 1
                    actions -= 1
                    continue
                chosen = &roster[i].strikes[0]
                if attacks > 0:
                    for j in range(roster[i].nstrikes):
                        if roster[i].strikes[j].agile:
                            chosen = &roster[i].strikes[j]
                            break
                face = _die(s, 20)
                total = face + chosen.attack + _map(attacks, chosen.agile)
                result = _degree(total, roster[target].ac + (2 if f.raised[target] else 0), face)
                if result >= 2:
                    damage = chosen.flat
                    for t in range(chosen.nterms):
                        for d in range(chosen.count[t]):
                            damage += _die(s, chosen.sides[t])
                    if damage < 1:
                        damage = 1
                    if result == 3:
                        damage *= 2
                    _hurt(&f, roster, target, damage, result == 3)
                attacks += 1
                actions -= 1
                if not _side_standing(&f, roster, n, roster[target].side):
                    over = 1
                    break
            if over:
                break
        if not _side_standing(&f, roster, n, 0) or not _side_standing(&f, roster, n, 1):
            over = 1
    won = 1 if _side_standing(&f, roster, n, 0) and not _side_standing(&f, roster, n, 1) else 0
    ko = 0
    dd = 0
    for i in range(n):
        if roster[i].character:
            ko += f.knocked[i]
            dd += f.dead[i]
    out[0] = won
    out[1] = rounds
    out[2] = ko
    out[3] = dd


def simulate(fighters, long long fights, seed, int max_rounds=20):
    """Same as ``combat_ref.simulate``."""
    check_roster(fighters)
    cdef CFighter roster[MAXF]
    cdef int n = len(fighters), i, j, t
    for i, fighter in enumerate(fighters):
        roster[i].side = fighter.side
        roster[i].hp = fighter.hp
        roster[i].ac = fighter.ac
        roster[i].perception = fighter.perception
        roster[i].nstrikes = len(fighter.strikes)
        roster[i].shield = fighter.shield
        roster[i].cowardly = fighter.cowardly
        roster[i].character = fighter.character
        for j, strike in enumerate(fighter.strikes):
            roster[i].strikes[j].attack = strike.attack
            roster[i].strikes[j].flat = strike.flat
            roster[i].strikes[j].agile = strike.agile
            roster[i].strikes[j].nterms = len(strike.terms)
            for t, (count, sides) in enumerate(strike.terms):
                roster[i].strikes[j].count[t] = count
                roster[i].strikes[j].sides[t] = sides
    cdef Stream s
    s.seed = <uint64_t>(seed & 0xFFFFFFFFFFFFFFFF)
    s.counter = 0
    cdef long long sums[7]
    cdef int out[4]
    cdef long long m
    for t in range(7):
        sums[t] = 0
    with nogil:
        for m in range(fights):
            _fight(roster, n, &s, max_rounds, out)
            sums[0] += out[0]
            sums[1] += out[1]
            sums[2] += <long long>out[1] * out[1]
            sums[3] += out[2]
            sums[4] += <long long>out[2] * out[2]
            sums[5] += out[3]
            sums[6] += <long long>out[3] * out[3]
    return tuple(sums[t] for t in range(7))
