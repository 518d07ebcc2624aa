"""The strategy game's map: hex rings of star systems around a hub, joined by jump lanes.

``generate(rings, houses, seed)`` is a pure function of its arguments (dice from the
SplitMix64 stream of ``engine_ext.dice``), so a game's seed is its map.

- Systems: the hub and ``rings`` rings around it, 3n^2 + 3n + 1 in all (n = 2..12); system
  0 is the hub, then ring by ring, each ring walked the same way round.
- Lanes: every pair of neighbouring hexes, of three classes: major (half of them, a jump
  costs 1), minor (35%, costs 2) and restricted (15%, costs 3; a fleet with a crippled ship
  cannot use one).  The hub's six lanes and up to three lanes of each homeworld are major.
- Homeworlds: on the outer ring, spread as evenly as the ring allows (a seeded turn of the
  ring decides where the spacing starts).  Planets: one per system, a class (barren ...
  lush) and a resource grade, drawn per system; homeworlds are lush and rich.
"""
from __future__ import annotations

import heapq
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TypeVar

from .dice_ref import Stream

T = TypeVar("T")

MAJOR, MINOR, RESTRICTED = 0, 1, 2
LANE_COST = (1, 2, 3)
LANE_NAMES = ("major", "minor", "restricted")
PLANET_CLASSES = ("barren", "hostile", "harsh", "poor", "fair", "fertile", "lush")   # worst to best
RESOURCE_GRADES = ("scarce", "poor", "common", "rich", "abundant")                   # worst to best
MIN_RINGS, MAX_RINGS = 2, 12
MIN_HOUSES, MAX_HOUSES = 2, 12  # even the smallest map's outer ring (12 systems) seats 12 houses
DIRECTIONS = ((1, 0), (1, -1), (0, -1), (-1, 0), (-1, 1), (0, 1))  # axial hex neighbours


@dataclass(frozen=True, slots=True)
class Galaxy:
    rings: int
    coords: tuple[tuple[int, int], ...]             # axial (q, r) of each system
    planet_class: tuple[int, ...]                   # index into PLANET_CLASSES
    resource: tuple[int, ...]                       # index into RESOURCE_GRADES
    lanes: tuple[tuple[int, int, int], ...]         # (a, b, class) with a < b
    homeworlds: tuple[int, ...]                     # one system per house
    _cache: dict = field(default_factory=dict, compare=False, repr=False, hash=False)  # derived tables

    @property
    def systems(self) -> int:
        return len(self.coords)

    def derived(self, key: str, make: Callable[[], T]) -> T:
        """The table ``make`` builds from this map, built once per map and kept with it."""
        found = self._cache.get(key)
        if found is None:
            found = self._cache[key] = make()
        return found

    def neighbours(self, system: int) -> list[tuple[int, int]]:
        """(other system, lane class) of every lane at ``system``."""
        return list(self.adjacency()[system])

    def path_cost(self, start: int, goal: int, allow_restricted: bool = True) -> int | None:
        """The cheapest jump cost from ``start`` to ``goal`` (None: unreachable)."""
        return self.costs_from(start, allow_restricted)[goal]

    def costs_from(self, start: int, allow_restricted: bool = True) -> tuple[int | None, ...]:
        """The cheapest jump cost from ``start`` to every system (None: unreachable)."""
        return self.routes_from(start, allow_restricted)[0]

    def routes_from(self, start: int, allow_restricted: bool = True
                    ) -> tuple[tuple[int | None, ...], tuple[int | None, ...]]:
        """(cheapest cost, the system before it on the cheapest path) for every system, from
        ``start``; computed once.  Among equally cheap paths, neighbours are tried in order of
        their number, so the path is the same on every machine."""
        key = ("routes", start, allow_restricted)
        found = self._cache.get(key)
        if found is not None:
            return found
        adjacency = self.adjacency()
        best: list[int | None] = [None] * self.systems
        previous: list[int | None] = [None] * self.systems
        best[start] = 0
        queue = [(0, start)]
        while queue:
            cost, system = heapq.heappop(queue)
            if cost > best[system]:
                continue
            for other, kind in sorted(adjacency[system]):
                if kind == RESTRICTED and not allow_restricted:
                    continue
                step = cost + LANE_COST[kind]
                if best[other] is None or step < best[other]:
                    best[other], previous[other] = step, system
                    heapq.heappush(queue, (step, other))
        found = self._cache[key] = (tuple(best), tuple(previous))
        return found

    def adjacency(self) -> tuple[tuple[tuple[int, int], ...], ...]:
        """(other system, lane class) of each system's lanes, in lane order; computed once."""
        found = self._cache.get("adjacency")
        if found is None:
            out: list[list[tuple[int, int]]] = [[] for _ in range(self.systems)]
            for a, b, kind in self.lanes:
                out[a].append((b, kind))
                out[b].append((a, kind))
            found = self._cache["adjacency"] = tuple(tuple(links) for links in out)
        return found


def ring_coords(rings: int) -> list[tuple[int, int]]:
    """The hub, then each ring from its first hex walked once round (axial coordinates)."""
    coords = [(0, 0)]
    for n in range(1, rings + 1):
        q, r = -n, n  # start n steps in direction 4 from the hub
        for side in range(6):
            dq, dr = DIRECTIONS[side]
            for _ in range(n):
                coords.append((q, r))
                q, r = q + dq, r + dr
    return coords


def hex_distance(a: tuple[int, int], b: tuple[int, int]) -> int:
    dq, dr = a[0] - b[0], a[1] - b[1]
    return (abs(dq) + abs(dr) + abs(dq + dr)) // 2


def generate(rings: int, houses: int, seed: int) -> Galaxy:
    """A map of ``rings`` rings for ``houses`` houses; ValueError for sizes outside the rules."""
    if not MIN_RINGS <= rings <= MAX_RINGS:
        raise ValueError(f"a map has {MIN_RINGS} to {MAX_RINGS} rings, not {rings}")
    if not MIN_HOUSES <= houses <= MAX_HOUSES:
        raise ValueError(f"a game has {MIN_HOUSES} to {MAX_HOUSES} houses, not {houses}")
    stream = Stream(seed, 0)
    coords = ring_coords(rings)
    index = {c: i for i, c in enumerate(coords)}
    outer = list(range(len(coords) - 6 * rings, len(coords)))
    turn = stream.die(len(outer)) - 1
    homeworlds = tuple(outer[(turn + (k * len(outer)) // houses) % len(outer)] for k in range(houses))

    lanes: list[tuple[int, int, int]] = []
    for a, (q, r) in enumerate(coords):
        for dq, dr in DIRECTIONS:
            b = index.get((q + dq, r + dr))
            if b is not None and a < b:
                roll = stream.die(100)
                kind = MAJOR if roll <= 50 else MINOR if roll <= 85 else RESTRICTED
                lanes.append((a, b, kind))
    lanes = _forced_major(lanes, homeworlds)

    planet_class, resource = [], []
    for system in range(len(coords)):
        if system in homeworlds:
            planet_class.append(len(PLANET_CLASSES) - 1)
            resource.append(len(RESOURCE_GRADES) - 2)
            continue
        planet_class.append(_weighted(stream, (10, 15, 20, 20, 15, 12, 8)))
        resource.append(_weighted(stream, (10, 20, 40, 20, 10)))
    return Galaxy(rings, tuple(coords), tuple(planet_class), tuple(resource), tuple(lanes), homeworlds)


def _forced_major(lanes: list[tuple[int, int, int]], homeworlds: tuple[int, ...]) -> list[tuple[int, int, int]]:
    """The hub's lanes are major, and each homeworld's first three lanes (by the other end's number)."""
    major: set[tuple[int, int]] = {(a, b) for a, b, _ in lanes if a == 0}
    for home in homeworlds:
        mine = sorted((a, b) for a, b, _ in lanes if home in (a, b))
        major.update(mine[:3])
    return [(a, b, MAJOR if (a, b) in major else kind) for a, b, kind in lanes]


def _weighted(stream: Stream, weights: tuple[int, ...]) -> int:
    roll = stream.die(sum(weights))
    for i, weight in enumerate(weights):
        roll -= weight
        if roll <= 0:
            return i
    raise AssertionError("unreachable")
