"""A strategy game's state: houses, colonies, fleets, diplomacy, on a generated map.

Plain data, integers only; ``new_game`` sets every house up alike on its homeworld.  The
turn resolver (reference and Cython) reads and writes these; ``copy`` gives the next turn
its own state so a turn can be replayed and compared.
"""
from __future__ import annotations

from dataclasses import dataclass, field, replace

from . import strategy_rules as rules
from .galaxy import Galaxy, generate


@dataclass
class House:
    hid: int
    treasury: int
    prestige: int
    tax: int
    tech: list[int]                 # level per research field
    research: list[int]             # research points banked per field
    alive: bool = True
    missed_turns: int = 0           # turns in a row without orders (autopilot after three)


@dataclass
class Colony:
    system: int
    owner: int
    population: int
    industry: int
    docks: int = 0
    starbases: int = 0
    armies: int = 0
    blockaded: bool = False


@dataclass
class Fleet:
    fid: int
    owner: int
    system: int
    ships: list[int]                # count per ship class (strategy_rules.SHIPS order)
    crippled: list[int]             # of those, how many are crippled
    roe: int = 5                    # rules of engagement, 0 (never retreat) .. 10 (retreat at once)
    weapons: int = 1                # the weapons level its ships were built at (the fleet's oldest)

    @property
    def size(self) -> int:
        return sum(self.ships)


@dataclass
class Game:
    galaxy: Galaxy
    seed: int
    turn: int = 1
    houses: list[House] = field(default_factory=list)
    colonies: dict[int, Colony] = field(default_factory=dict)     # by system, in system order
    fleets: dict[int, Fleet] = field(default_factory=dict)        # by fleet id
    diplomacy: list[list[int]] = field(default_factory=list)      # [a][b]: how a stands toward b
    next_fleet: int = 1
    dice_used: int = 0

    def copy(self) -> "Game":
        """A copy whose houses, colonies and fleets can change without touching this one (the map is shared)."""
        return replace(self, houses=[replace(h, tech=list(h.tech), research=list(h.research)) for h in self.houses],
                       colonies={k: replace(c) for k, c in self.colonies.items()},
                       fleets={k: replace(f, ships=list(f.ships), crippled=list(f.crippled))
                               for k, f in self.fleets.items()},
                       diplomacy=[list(row) for row in self.diplomacy])

    def fleets_at(self, system: int) -> list[Fleet]:
        return [f for f in self.fleets.values() if f.system == system]


def starting_fleets(home: int) -> list[tuple[dict[str, int], int]]:
    """Each house starts with two colony ships under light cruisers, two destroyers and a scout."""
    return [({"colony_ship": 1, "light_cruiser": 1}, home), ({"colony_ship": 1, "light_cruiser": 1}, home),
            ({"destroyer": 1}, home), ({"destroyer": 1}, home), ({"scout": 1}, home)]


def new_game(rings: int, houses: int, seed: int) -> Game:
    galaxy = generate(rings, houses, seed)
    game = Game(galaxy=galaxy, seed=seed, diplomacy=[[rules.NEUTRAL] * houses for _ in range(houses)])
    for hid, home in enumerate(galaxy.homeworlds):
        game.houses.append(House(hid, rules.STARTING["treasury"], rules.STARTING["prestige"], rules.STARTING["tax"],
                                 [1] * len(rules.FIELDS), [0] * len(rules.FIELDS)))
        game.colonies[home] = Colony(home, hid, rules.STARTING["population"], rules.STARTING["industry"],
                                     docks=rules.STARTING["docks"], armies=rules.STARTING["armies"])
        for ships, system in starting_fleets(home):
            add_fleet(game, hid, system, ships)
    game.colonies = dict(sorted(game.colonies.items()))
    return game


def add_fleet(game: Game, owner: int, system: int, ships: dict[str, int], weapons: int = 1) -> Fleet:
    counts = [0] * len(rules.SHIPS)
    for name, count in ships.items():
        counts[rules.SHIP_INDEX[name]] += count
    fleet = Fleet(game.next_fleet, owner, system, counts, [0] * len(rules.SHIPS), weapons=weapons)
    game.fleets[fleet.fid] = fleet
    game.next_fleet += 1
    return fleet
