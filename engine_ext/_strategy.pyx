# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True, initializedcheck=False
"""Compiled twin of the strategy turn: ``strategy_ref.settle`` (and ``fight``) on flat arrays.

Read the reference for the rules; this file follows it phase by phase, in the same order,
die for die.  The state is the ``strategy_flat`` layout (typed memory views over
``array('q')`` buffers, changed in place); the map's routes are filled lazily into the
``strategy_flat.Routes`` table with the reference's Dijkstra and tie-breaking.

Integer division: the rules only ever divide non-negative numbers, except ``tax_prestige``
(written to floor like Python) -- C's truncation and Python's floor agree on them.
"""
from cpython cimport array
from libc.stdint cimport uint64_t
from libc.stdlib cimport free, malloc

import array

from . import strategy_flat as flat
from . import strategy_orders as orders_
from . import strategy_rules as rules
from .strategy_state import Colony, Fleet, Game, House

cdef array.array _LONGS = array.array("q")

cdef enum:
    MAXC = 16

cdef uint64_t GOLDEN = 0x9E3779B97F4A7C15ULL
cdef int NCLASS = len(rules.SHIPS)
cdef int NFIELDS = len(rules.FIELDS)
cdef long long COST[MAXC]
cdef long long ATTACK[MAXC]
cdef long long DEFENCE[MAXC]
cdef long long UPKEEP[MAXC]
cdef long long EFFECT[10]
cdef long long RETREAT[11]
cdef long long LEVEL_COST[16]
cdef long long POPULATION_CAP[16]
cdef long long RESOURCE_PERCENT[16]
cdef int ROUNDS = rules.COMBAT_ROUNDS_MAX
cdef long long STEP = rules.WEAPONS_STEP_PERCENT
cdef int ENEMY = rules.ENEMY
cdef int MAX_LEVEL = rules.MAX_LEVEL
cdef int WEAPONS = rules.FIELDS.index("weapons")
cdef int CONSTRUCTION = rules.FIELDS.index("construction")
cdef int COLONY_SHIP = rules.SHIP_INDEX["colony_ship"]
cdef int TRANSPORT = rules.SHIP_INDEX["transport"]
cdef long long PRESTIGE_COLONY = rules.PRESTIGE["colony"]
cdef long long PRESTIGE_TECH = rules.PRESTIGE["tech"]
cdef long long PRESTIGE_BATTLE = rules.PRESTIGE["battle_won"]
cdef long long PRESTIGE_CAPTURE = rules.PRESTIGE["capture"]
cdef long long MARINE_ATTACK = rules.MARINE_ATTACK
cdef long long ARMY_DEFENCE = rules.ARMY_DEFENCE
cdef long long ARMY_COST = rules.ARMY_COST
cdef long long STARBASE_DEFENCE = rules.STARBASE.defence
cdef long long STARBASE_COST = rules.STARBASE.cost
cdef long long SHIPYARD_COST = rules.SHIPYARD_COST
cdef long long DOCKS_PER_SHIPYARD = rules.DOCKS_PER_SHIPYARD
cdef long long COLONY_START_POPULATION = rules.COLONY_START_POPULATION
cdef long long INDUSTRY_PERCENT_PER_LEVEL = rules.INDUSTRY_PERCENT_PER_LEVEL
cdef long long BLOCKADE_OUTPUT_PERCENT = rules.BLOCKADE_OUTPUT_PERCENT
cdef long long BLOCKADE_PRESTIGE = rules.BLOCKADE_PRESTIGE
cdef long long LOW_TAX = rules.LOW_TAX
cdef long long HIGH_TAX = rules.HIGH_TAX
cdef long long MOVEMENT_POINTS = 2
cdef long long LANE_COST[3]

for _i, _ship in enumerate(rules.SHIPS):
    COST[_i], ATTACK[_i], DEFENCE[_i], UPKEEP[_i] = _ship.cost, _ship.attack, _ship.defence, _ship.upkeep
for _i, _value in enumerate(rules.EFFECTIVENESS):
    EFFECT[_i] = _value
for _i, _value in enumerate(rules.RETREAT_AT):
    RETREAT[_i] = _value
for _i, _value in enumerate(rules.LEVEL_COST):
    LEVEL_COST[_i] = _value
for _i, _value in enumerate(rules.POPULATION_CAP):
    POPULATION_CAP[_i] = _value
for _i, _value in enumerate(rules.RESOURCE_PERCENT):
    RESOURCE_PERCENT[_i] = _value
from .galaxy import LANE_COST as _LANE_COST
for _i, _value in enumerate(_LANE_COST):
    LANE_COST[_i] = _value
assert NCLASS <= MAXC and len(rules.LEVEL_COST) <= 16 and len(rules.POPULATION_CAP) <= 16

# the flat layout (strategy_flat)
cdef int M_TURN = flat.M_TURN, M_NEXT_FLEET = flat.M_NEXT_FLEET, M_DICE = flat.M_DICE, M_FLEETS = flat.M_FLEETS
cdef int M_MINTED = flat.M_MINTED, M_WINNER = flat.M_WINNER, M_EVENTS = flat.M_EVENTS
cdef int M_TURN_LIMIT = flat.M_TURN_LIMIT
cdef int HW = flat.HOUSE_WIDTH, H_TREASURY = flat.H_TREASURY, H_PRESTIGE = flat.H_PRESTIGE, H_TAX = flat.H_TAX
cdef int H_ALIVE = flat.H_ALIVE, H_TECH = flat.H_TECH, H_RESEARCH = flat.H_RESEARCH
cdef int CW = flat.COLONY_WIDTH, C_OWNER = flat.C_OWNER, C_POPULATION = flat.C_POPULATION
cdef int C_INDUSTRY = flat.C_INDUSTRY, C_DOCKS = flat.C_DOCKS, C_STARBASES = flat.C_STARBASES
cdef int C_ARMIES = flat.C_ARMIES, C_BLOCKADED = flat.C_BLOCKADED
cdef int FW = flat.FLEET_WIDTH, F_FID = flat.F_FID, F_OWNER = flat.F_OWNER, F_SYSTEM = flat.F_SYSTEM
cdef int F_ROE = flat.F_ROE, F_WEAPONS = flat.F_WEAPONS, F_SHIPS = flat.F_SHIPS, F_CRIPPLED = flat.F_CRIPPLED
cdef int OW = flat.ORDER_WIDTH, O_HOUSE = flat.O_HOUSE, O_KIND = flat.O_KIND, O_FLEET = flat.O_FLEET
cdef int O_SYSTEM = flat.O_SYSTEM, O_SHIP = flat.O_SHIP, O_COUNT = flat.O_COUNT, O_FIELD = flat.O_FIELD
cdef int O_AMOUNT = flat.O_AMOUNT, O_TARGET = flat.O_TARGET, O_STANCE = flat.O_STANCE
cdef int BUILD_SHIPYARD = flat.BUILD_SHIPYARD, BUILD_ARMY = flat.BUILD_ARMY, BUILD_STARBASE = flat.BUILD_STARBASE
cdef int EW = flat.EVENT_WIDTH, E_BATTLE = flat.E_BATTLE, E_COLONIZED = flat.E_COLONIZED
cdef int E_CAPTURED = flat.E_CAPTURED, E_ELIMINATED = flat.E_ELIMINATED
cdef int K_HOLD = orders_.KINDS.index("hold"), K_COLONIZE = orders_.KINDS.index("colonize")
cdef int K_BLOCKADE = orders_.KINDS.index("blockade"), K_BOMBARD = orders_.KINDS.index("bombard")
cdef int K_INVADE = orders_.KINDS.index("invade"), K_SET_TAX = orders_.KINDS.index("set_tax")
cdef int K_DIPLOMACY = orders_.KINDS.index("diplomacy"), K_RESEARCH = orders_.KINDS.index("research")
cdef int K_BUILD = orders_.KINDS.index("build")
cdef int N_FLEET_ORDERS = len(orders_.FLEET_ORDERS)
assert orders_.KINDS[:N_FLEET_ORDERS] == orders_.FLEET_ORDERS


# -- dice ------------------------------------------------------------------------------------

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


# -- battles: one side is a set of fleets -------------------------------------------------------

cdef struct Side:
    int n
    int cap
    long long* fid
    long long* weapons
    long long* roe
    long long* ships        # [fleet * MAXC + class]
    long long* crippled
    int* order_f            # damage's scratch: ships to hit, in order
    int* order_c


cdef int _side_alloc(Side* s, int cap) except -1:
    """Room for ``cap`` fleets, in one block (``_side_free`` frees it)."""
    cap = max(cap, 1)
    cdef char* block = <char*>malloc(cap * (3 + 2 * MAXC) * sizeof(long long) + cap * 2 * MAXC * sizeof(int))
    if not block:
        raise MemoryError()
    s.n, s.cap = 0, cap
    s.fid = <long long*>block
    s.weapons = s.fid + cap
    s.roe = s.weapons + cap
    s.ships = s.roe + cap
    s.crippled = s.ships + cap * MAXC
    s.order_f = <int*>(s.crippled + cap * MAXC)
    s.order_c = s.order_f + cap * MAXC
    return 0


cdef void _side_free(Side* s) noexcept:
    free(s.fid)
    s.fid = NULL


cdef inline long long _strength(long long weapons, long long* ships, long long* crippled) noexcept nogil:
    cdef long long total = 0
    cdef int c
    for c in range(NCLASS):
        total += (ships[c] - crippled[c]) * ATTACK[c] * 2 + crippled[c] * ATTACK[c]
    return total * (100 + (weapons - 1) * STEP) // 200


cdef long long _power(Side* s) noexcept nogil:
    cdef long long all_ = 0
    cdef int f
    for f in range(s.n):
        all_ += _strength(s.weapons[f], &s.ships[f * MAXC], &s.crippled[f * MAXC])
    return all_


cdef void _damage(Side* s, long long hits) noexcept nogil:
    cdef int n = 0, f, c, k, j, kf, kc
    cdef int* order_f = s.order_f
    cdef int* order_c = s.order_c
    for f in range(s.n):
        for c in range(NCLASS):
            if s.ships[f * MAXC + c]:
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
        kf, kc = order_f[k] * MAXC, order_c[k]
        while s.ships[kf + kc] - s.crippled[kf + kc] > 0 and hits >= DEFENCE[kc]:
            s.crippled[kf + kc] += 1
            hits -= DEFENCE[kc]
    for f in range(s.n):
        for c in range(NCLASS):
            if s.ships[f * MAXC + c] != s.crippled[f * MAXC + c]:
                return
    for k in range(n):
        kf, kc = order_f[k] * MAXC, order_c[k]
        while s.crippled[kf + kc] > 0 and hits >= DEFENCE[kc]:
            s.crippled[kf + kc] -= 1
            s.ships[kf + kc] -= 1
            hits -= DEFENCE[kc]


cdef void _drop_empty(Side* s) noexcept nogil:
    cdef int f, c, kept = 0
    cdef long long size
    for f in range(s.n):
        size = 0
        for c in range(NCLASS):
            size += s.ships[f * MAXC + c]
        if size > 0:
            if kept != f:
                s.fid[kept] = s.fid[f]
                s.weapons[kept] = s.weapons[f]
                s.roe[kept] = s.roe[f]
                for c in range(NCLASS):
                    s.ships[kept * MAXC + c] = s.ships[f * MAXC + c]
                    s.crippled[kept * MAXC + c] = s.crippled[f * MAXC + c]
            kept += 1
    s.n = kept


cdef int _fight(Side* a, Side* b, uint64_t seed, uint64_t* counter, int* retreated) noexcept nogil:
    """``strategy_ref.fight``'s rounds; the rounds fought.  The sides keep the fleets left."""
    cdef Side* sides[2]
    cdef long long start[2]
    cdef long long hits[2]
    cdef long long roe
    cdef int rounds = 0, h, f
    sides[0], sides[1] = a, b
    start[0], start[1] = _power(a), _power(b)
    retreated[0], retreated[1] = 0, 0
    while rounds < ROUNDS and a.n > 0 and b.n > 0 and not retreated[0] and not retreated[1]:
        rounds += 1
        for h in range(2):
            hits[h] = _power(sides[h]) * EFFECT[_die(seed, counter, 10) - 1] // 100
        _damage(b, hits[0])
        _damage(a, hits[1])
        _drop_empty(a)
        _drop_empty(b)
        for h in range(2):
            roe = 0
            if sides[h].n > 0:
                roe = sides[h].roe[0]
                for f in range(1, sides[h].n):
                    if sides[h].roe[f] < roe:
                        roe = sides[h].roe[f]
            if sides[h].n > 0 and start[h] and _power(sides[h]) * 100 < start[h] * RETREAT[roe]:
                retreated[h] = 1
    return rounds


cdef int _fill(Side* s, side) except -1:
    cdef int f = 0, c
    s.n = len(side)
    for fid, weapons, roe, ships, crippled in side:
        s.fid[f] = fid
        s.weapons[f] = weapons
        s.roe[f] = roe
        for c in range(NCLASS):
            s.ships[f * MAXC + c] = ships[c]
            s.crippled[f * MAXC + c] = crippled[c]
        f += 1
    return 0


cdef list _left(Side* s):
    cdef int f, c
    return [(s.fid[f], [s.ships[f * MAXC + c] for c in range(NCLASS)],
             [s.crippled[f * MAXC + c] for c in range(NCLASS)]) for f in range(s.n)]


def fight(side_a, side_b, seed, counter):
    """Same as ``strategy_ref.fight``."""
    cdef Side sides[2]
    cdef int retreated[2]
    cdef int rounds
    cdef uint64_t s = <uint64_t>(seed & 0xFFFFFFFFFFFFFFFF)
    cdef uint64_t c = <uint64_t>counter
    sides[0].fid = sides[1].fid = NULL
    try:
        _side_alloc(&sides[0], len(side_a))
        _side_alloc(&sides[1], len(side_b))
        _fill(&sides[0], side_a)
        _fill(&sides[1], side_b)
        with nogil:
            rounds = _fight(&sides[0], &sides[1], s, &c, retreated)
        return rounds, bool(retreated[0]), bool(retreated[1]), _left(&sides[0]), _left(&sides[1]), c
    finally:
        _side_free(&sides[0])
        _side_free(&sides[1])


# -- the turn --------------------------------------------------------------------------------

cdef struct Board:
    long long* meta
    long long* houses
    long long* colonies
    long long* fleets
    long long* diplomacy
    long long* events
    long long* resource
    long long* planet_class
    long long* homeworlds
    long long* lanes
    long long* cost
    long long* previous
    long long* known
    int* order_of           # per fleet row: its order's row, -1 without one
    long long* path         # scratch for one route (a system per jump)
    char* settled           # scratch for one Dijkstra (a flag per system)
    int nh, ns, nf, cap, events_cap
    uint64_t seed
    uint64_t dice


cdef inline long long* _house(Board* b, int h) noexcept nogil:
    return &b.houses[h * HW]


cdef inline long long* _colony(Board* b, long long system) noexcept nogil:
    return &b.colonies[system * CW]


cdef inline long long* _fleet(Board* b, int row) noexcept nogil:
    return &b.fleets[row * FW]


cdef inline long long _fleet_size(long long* f) noexcept nogil:
    cdef long long size = 0
    cdef int c
    for c in range(NCLASS):
        size += f[F_SHIPS + c]
    return size


cdef inline long long _fleet_strength(long long* f) noexcept nogil:
    return _strength(f[F_WEAPONS], &f[F_SHIPS], &f[F_CRIPPLED])


cdef inline int _gone(long long* f) noexcept nogil:
    return f[F_OWNER] < 0


cdef inline void _mint(Board* b, int h, long long points) noexcept nogil:
    _house(b, h)[H_PRESTIGE] += points
    b.meta[M_MINTED] += points


cdef inline void _transfer(Board* b, long long loser, long long winner, long long points) noexcept nogil:
    _house(b, <int>loser)[H_PRESTIGE] -= points
    _house(b, <int>winner)[H_PRESTIGE] += points


cdef int _event(Board* b, long long kind, long long a, long long c, long long d, long long e, long long f,
                long long g) except -1:
    cdef long long n = b.meta[M_EVENTS]
    if n >= b.events_cap:
        raise OverflowError("more turn events than the resolver made room for")
    cdef long long* row = &b.events[n * EW]
    row[0], row[1], row[2], row[3], row[4], row[5], row[6] = kind, a, c, d, e, f, g
    b.meta[M_EVENTS] = n + 1
    return 0


cdef void _routes(Board* b, long long start, int allow) noexcept nogil:
    """Fill the route table's row for ``start`` as ``Galaxy.routes_from`` does: always settle the
    unsettled system of least (cost, number), relax its lanes in order on a strictly lower cost."""
    cdef long long* known = &b.known[allow * b.ns + start]
    if known[0]:
        return
    cdef long long* best = &b.cost[(allow * b.ns + start) * b.ns]
    cdef long long* previous = &b.previous[(allow * b.ns + start) * b.ns]
    cdef int n = b.ns, system, other, k, pick
    cdef long long step, kind
    cdef char* done = b.settled
    for system in range(n):
        best[system], previous[system], done[system] = -1, -1, 0
    best[start] = 0
    while True:
        pick = -1
        for system in range(n):
            if not done[system] and best[system] >= 0 and (pick < 0 or best[system] < best[pick]):
                pick = system
        if pick < 0:
            break
        done[pick] = 1
        for k in range(6):
            other = <int>b.lanes[pick * 12 + 2 * k]
            if other < 0:
                break
            kind = b.lanes[pick * 12 + 2 * k + 1]
            if kind == 2 and not allow:
                continue
            step = best[pick] + LANE_COST[kind]
            if best[other] < 0 or step < best[other]:
                best[other], previous[other] = step, pick
    known[0] = 1


cdef void _move(Board* b, long long* f, long long goal) noexcept nogil:
    """Along the cheapest path, jump by jump, while movement points last (the first jump always)."""
    cdef int allow = 1, c, steps = 0, k
    cdef long long start = f[F_SYSTEM], system, points = MOVEMENT_POINTS, cost
    for c in range(NCLASS):
        if f[F_CRIPPLED + c]:
            allow = 0
    _routes(b, start, allow)
    cdef long long* best = &b.cost[(allow * b.ns + start) * b.ns]
    cdef long long* previous = &b.previous[(allow * b.ns + start) * b.ns]
    if best[goal] < 0:
        return
    cdef long long* path = b.path
    system = goal
    while system != start:
        path[steps] = system
        steps += 1
        system = previous[system]
    for k in range(steps - 1, -1, -1):
        system = path[k]
        cost = best[system] - best[previous[system]]
        if k < steps - 1 and cost > points:
            break
        points -= cost
        f[F_SYSTEM] = system


cdef int _add_fleet(Board* b, long long owner, long long system, int ship, long long count,
                    long long weapons) except -1:
    if b.nf >= b.cap:
        raise OverflowError("more fleets than the resolver made room for")
    cdef long long* f = _fleet(b, b.nf)
    cdef int k
    for k in range(FW):
        f[k] = 0
    f[F_FID], f[F_OWNER], f[F_SYSTEM], f[F_ROE], f[F_WEAPONS] = b.meta[M_NEXT_FLEET], owner, system, 5, weapons
    f[F_SHIPS + ship] = count
    b.order_of[b.nf] = -1
    b.meta[M_NEXT_FLEET] += 1
    b.nf += 1
    return 0


cdef int _find_fleet(Board* b, long long fid) noexcept nogil:
    cdef int lo = 0, hi = b.nf - 1, mid
    while lo <= hi:
        mid = (lo + hi) // 2
        if b.fleets[mid * FW + F_FID] < fid:
            lo = mid + 1
        elif b.fleets[mid * FW + F_FID] > fid:
            hi = mid - 1
        else:
            return mid
    return -1


cdef int _command(Board* b, long long[::1] orders) except -1:
    cdef int n = orders.shape[0] // OW, k, row, ship
    cdef long long* o
    cdef long long* house
    cdef long long* colony
    cdef long long level, h, count
    for k in range(n):
        o = &orders[k * OW]
        h = o[O_HOUSE]
        house = _house(b, <int>h)
        if o[O_KIND] < N_FLEET_ORDERS:
            row = _find_fleet(b, o[O_FLEET])
            if row >= 0:
                b.order_of[row] = k
        elif o[O_KIND] == K_SET_TAX:
            house[H_TAX] = o[O_AMOUNT]
        elif o[O_KIND] == K_DIPLOMACY:
            b.diplomacy[h * b.nh + o[O_TARGET]] = o[O_STANCE]
            if o[O_STANCE] == ENEMY:  # war is mutual
                b.diplomacy[o[O_TARGET] * b.nh + h] = ENEMY
        elif o[O_KIND] == K_RESEARCH:
            house[H_TREASURY] -= o[O_AMOUNT]
            house[H_RESEARCH + o[O_FIELD]] += o[O_AMOUNT] // 10
            level = house[H_TECH + o[O_FIELD]]
            if level < MAX_LEVEL and house[H_RESEARCH + o[O_FIELD]] >= LEVEL_COST[level + 1]:
                house[H_RESEARCH + o[O_FIELD]] -= LEVEL_COST[level + 1]
                house[H_TECH + o[O_FIELD]] = level + 1
                _mint(b, <int>h, PRESTIGE_TECH)
        elif o[O_KIND] == K_BUILD:
            colony, ship, count = _colony(b, o[O_SYSTEM]), <int>o[O_SHIP], o[O_COUNT]
            if ship == BUILD_SHIPYARD:
                house[H_TREASURY] -= SHIPYARD_COST * count
                colony[C_DOCKS] += DOCKS_PER_SHIPYARD * count
            elif ship == BUILD_ARMY:
                house[H_TREASURY] -= ARMY_COST * count
                colony[C_ARMIES] += count
            elif ship == BUILD_STARBASE:
                house[H_TREASURY] -= STARBASE_COST * count
                colony[C_STARBASES] += count
            else:
                house[H_TREASURY] -= COST[ship] * count
                _add_fleet(b, h, o[O_SYSTEM], ship, count, house[H_TECH + WEAPONS])
    return 0


cdef void _production(Board* b, long long[::1] orders) noexcept:
    cdef int row
    cdef long long* f
    cdef long long* o
    for row in range(b.nf):
        if b.order_of[row] < 0:
            continue
        f, o = _fleet(b, row), &orders[b.order_of[row] * OW]
        if o[O_KIND] == K_HOLD or f[F_SYSTEM] == o[O_SYSTEM]:
            continue
        _move(b, f, o[O_SYSTEM])


cdef int _present(Board* b, long long system, long long house) noexcept nogil:
    cdef int row
    cdef long long* f
    for row in range(b.nf):
        f = _fleet(b, row)
        if not _gone(f) and f[F_SYSTEM] == system and f[F_OWNER] == house:
            return 1
    return 0


cdef int _battle(Board* b, Side* sides, int* rows, long long system, long long ha, long long hb) except -1:
    """Houses ``ha`` and ``hb`` fight at ``system``: ``strategy_ref.battle``."""
    cdef long long hs[2]
    cdef int taken[2]
    cdef int retreated[2]
    cdef int alive[2]
    cdef int h, row, k, c, kept, rounds
    cdef long long* f
    cdef long long winner = -1
    hs[0], hs[1] = ha, hb
    for h in range(2):
        sides[h].n = 0
        for row in range(b.nf):
            f = _fleet(b, row)
            if not _gone(f) and f[F_SYSTEM] == system and f[F_OWNER] == hs[h]:
                k = sides[h].n
                rows[h * b.cap + k] = row
                sides[h].fid[k], sides[h].weapons[k], sides[h].roe[k] = f[F_FID], f[F_WEAPONS], f[F_ROE]
                for c in range(NCLASS):
                    sides[h].ships[k * MAXC + c] = f[F_SHIPS + c]
                    sides[h].crippled[k * MAXC + c] = f[F_CRIPPLED + c]
                sides[h].n += 1
        taken[h] = sides[h].n
    rounds = _fight(&sides[0], &sides[1], b.seed, &b.dice, retreated)
    for h in range(2):
        kept = 0  # the fleets left keep the order they went in
        for k in range(taken[h]):
            f = _fleet(b, rows[h * b.cap + k])
            if kept < sides[h].n and sides[h].fid[kept] == f[F_FID]:
                for c in range(NCLASS):
                    f[F_SHIPS + c] = sides[h].ships[kept * MAXC + c]
                    f[F_CRIPPLED + c] = sides[h].crippled[kept * MAXC + c]
                if retreated[h]:
                    f[F_SYSTEM] = b.homeworlds[hs[h]]
                kept += 1
            else:
                f[F_OWNER] = -1  # destroyed
        alive[h] = sides[h].n > 0 and not retreated[h]
    if alive[0] and not alive[1]:
        winner = ha
    elif alive[1] and not alive[0]:
        winner = hb
    if winner >= 0:
        _transfer(b, hb if winner == ha else ha, winner, PRESTIGE_BATTLE)
    _event(b, E_BATTLE, system, ha, hb, rounds, winner, retreated[0] | (retreated[1] << 1))
    return 0


cdef int _conflict(Board* b, long long[::1] orders) except -1:
    cdef Side sides[2]
    cdef int* rows = <int*>malloc(2 * b.cap * sizeof(int) + 1)
    cdef char* occupied = <char*>malloc(b.ns + 1)
    cdef char* here = <char*>malloc(b.nh + 1)
    if not (rows and occupied and here):
        free(rows)
        free(occupied)
        free(here)
        raise MemoryError()
    sides[0].fid = sides[1].fid = NULL
    try:
        _side_alloc(&sides[0], b.cap)
        _side_alloc(&sides[1], b.cap)
        _fights(b, sides, rows, occupied, here)
        _standing(b, orders)
        _colonize(b, orders, rows)
    finally:
        if sides[0].fid:
            _side_free(&sides[0])
        if sides[1].fid:
            _side_free(&sides[1])
        free(rows)
        free(occupied)
        free(here)
    cdef int row
    cdef long long* f
    for row in range(b.nf):
        f = _fleet(b, row)
        if not _gone(f) and _fleet_size(f) == 0:
            f[F_OWNER] = -1
    return 0


cdef int _fights(Board* b, Side* sides, int* rows, char* occupied, char* here) except -1:
    """Every pair of houses at war with fleets in one system fights there, systems in order."""
    cdef int row, system, ha, hb
    cdef long long* f
    for system in range(b.ns):
        occupied[system] = 0
    for row in range(b.nf):
        f = _fleet(b, row)
        if not _gone(f):
            occupied[f[F_SYSTEM]] = 1
    for system in range(b.ns):
        if not occupied[system]:
            continue
        for ha in range(b.nh):
            here[ha] = 0
        for row in range(b.nf):
            f = _fleet(b, row)
            if not _gone(f) and f[F_SYSTEM] == system:
                here[f[F_OWNER]] = 1
        for ha in range(b.nh):
            if not here[ha]:
                continue
            for hb in range(ha + 1, b.nh):
                if not here[hb]:
                    continue
                if (b.diplomacy[ha * b.nh + hb] == ENEMY or b.diplomacy[hb * b.nh + ha] == ENEMY) and _present(
                        b, system, ha) and _present(b, system, hb):
                    _battle(b, sides, rows, system, ha, hb)
    return 0


cdef int _standing(Board* b, long long[::1] orders) except -1:
    """Blockades, bombardments and invasions by the fleets that reached their target."""
    cdef int row
    cdef long long* f
    cdef long long* o
    cdef long long* colony
    cdef long long points, armies, transports, old
    for row in range(b.nf):
        f = _fleet(b, row)
        if b.order_of[row] < 0 or _gone(f):
            continue
        o = &orders[b.order_of[row] * OW]
        if o[O_SYSTEM] < 0 or f[F_SYSTEM] != o[O_SYSTEM]:
            continue
        colony = _colony(b, o[O_SYSTEM])
        if colony[C_OWNER] < 0:
            continue
        if o[O_KIND] == K_BLOCKADE and _fleet_strength(f) > 0:
            colony[C_BLOCKADED] = 1
        elif o[O_KIND] == K_BOMBARD:
            points = _fleet_strength(f) // 10
            armies = min(colony[C_ARMIES], points)
            colony[C_ARMIES] -= armies
            points -= armies
            colony[C_INDUSTRY] = max(0, colony[C_INDUSTRY] - 10 * points)
        elif o[O_KIND] == K_INVADE and colony[C_OWNER] != f[F_OWNER]:
            transports = f[F_SHIPS + TRANSPORT] - f[F_CRIPPLED + TRANSPORT]
            if transports and transports * MARINE_ATTACK > (colony[C_ARMIES] * ARMY_DEFENCE
                                                             + colony[C_STARBASES] * STARBASE_DEFENCE):
                old = colony[C_OWNER]
                _event(b, E_CAPTURED, f[F_OWNER], o[O_SYSTEM], old, 0, 0, 0)
                colony[C_OWNER], colony[C_ARMIES], colony[C_BLOCKADED] = f[F_OWNER], 0, 0
                _transfer(b, old, f[F_OWNER], PRESTIGE_CAPTURE)
            f[F_SHIPS + TRANSPORT] -= transports  # the troops land either way
    return 0


cdef int _colonize(Board* b, long long[::1] orders, int* claims) except -1:
    """Claims on free systems; several on one system: d100 + 2 x attack, the lower fleet id on a tie."""
    cdef int row, n = 0, k, j, pick, system
    cdef long long* f
    cdef long long* o
    cdef long long* colony
    cdef long long score, best
    for row in range(b.nf):
        f = _fleet(b, row)
        if b.order_of[row] < 0 or _gone(f):
            continue
        o = &orders[b.order_of[row] * OW]
        if (o[O_KIND] == K_COLONIZE and f[F_SYSTEM] == o[O_SYSTEM]
                and f[F_SHIPS + COLONY_SHIP] > f[F_CRIPPLED + COLONY_SHIP] and _colony(b, o[O_SYSTEM])[C_OWNER] < 0):
            claims[n] = row
            n += 1
    for system in range(b.ns):
        pick, best, j = -1, -1, 0
        for k in range(n):
            f = _fleet(b, claims[k])
            if f[F_SYSTEM] != system:
                continue
            j += 1
            if pick < 0:
                pick = claims[k]
            # every contender rolls once there are several: the first roll waits for the second claim
        if j == 0:
            continue
        if j > 1:
            pick = -1
            for k in range(n):
                f = _fleet(b, claims[k])
                if f[F_SYSTEM] != system:
                    continue
                score = _die(b.seed, &b.dice, 100) + 2 * _fleet_strength(f)
                if score > best:  # fleets come in id order: on a tie the first stays
                    best, pick = score, claims[k]
        f = _fleet(b, pick)
        f[F_SHIPS + COLONY_SHIP] -= 1
        colony = _colony(b, system)
        colony[C_OWNER], colony[C_POPULATION], colony[C_INDUSTRY] = f[F_OWNER], COLONY_START_POPULATION, 0
        colony[C_DOCKS] = colony[C_STARBASES] = colony[C_ARMIES] = colony[C_BLOCKADED] = 0
        _mint(b, <int>f[F_OWNER], PRESTIGE_COLONY)
        _event(b, E_COLONIZED, f[F_OWNER], system, 0, 0, 0, 0)
        if _fleet_size(f) == 0:
            f[F_OWNER] = -1
    return 0


cdef void _income(Board* b) noexcept nogil:
    cdef int h, system, row, c
    cdef long long* house
    cdef long long* colony
    cdef long long* f
    cdef long long total, value, growth, bill, upkeep, tax, colonies, rate
    cdef long long industry_percent
    for h in range(b.nh):
        house = _house(b, h)
        if not house[H_ALIVE]:
            continue
        tax = house[H_TAX]
        industry_percent = 100 + (house[H_TECH + CONSTRUCTION] - 1) * INDUSTRY_PERCENT_PER_LEVEL
        total, colonies = 0, 0
        for system in range(b.ns):
            colony = _colony(b, system)
            if colony[C_OWNER] != h:
                continue
            value = (colony[C_POPULATION] * RESOURCE_PERCENT[b.resource[system]]
                     + colony[C_INDUSTRY] * industry_percent) // 100
            total += value * BLOCKADE_OUTPUT_PERCENT // 100 if colony[C_BLOCKADED] else value
        house[H_TREASURY] += total * tax // 100
        for system in range(b.ns):
            colony = _colony(b, system)
            if colony[C_OWNER] != h:
                continue
            colonies += 1
            growth = max(1, colony[C_POPULATION] * (5 if tax <= LOW_TAX else 3) // 100)
            colony[C_POPULATION] = min(POPULATION_CAP[b.planet_class[system]], colony[C_POPULATION] + growth)
            colony[C_INDUSTRY] += max(2, colony[C_POPULATION] // 50) * (100 - tax) // 100
            if colony[C_BLOCKADED]:
                _mint(b, h, BLOCKADE_PRESTIGE)
            colony[C_BLOCKADED] = 0
        bill = 0
        for row in range(b.nf):
            f = _fleet(b, row)
            if _gone(f) or f[F_OWNER] != h:
                continue
            upkeep = 0
            for c in range(NCLASS):
                upkeep += f[F_SHIPS + c] * COST[c] * UPKEEP[c]
            bill += upkeep // 100
        if bill > house[H_TREASURY]:
            _mint(b, h, -5)
        house[H_TREASURY] = max(0, house[H_TREASURY] - bill)
        rate = -((tax - HIGH_TAX) * (tax - HIGH_TAX) // 100) if tax > HIGH_TAX else 0
        _mint(b, h, rate + (colonies if tax <= LOW_TAX else 0))


cdef int _eliminate(Board* b) except -1:
    cdef int h, system, row, holds
    cdef long long* f
    for h in range(b.nh):
        if not _house(b, h)[H_ALIVE]:
            continue
        holds = 0
        for system in range(b.ns):
            if _colony(b, system)[C_OWNER] == h:
                holds = 1
                break
        if not holds:
            for row in range(b.nf):
                f = _fleet(b, row)
                if not _gone(f) and f[F_OWNER] == h:
                    holds = 1
                    break
        if not holds:
            _house(b, h)[H_ALIVE] = 0
            _event(b, E_ELIMINATED, h, 0, 0, 0, 0, 0)
    return 0


cdef void _compact(Board* b) noexcept nogil:
    """Drop the fleets that are gone; the rest keep their order."""
    cdef int row, kept = 0, k
    for row in range(b.nf):
        if _gone(_fleet(b, row)):
            continue
        if kept != row:
            for k in range(FW):
                b.fleets[kept * FW + k] = b.fleets[row * FW + k]
        kept += 1
    b.nf = kept


cdef void _finish(Board* b) noexcept nogil:
    cdef int h, alive = 0, last = -1, best = -1
    for h in range(b.nh):
        if _house(b, h)[H_ALIVE]:
            alive += 1
            last = h
            if best < 0 or _house(b, h)[H_PRESTIGE] > _house(b, best)[H_PRESTIGE]:
                best = h
    b.meta[M_WINNER] = -1
    if alive == 1:
        b.meta[M_WINNER] = last
    elif alive and b.meta[M_TURN_LIMIT] >= 0 and b.meta[M_TURN] > b.meta[M_TURN_LIMIT]:
        b.meta[M_WINNER] = best


def settle(seed, long long[::1] meta, long long[::1] houses, long long[::1] colonies, long long[::1] fleets,
           long long[::1] diplomacy, long long[::1] events, long long[::1] orders, routes):
    """``strategy_ref.settle`` on a ``strategy_flat`` board, changed in place.

    ``fleets`` has room for the fleets the builds add; ``events`` for every report row;
    ``meta[M_TURN_LIMIT]`` is the turn limit (-1: none).  ``routes`` is the map's
    ``strategy_flat.Routes``.
    """
    cdef long long[::1] resource = routes.resource, planet_class = routes.planet_class
    cdef long long[::1] homeworlds = routes.homeworlds, lanes = routes.lanes
    cdef long long[::1] cost = routes.cost, previous = routes.previous, known = routes.known
    cdef Board b
    b.meta, b.houses, b.colonies, b.fleets = &meta[0], &houses[0], &colonies[0], &fleets[0]
    b.diplomacy, b.events = &diplomacy[0], &events[0]
    b.resource, b.planet_class, b.homeworlds = &resource[0], &planet_class[0], &homeworlds[0]
    b.lanes, b.cost, b.previous, b.known = &lanes[0], &cost[0], &previous[0], &known[0]
    b.nh, b.ns = houses.shape[0] // HW, routes.systems
    b.nf, b.cap, b.events_cap = <int>meta[M_FLEETS], fleets.shape[0] // FW, events.shape[0] // EW
    b.seed, b.dice = <uint64_t>(seed & 0xFFFFFFFFFFFFFFFF), <uint64_t>meta[M_DICE]
    if colonies.shape[0] != b.ns * CW or diplomacy.shape[0] != b.nh * b.nh or b.nf > b.cap:
        raise ValueError("the board's arrays do not fit its map and houses")
    b.order_of = <int*>malloc(b.cap * sizeof(int) + 1)
    b.path = <long long*>malloc(b.ns * sizeof(long long) + 1)
    b.settled = <char*>malloc(b.ns + 1)
    if not (b.order_of and b.path and b.settled):
        free(b.order_of)
        free(b.path)
        free(b.settled)
        raise MemoryError()
    cdef int row
    try:
        for row in range(b.cap):
            b.order_of[row] = -1
        meta[M_MINTED], meta[M_EVENTS] = 0, 0
        _command(&b, orders)
        _production(&b, orders)
        meta[M_TURN] += 1  # the next turn begins: what the fleets ran into is fought out, then paid for
        _conflict(&b, orders)
        _compact(&b)
        _income(&b)
        _eliminate(&b)
        meta[M_DICE] = <long long>b.dice
        meta[M_FLEETS] = b.nf
        _finish(&b)
    finally:
        free(b.order_of)
        free(b.path)
        free(b.settled)


# -- games to boards and back: ``strategy_flat.pack`` and ``unpack``, compiled ---------------------

def pack(game, int spare=0):
    """Same as ``strategy_flat.pack``."""
    cdef int nh = len(game.houses), ns = game.galaxy.systems, nf = len(game.fleets), k, c, row
    cdef array.array houses = array.clone(_LONGS, nh * HW, zero=True)
    cdef array.array colonies = array.clone(_LONGS, ns * CW, zero=True)
    cdef array.array fleets = array.clone(_LONGS, (nf + spare) * FW, zero=True)
    cdef array.array diplomacy = array.clone(_LONGS, nh * nh, zero=False)
    cdef long long* h = houses.data.as_longlongs
    cdef long long* o = colonies.data.as_longlongs
    cdef long long* f = fleets.data.as_longlongs
    cdef long long* d = diplomacy.data.as_longlongs
    cdef list values
    for k, house in enumerate(game.houses):
        row = k * HW
        h[row + H_TREASURY], h[row + H_PRESTIGE], h[row + H_TAX] = house.treasury, house.prestige, house.tax
        h[row + H_ALIVE], h[row + flat.H_MISSED] = house.alive, house.missed_turns
        values = house.tech
        for c in range(NFIELDS):
            h[row + H_TECH + c] = values[c]
        values = house.research
        for c in range(NFIELDS):
            h[row + H_RESEARCH + c] = values[c]
    for k in range(ns):
        o[k * CW + C_OWNER] = -1
    for colony in game.colonies.values():
        row = colony.system * CW
        o[row + C_OWNER], o[row + C_POPULATION], o[row + C_INDUSTRY] = colony.owner, colony.population, colony.industry
        o[row + C_DOCKS], o[row + C_STARBASES], o[row + C_ARMIES] = colony.docks, colony.starbases, colony.armies
        o[row + C_BLOCKADED] = colony.blockaded
    k = 0
    for fleet in game.fleets.values():
        row = k * FW
        f[row + F_FID], f[row + F_OWNER], f[row + F_SYSTEM] = fleet.fid, fleet.owner, fleet.system
        f[row + F_ROE], f[row + F_WEAPONS] = fleet.roe, fleet.weapons
        values = fleet.ships
        for c in range(NCLASS):
            f[row + F_SHIPS + c] = values[c]
        values = fleet.crippled
        for c in range(NCLASS):
            f[row + F_CRIPPLED + c] = values[c]
        k += 1
    k = 0
    for line in game.diplomacy:
        for stance in line:
            d[k] = stance
            k += 1
    meta = array.array("q", [game.turn, game.next_fleet, game.dice_used, nf, 0, -1, 0, -1])
    return flat.Flat(game.seed, meta, houses, colonies, fleets, diplomacy, array.array("q"))


def unpack(board, galaxy):
    """Same as ``strategy_flat.unpack``."""
    cdef long long[::1] meta = board.meta, hv = board.houses, ov = board.colonies, fv = board.fleets
    cdef long long[::1] dv = board.diplomacy
    cdef int nh = hv.shape[0] // HW, ns = ov.shape[0] // CW, nf = <int>meta[M_FLEETS], k, row, c
    cdef long long* h = &hv[0]
    cdef long long* o = &ov[0]
    cdef long long* f = &fv[0]
    game = Game(galaxy=galaxy, seed=board.seed, turn=meta[M_TURN], next_fleet=meta[M_NEXT_FLEET],
                dice_used=meta[M_DICE])
    houses = game.houses
    for k in range(nh):
        row = k * HW
        houses.append(House(k, h[row + H_TREASURY], h[row + H_PRESTIGE], h[row + H_TAX],
                            [h[row + H_TECH + c] for c in range(NFIELDS)],
                            [h[row + H_RESEARCH + c] for c in range(NFIELDS)], h[row + H_ALIVE] != 0,
                            h[row + flat.H_MISSED]))
    colonies = game.colonies
    for k in range(ns):
        row = k * CW
        if o[row + C_OWNER] >= 0:
            colonies[k] = Colony(k, o[row + C_OWNER], o[row + C_POPULATION], o[row + C_INDUSTRY], o[row + C_DOCKS],
                                 o[row + C_STARBASES], o[row + C_ARMIES], o[row + C_BLOCKADED] != 0)
    fleets = game.fleets
    for k in range(nf):
        row = k * FW
        fleets[f[row + F_FID]] = Fleet(f[row + F_FID], f[row + F_OWNER], f[row + F_SYSTEM],
                                       [f[row + F_SHIPS + c] for c in range(NCLASS)],
                                       [f[row + F_CRIPPLED + c] for c in range(NCLASS)], f[row + F_ROE],
                                       f[row + F_WEAPONS])
    game.diplomacy = [[dv[k * nh + c] for c in range(nh)] for k in range(nh)]
    return game
