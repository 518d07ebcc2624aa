"""Rule-based AI players for the strategy game, with personalities; they issue only valid orders.

``orders(game, hid, personality)`` reads the state (as a house may: a later issue narrows
it to the house's fog of war) and returns the turn's orders, every one accepted by
``strategy_orders.validate``.  A learned policy plugs in as any callable with the same
signature (``POLICIES``).

What every personality does, in order: set its tax; go to war with the weakest house
once its war turn has come (the turtle never starts one); send colony ships to the
nearest free systems; send warships at the nearest enemy colony (blockading it, invading
with transports) or keep them home; send scouts outward; put its research share into
weapons and construction by turns; spend the rest on colony ships, warships, transports
(at war) or starbases (the turtle), as its shares say.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

from . import strategy_rules as rules
from .strategy_orders import Order, validate
from .strategy_state import Fleet, Game


@dataclass(frozen=True, slots=True)
class Personality:
    tax: int
    war_turn: int | None     # the turn it starts a war (None: never starts one)
    research_share: int      # percent of the treasury into research each turn
    colony_share: int        # percent of the build budget on colony ships (while free systems remain)
    starbases: bool = False


PERSONALITIES = {
    "aggressive": Personality(tax=55, war_turn=6, research_share=10, colony_share=20),
    "economic": Personality(tax=40, war_turn=40, research_share=30, colony_share=40),
    "turtle": Personality(tax=45, war_turn=None, research_share=25, colony_share=25, starbases=True),
    "expansionist": Personality(tax=35, war_turn=25, research_share=15, colony_share=60),
    "balanced": Personality(tax=50, war_turn=15, research_share=20, colony_share=35),
}

Policy = Callable[[Game, int], list[Order]]


def orders(game: Game, hid: int, personality: str = "balanced") -> list[Order]:
    me = PERSONALITIES[personality]
    house = game.houses[hid]
    given: list[Order] = []
    if house.tax != me.tax:
        given.append(Order("set_tax", amount=me.tax))
    enemies = [h for h in range(len(game.houses)) if h != hid and game.houses[h].alive
               and game.diplomacy[hid][h] == rules.ENEMY]
    if not enemies and me.war_turn is not None and game.turn >= me.war_turn:
        target = weakest(game, hid)
        if target is not None:
            given.append(Order("diplomacy", house=target, stance="enemy"))
            enemies = [target]
    given += fleet_orders(game, hid, enemies)
    budget = house.treasury
    research = budget * me.research_share // 100
    if research >= 10:
        field = rules.FIELDS[game.turn % 2]  # weapons, construction, by turns
        given.append(Order("research", field=field, amount=research))
        budget -= research
    given += builds(game, hid, me, budget, bool(enemies))
    refused = {r.index for r in validate(game, hid, given)}
    return [order for i, order in enumerate(given) if i not in refused]


def weakest(game: Game, hid: int) -> int | None:
    others = [h.hid for h in game.houses if h.alive and h.hid != hid]
    if not others:
        return None
    power = {h: sum(c.population + c.industry for c in game.colonies.values() if c.owner == h) for h in others}
    return min(others, key=lambda h: (power[h], h))


def fleet_orders(game: Game, hid: int, enemies: list[int]) -> list[Order]:
    out: list[Order] = []
    home = game.galaxy.homeworlds[hid]
    claimed: set[int] = set()
    colony_ship, transport, scout = (rules.SHIP_INDEX[n] for n in ("colony_ship", "transport", "scout"))
    enemy_colonies = sorted(c.system for c in game.colonies.values() if c.owner in enemies)
    for fleet in sorted((f for f in game.fleets.values() if f.owner == hid), key=lambda f: f.fid):
        crippled = any(fleet.crippled)
        if fleet.ships[colony_ship] > fleet.crippled[colony_ship]:
            target = nearest(game, fleet, [s for s in range(game.galaxy.systems)
                                           if s not in game.colonies and s not in claimed], crippled)
            if target is not None:
                claimed.add(target)
                out.append(Order("colonize", fleet=fleet.fid, system=target))
            continue
        if fleet.ships[scout] and fleet.size == fleet.ships[scout]:
            target = nearest(game, fleet, [s for s in range(game.galaxy.systems)
                                           if s not in game.colonies and s != fleet.system], crippled)
            if target is not None:
                out.append(Order("move", fleet=fleet.fid, system=target))
            continue
        if enemy_colonies and not crippled:
            target = nearest(game, fleet, enemy_colonies, crippled)
            if target is not None:
                kind = "invade" if fleet.ships[transport] else "blockade"
                if kind == "blockade" and not any(fleet.ships[i] for i in rules.WARSHIPS):
                    continue
                out.append(Order(kind, fleet=fleet.fid, system=target))
                continue
        if fleet.system != home:
            out.append(Order("move", fleet=fleet.fid, system=home))
    return out


def nearest(game: Game, fleet: Fleet, systems: list[int], crippled: bool) -> int | None:
    costs = game.galaxy.costs_from(fleet.system, allow_restricted=not crippled)
    reachable = [(costs[s], s) for s in systems if costs[s] is not None]
    return min(reachable)[1] if reachable else None


def builds(game: Game, hid: int, me: Personality, budget: int, at_war: bool) -> list[Order]:
    out: list[Order] = []
    construction = game.houses[hid].tech[rules.FIELDS.index("construction")]
    yards = sorted(c.system for c in game.colonies.values() if c.owner == hid and c.docks > 0)
    if not yards:
        return out
    yard = yards[0]
    docks = game.colonies[yard].docks
    free = sum(1 for s in range(game.galaxy.systems) if s not in game.colonies)
    colony_budget = budget * me.colony_share // 100 if free else 0
    settlers = min(docks, colony_budget // rules.ship_cost("colony_ship"), free)
    if settlers:
        out.append(Order("build", system=yard, ship="colony_ship", count=settlers))
        budget -= settlers * rules.ship_cost("colony_ship")
        docks -= settlers
    if me.starbases and game.colonies[yard].starbases < rules.STARBASES_MAX and construction >= rules.STARBASE.tech \
            and budget >= rules.STARBASE.cost * 2:
        out.append(Order("build", system=yard, ship="starbase"))
        budget -= rules.STARBASE.cost
    if at_war and docks and budget >= rules.ship_cost("transport") * 2:
        out.append(Order("build", system=yard, ship="transport", count=2))
        budget -= rules.ship_cost("transport") * 2
        docks -= 2
    best = max((s for s in rules.SHIPS if s.role == "warship" and s.tech <= construction),
               key=lambda s: (s.attack * 100 // s.cost, s.attack))
    count = min(docks, budget // best.cost, rules.FLEET_SHIPS_MAX)
    if count > 0:
        out.append(Order("build", system=yard, ship=best.name, count=count))
    return out


POLICIES: dict[str, Policy] = {name: (lambda game, hid, name=name: orders(game, hid, name)) for name in PERSONALITIES}
