"""What one house may see of a strategy game: its fog of war.

A house sees the systems it holds a colony or a fleet in, and every system within
``detection`` jumps of those (its detection level: 1 at the start); of other houses it
sees only what stands in those systems, and their prestige (public), never their
treasuries, research or orders.
"""
from __future__ import annotations

from typing import Any

from . import strategy_rules as rules
from .strategy_state import Game


def visible_systems(game: Game, hid: int) -> set[int]:
    seen = {c.system for c in game.colonies.values() if c.owner == hid}
    seen |= {f.system for f in game.fleets.values() if f.owner == hid}
    reach = game.houses[hid].tech[rules.FIELDS.index("detection")]
    adjacency = game.galaxy.adjacency()
    frontier = set(seen)
    for _ in range(reach):
        frontier = {other for system in frontier for other, _ in adjacency[system]} - seen
        seen |= frontier
    return seen


def view(game: Game, hid: int | None) -> dict[str, Any]:
    """The board as ``hid`` may see it (None: everything, for operators), JSON-ready."""
    seen = set(range(game.galaxy.systems)) if hid is None else visible_systems(game, hid)
    houses = []
    for house in game.houses:
        public = {"hid": house.hid, "prestige": house.prestige, "alive": house.alive}
        if hid is None or house.hid == hid:
            public.update(treasury=house.treasury, tax=house.tax, tech=list(house.tech))
        houses.append(public)
    return {
        "turn": game.turn, "house": hid, "visible": sorted(seen), "houses": houses,
        "colonies": [{"system": c.system, "owner": c.owner, "population": c.population, "industry": c.industry,
                      "starbases": c.starbases, "blockaded": c.blockaded}
                     for c in sorted(game.colonies.values(), key=lambda c: c.system) if c.system in seen],
        "fleets": [{"fid": f.fid, "owner": f.owner, "system": f.system, "ships": f.size,
                    "warships": sum(f.ships[i] for i in rules.WARSHIPS), "crippled": sum(f.crippled)}
                   for f in sorted(game.fleets.values(), key=lambda f: f.fid) if f.system in seen],
        "diplomacy": game.diplomacy[hid] if hid is not None else game.diplomacy,
    }
