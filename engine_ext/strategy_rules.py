"""The strategy ruleset's tables: our own numbers, informed by the 4X engine we learn from.

Integers only (money in production points, PP; percentages as whole numbers), so the
reference resolver and its Cython twin compute the same game.
"""
from __future__ import annotations

from dataclasses import dataclass

# -- research ------------------------------------------------------------------------------

FIELDS = ("weapons", "construction", "detection")   # research fields; every house starts at level 1
MAX_LEVEL = 10
LEVEL_COST = (0, 0, 10, 12, 15, 19, 24, 31, 40, 52, 68)  # research points to reach level n (index n)
WEAPONS_STEP_PERCENT = 10  # each weapons level above 1 adds 10% attack and defence to ships built after it


# -- ships -----------------------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class ShipClass:
    name: str
    cost: int          # PP to build
    attack: int
    defence: int
    command: int       # command points it takes (0: an auxiliary)
    tech: int          # construction level needed
    upkeep: int        # percent of cost each turn
    role: str = "warship"  # warship | scout | colony | transport


SHIPS = (
    ShipClass("scout", 70, 0, 2, 0, 1, 2, "scout"),
    ShipClass("colony_ship", 140, 0, 3, 0, 1, 2, "colony"),
    ShipClass("transport", 90, 0, 3, 0, 1, 2, "transport"),
    ShipClass("corvette", 50, 2, 3, 1, 1, 3),
    ShipClass("frigate", 80, 3, 4, 2, 1, 3),
    ShipClass("destroyer", 120, 5, 6, 2, 1, 4),
    ShipClass("light_cruiser", 170, 8, 9, 3, 1, 4),
    ShipClass("cruiser", 240, 11, 13, 3, 2, 5),
    ShipClass("battlecruiser", 320, 15, 17, 3, 3, 5),
    ShipClass("battleship", 440, 20, 24, 3, 4, 5),
    ShipClass("dreadnought", 600, 27, 30, 4, 5, 6),
    ShipClass("carrier", 350, 6, 18, 3, 3, 5),
)
SHIP_INDEX = {ship.name: i for i, ship in enumerate(SHIPS)}
WARSHIPS = tuple(i for i, ship in enumerate(SHIPS) if ship.role == "warship")
FLEET_SHIPS_MAX = 20       # ships in one fleet


# -- colonies ------------------------------------------------------------------------------------

# population cap (population units) by planet class, worst to best (galaxy.PLANET_CLASSES)
POPULATION_CAP = (20, 60, 180, 500, 1000, 2000, 4000)
# output per population unit, percent, by resource grade (galaxy.RESOURCE_GRADES)
RESOURCE_PERCENT = (60, 80, 100, 120, 140)
INDUSTRY_PERCENT_PER_LEVEL = 50   # industry output: 100% at construction 1, +50% a level above
STARTING = {"treasury": 1000, "prestige": 100, "tax": 50, "population": 840, "industry": 420,
            "docks": 10, "armies": 10}
COLONY_START_POPULATION = 3       # a colony ship settles this many population units
DOCKS_PER_SHIPYARD = 10
SHIPYARD_COST = 250
STARBASE = ShipClass("starbase", 900, 40, 50, 0, 2, 4, "starbase")
STARBASES_MAX = 3
ARMY_COST, ARMY_ATTACK, ARMY_DEFENCE = 25, 3, 5
MARINE_ATTACK = 6                 # a transport carries one marine division

# -- taxes and prestige -----------------------------------------------------------------------------

TAX_MIN, TAX_MAX = 0, 100
HIGH_TAX = 50                     # above it, prestige falls by (rate - 50)^2 / 100 each turn
LOW_TAX = 30                      # at or below it, each colony earns a prestige point and grows faster
PRESTIGE = {"colony": 5, "tech": 2, "battle_won": 3, "ship_destroyed": 1, "capture": 10, "eliminated": 3}
BLOCKADE_OUTPUT_PERCENT = 40      # a blockaded colony produces this share
BLOCKADE_PRESTIGE = -2

# -- diplomacy ----------------------------------------------------------------------------------------

NEUTRAL, HOSTILE, ENEMY = 0, 1, 2
DIPLOMACY = ("neutral", "hostile", "enemy")

# -- combat -------------------------------------------------------------------------------------------

# a d10 effectiveness table: percent of a side's attack that lands, by the roll 1..10
EFFECTIVENESS = (25, 25, 50, 50, 75, 75, 100, 100, 125, 150)
COMBAT_ROUNDS_MAX = 3
RETREAT_AT = tuple(range(0, 101, 10))   # rules of engagement 0..10: retreat below this percent of strength kept


def ship_cost(name: str) -> int:
    return SHIPS[SHIP_INDEX[name]].cost


def tax_prestige(rate: int) -> int:
    """Prestige change a turn at this tax rate (before the per-colony bonus of low taxes)."""
    return -((rate - HIGH_TAX) ** 2 // 100) if rate > HIGH_TAX else 0
