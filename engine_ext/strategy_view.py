"""What one house may see of a strategy game: its fog of war.

A house sees the systems it holds a colony or a fleet in, and every system within
``detection`` jumps of those (its detection level: 1 at the start); of other houses it
sees only what stands in those systems, and their prestige (public), never their
treasuries, research or orders.  Its own colonies and fleets it sees in full (docks,
armies, each fleet's ships by class).  A reader without a house sees only what is public:
the map's shape (``public_map``: positions and lanes, not planets or homeworlds) and each
house's prestige and whether it is still in the game.  This module is the one place that
decides it; the server sends players these views, never the board.
"""
from __future__ import annotations

from typing import Any

from . import strategy_rules as rules
from .galaxy import Galaxy
from .strategy_state import Game

NOBODY = -1  # ``view(game, NOBODY)``: what a reader who holds no house sees


def visible_systems(game: Game, hid: int) -> set[int]:
    if hid == NOBODY:
        return set()
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
    """The board as ``hid`` may see it (None: everything, for operators; ``NOBODY``: the public part), JSON-ready."""
    seen = set(range(game.galaxy.systems)) if hid is None else visible_systems(game, hid)

    def own(owner: int) -> bool:
        return hid is None or owner == hid

    houses = []
    for house in game.houses:
        public = {"hid": house.hid, "prestige": house.prestige, "alive": house.alive}
        if own(house.hid):
            public.update(treasury=house.treasury, tax=house.tax, tech=list(house.tech),
                          research=list(house.research))
        houses.append(public)
    colonies = []
    for c in sorted(game.colonies.values(), key=lambda c: c.system):
        if c.system in seen:
            colony = {"system": c.system, "owner": c.owner, "population": c.population, "industry": c.industry,
                      "starbases": c.starbases, "blockaded": c.blockaded}
            if own(c.owner):
                colony.update(docks=c.docks, armies=c.armies)
            colonies.append(colony)
    fleets = []
    for f in sorted(game.fleets.values(), key=lambda f: f.fid):
        if f.system in seen:
            fleet = {"fid": f.fid, "owner": f.owner, "system": f.system, "ships": f.size,
                     "warships": sum(f.ships[i] for i in rules.WARSHIPS), "crippled": sum(f.crippled)}
            if own(f.owner):
                classes = {ship.name: n for ship, n in zip(rules.SHIPS, f.ships, strict=True) if n}
                fleet.update(classes=classes, roe=f.roe)
            fleets.append(fleet)
    diplomacy: Any = game.diplomacy if hid is None else [] if hid == NOBODY else game.diplomacy[hid]
    return {"turn": game.turn, "house": hid, "visible": sorted(seen), "houses": houses, "colonies": colonies,
            "fleets": fleets, "diplomacy": diplomacy}


def public_map(galaxy: Galaxy) -> dict[str, Any]:
    """The map's shape anyone may see: each system's axial position and the lanes with their class, JSON-ready.

    Not the seed: the game's dice come from it too (``strategy_ref``)."""
    return {"rings": galaxy.rings, "coords": [list(c) for c in galaxy.coords],
            "lanes": [list(lane) for lane in galaxy.lanes]}
