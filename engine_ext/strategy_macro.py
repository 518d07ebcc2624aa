"""A learned policy's moves: one choice per head, turned into a turn's valid orders.

A policy network does not write orders one by one; each turn it picks, per head, one of a
few plans (``HEADS``), and ``plan_orders`` carries the plans out with the rule-based AI's
own routines (nearest targets, cheapest paths), keeping only orders ``validate`` accepts:
every move a learned policy makes is legal by construction.

- ``fleets``: warships ``hold`` (stay home) or ``attack`` (the nearest enemy colony:
  blockade, invade with transports); colony ships and scouts always settle and explore.
- ``build``: the turn's budget on ``colony_ship``s, a ``warship`` line, ``transport``s,
  a ``starbase``, or ``save`` it.
- ``research``: a quarter of the treasury into a field, or ``none``.
- ``diplomacy``: ``peace``, or ``war`` on the weakest house (while at war with nobody).
- ``tax``: one of four rates.

``legal(mask)`` says which plans are open, from a record's action mask
(``headless.ACTIONS``); ``plan_of(record)`` reads the plans a rule-based house followed
from its orders (the labels behaviour cloning learns).
"""
from __future__ import annotations

from typing import Any

from . import strategy_rules as rules
from .strategy_ai import fleet_orders, weakest
from .strategy_orders import Order, validate
from .strategy_state import Game

HEADS: dict[str, tuple[Any, ...]] = {
    "fleets": ("hold", "attack"),
    "build": ("colony_ship", "warship", "transport", "starbase", "save"),
    "research": ("none", *rules.FIELDS),
    "diplomacy": ("peace", "war"),
    "tax": (30, 40, 50, 60),
}
RESEARCH_SHARE = 25     # percent of the treasury a research plan puts in
SETTLERS_MAX = 3        # colony ships a colony_ship plan builds at most a turn


def plan_orders(game: Game, hid: int, plan: dict[str, int]) -> list[Order]:
    """The orders carrying out ``plan`` (head -> index into ``HEADS[head]``), all valid."""
    house = game.houses[hid]
    given: list[Order] = []
    tax = HEADS["tax"][plan["tax"]]
    if house.tax != tax:
        given.append(Order("set_tax", amount=tax))
    enemies = [h for h in range(len(game.houses)) if h != hid and game.houses[h].alive
               and game.diplomacy[hid][h] == rules.ENEMY]
    if HEADS["diplomacy"][plan["diplomacy"]] == "war" and not enemies:
        target = weakest(game, hid)
        if target is not None:
            given.append(Order("diplomacy", house=target, stance="enemy"))
            enemies = [target]
    given += fleet_orders(game, hid, enemies if HEADS["fleets"][plan["fleets"]] == "attack" else [])
    budget = house.treasury
    field = HEADS["research"][plan["research"]]
    if field != "none" and budget * RESEARCH_SHARE // 100 >= 10:
        given.append(Order("research", field=field, amount=budget * RESEARCH_SHARE // 100))
        budget -= budget * RESEARCH_SHARE // 100
    given += build_orders(game, hid, HEADS["build"][plan["build"]], budget)
    refused = {r.index for r in validate(game, hid, given)}
    return [order for i, order in enumerate(given) if i not in refused]


def build_orders(game: Game, hid: int, what: str, budget: int) -> list[Order]:
    yards = sorted((-c.docks, c.system) for c in game.colonies.values() if c.owner == hid and c.docks > 0)
    if what == "save" or not yards:
        return []
    docks, yard = -yards[0][0], yards[0][1]
    construction = game.houses[hid].tech[rules.FIELDS.index("construction")]
    if what == "starbase":
        return [Order("build", system=yard, ship="starbase")]
    if what == "colony_ship":
        free = sum(1 for s in range(game.galaxy.systems) if s not in game.colonies)
        count = min(docks, budget // rules.ship_cost("colony_ship"), free, SETTLERS_MAX)
        return [Order("build", system=yard, ship="colony_ship", count=count)] if count > 0 else []
    if what == "transport":
        count = min(docks, budget // rules.ship_cost("transport"), 4)
        return [Order("build", system=yard, ship="transport", count=count)] if count > 0 else []
    best = max((s for s in rules.SHIPS if s.role == "warship" and s.tech <= construction),
               key=lambda s: (s.attack * 100 // s.cost, s.attack))
    count = min(docks, budget // best.cost, rules.FLEET_SHIPS_MAX)
    return [Order("build", system=yard, ship=best.name, count=count)] if count > 0 else []


def legal(mask: dict[str, int]) -> dict[str, list[int]]:
    """Per head, 1 for each plan open to the house, from its action mask (action -> 0/1)."""
    return {
        "fleets": [1, mask["attack"]],
        "build": [mask["build_colony_ship"], mask["build_warship"], mask["build_transport"],
                  mask["build_starbase"], 1],
        "research": [1] + [mask["research"]] * len(rules.FIELDS),
        "diplomacy": [1, mask["declare_war"]],
        "tax": [1] * len(HEADS["tax"]),
    }


def plan_of(orders: list[dict[str, Any]], tax_now: int) -> dict[str, int]:
    """The plans a house's orders (as records keep them) carried out: the labels to learn."""
    kinds = {o["kind"] for o in orders}
    rate = next((o.get("amount", 0) for o in orders if o["kind"] == "set_tax"), tax_now)
    field = next((o.get("field") for o in orders if o["kind"] == "research"), "none")
    spent: dict[str, int] = {}
    for o in orders:
        if o["kind"] == "build":
            ship = o.get("ship") or ""
            what = ship if ship in ("colony_ship", "transport", "starbase") else "warship"
            cost = rules.STARBASE.cost if ship == "starbase" else rules.SHIPS[rules.SHIP_INDEX[ship]].cost \
                if ship in rules.SHIP_INDEX else 0
            spent[what] = spent.get(what, 0) + cost * o.get("count", 1)
    build = max(spent, key=lambda what: (spent[what], what)) if spent else "save"
    war = any(o["kind"] == "diplomacy" and o.get("stance") == "enemy" for o in orders)
    return {
        "fleets": int(bool(kinds & {"blockade", "bombard", "invade"})),
        "build": HEADS["build"].index(build),
        "research": HEADS["research"].index(field) if field in HEADS["research"] else 0,
        "diplomacy": int(war),
        "tax": min(range(len(HEADS["tax"])), key=lambda i: (abs(HEADS["tax"][i] - rate), i)),
    }
