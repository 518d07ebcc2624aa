"""A house's orders for a turn, and the rules that accept or refuse each one.

``validate(game, house, orders)`` answers every refusal at once: (index, code, message),
the code machine-readable (``strategy/unreachable``), the message saying what to change.
Accepted orders never fail later for a reason known now (their cost is checked against
the treasury together, in the order given).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from . import strategy_rules as rules
from .strategy_state import Fleet, Game

FLEET_ORDERS = ("move", "patrol", "hold", "colonize", "blockade", "bombard", "invade")
HOUSE_ORDERS = ("build", "research", "set_tax", "diplomacy")
KINDS = FLEET_ORDERS + HOUSE_ORDERS
AT_TARGET = ("colonize", "blockade", "bombard", "invade")   # the fleet must reach the target system
HOSTILE_ACTS = ("blockade", "bombard", "invade")            # only against the colonies of a house at enemy
MAX_ORDERS = 500


@dataclass(frozen=True, slots=True)
class Order:
    kind: str
    fleet: int | None = None       # fleet orders
    system: int | None = None      # move/patrol target, colony to build at, target of colonize/blockade/...
    ship: str | None = None        # build: a ship class, "starbase", "shipyard" or "army"
    count: int = 1                 # build: how many
    field: str | None = None       # research: the field
    amount: int = 0                # research: PP to put in; set_tax: the rate
    house: int | None = None       # diplomacy: toward whom
    stance: str | None = None      # diplomacy: neutral | hostile | enemy


def compact(order: Order) -> dict[str, Any]:
    """An order as JSON: its kind and the fields that differ from their defaults."""
    defaults = Order(order.kind)
    return {name: getattr(order, name) for name in Order.__slots__
            if name == "kind" or getattr(order, name) != getattr(defaults, name)}


@dataclass(frozen=True, slots=True)
class Refusal:
    index: int
    code: str
    message: str


def validate(game: Game, house: int, orders: list[Order]) -> list[Refusal]:
    """Every refused order with why; an empty list: all accepted."""
    refusals: list[Refusal] = []
    if len(orders) > MAX_ORDERS:
        return [Refusal(MAX_ORDERS, "strategy/too_many_orders", f"at most {MAX_ORDERS} orders a turn")]
    spent = 0
    docks_used: dict[int, int] = {}
    ordered_fleets: set[int] = set()
    taxed = False
    for index, order in enumerate(orders):
        try:
            spent += check(game, house, order, spent, docks_used, ordered_fleets, taxed)
            taxed = taxed or order.kind == "set_tax"
        except Refused as exc:
            refusals.append(Refusal(index, exc.code, exc.message))
    return refusals


class Refused(Exception):
    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code, self.message = code, message


def check(game: Game, house: int, order: Order, spent: int, docks_used: dict[int, int], ordered_fleets: set[int],
          taxed: bool) -> int:
    """Raise Refused, or return the PP the order costs."""
    me = game.houses[house]
    if order.kind not in KINDS:
        raise Refused("strategy/unknown_order", f"no order {order.kind!r}; one of {', '.join(KINDS)}")
    if order.kind in FLEET_ORDERS:
        fleet = game.fleets.get(order.fleet) if order.fleet is not None else None
        if fleet is None:
            raise Refused("strategy/no_such_fleet", f"no fleet {order.fleet}")
        if fleet.owner != house:
            raise Refused("strategy/not_your_fleet", f"fleet {order.fleet} belongs to house {fleet.owner}")
        if fleet.fid in ordered_fleets:
            raise Refused("strategy/fleet_ordered_twice", f"fleet {fleet.fid} already has an order this turn")
        fleet_order(game, house, order, fleet)
        ordered_fleets.add(fleet.fid)  # only an accepted order takes the fleet
        return 0
    if order.kind == "set_tax":
        if taxed:
            raise Refused("strategy/tax_set_twice", "one tax rate a turn")
        if not rules.TAX_MIN <= order.amount <= rules.TAX_MAX:
            raise Refused("strategy/bad_tax", f"a tax rate is {rules.TAX_MIN} to {rules.TAX_MAX} percent")
        return 0
    if order.kind == "diplomacy":
        if order.house is None or not 0 <= order.house < len(game.houses) or order.house == house:
            raise Refused("strategy/no_such_house", f"no other house {order.house}")
        if not game.houses[order.house].alive:
            raise Refused("strategy/house_gone", f"house {order.house} is out of the game")
        if order.stance not in rules.DIPLOMACY:
            raise Refused("strategy/bad_stance", f"a stance is one of {', '.join(rules.DIPLOMACY)}")
        return 0
    if order.kind == "research":
        if order.field not in rules.FIELDS:
            raise Refused("strategy/unknown_field", f"research one of {', '.join(rules.FIELDS)}")
        if order.amount <= 0:
            raise Refused("strategy/bad_amount", "put a positive number of PP into research")
        return affordable(me.treasury, spent, order.amount)
    # build
    colony = game.colonies.get(order.system) if order.system is not None else None
    if colony is None or colony.owner != house:
        raise Refused("strategy/not_your_colony", f"build at one of your colonies, not system {order.system}")
    if order.count < 1 or order.count > rules.FLEET_SHIPS_MAX:
        raise Refused("strategy/bad_count", f"build 1 to {rules.FLEET_SHIPS_MAX} at a time")
    construction = me.tech[rules.FIELDS.index("construction")]
    if order.ship == "shipyard":
        return affordable(me.treasury, spent, rules.SHIPYARD_COST * order.count)
    if order.ship == "army":
        return affordable(me.treasury, spent, rules.ARMY_COST * order.count)
    if order.ship == "starbase":
        if colony.starbases + order.count > rules.STARBASES_MAX:
            raise Refused("strategy/too_many_starbases", f"at most {rules.STARBASES_MAX} starbases a colony")
        if construction < rules.STARBASE.tech:
            raise Refused("strategy/tech_too_low", f"starbases need construction {rules.STARBASE.tech}")
        return affordable(me.treasury, spent, rules.STARBASE.cost * order.count)
    if order.ship not in rules.SHIP_INDEX:
        raise Refused("strategy/unknown_ship", f"no ship class {order.ship!r}; one of "
                      f"{', '.join(rules.SHIP_INDEX)}, starbase, shipyard, army")
    ship = rules.SHIPS[rules.SHIP_INDEX[order.ship]]
    if construction < ship.tech:
        raise Refused("strategy/tech_too_low", f"a {ship.name} needs construction {ship.tech} (you have "
                      f"{construction})")
    used = docks_used.get(colony.system, 0)
    if used + order.count > colony.docks:
        raise Refused("strategy/no_docks", f"system {colony.system} has {colony.docks - used} free docks, "
                      f"{order.count} asked")
    cost = affordable(me.treasury, spent, ship.cost * order.count)
    docks_used[colony.system] = used + order.count
    return cost


def fleet_order(game: Game, house: int, order: Order, fleet: Fleet) -> None:
    """Raise Refused unless ``fleet`` can carry ``order`` out."""
    if order.kind == "hold":
        return
    target = order.system
    if target is None or not 0 <= target < game.galaxy.systems:
        raise Refused("strategy/no_such_system", f"no system {target}")
    crippled = any(fleet.crippled)
    if game.galaxy.path_cost(fleet.system, target, allow_restricted=not crippled) is None:
        raise Refused("strategy/unreachable", f"fleet {fleet.fid} cannot reach system {target}"
                      + (" (a crippled ship cannot use restricted lanes)" if crippled else ""))
    colony = game.colonies.get(target)
    if order.kind == "colonize":
        if not fleet.ships[rules.SHIP_INDEX["colony_ship"]]:
            raise Refused("strategy/no_colony_ship", f"fleet {fleet.fid} carries no colony ship")
        if colony is not None:
            raise Refused("strategy/already_colonized", f"system {target} is house {colony.owner}'s colony")
    if order.kind in HOSTILE_ACTS:
        if colony is None:
            raise Refused("strategy/no_colony_there", f"system {target} has no colony to {order.kind}")
        if colony.owner == house:
            raise Refused("strategy/own_colony", f"system {target} is your own colony")
        if game.diplomacy[house][colony.owner] != rules.ENEMY:
            raise Refused("strategy/not_at_war", f"house {colony.owner} is not your enemy: declare it "
                          f"(diplomacy enemy) before you {order.kind} its colonies")
        if not any(fleet.ships[i] for i in rules.WARSHIPS) and order.kind != "invade":
            raise Refused("strategy/no_warships", f"fleet {fleet.fid} has no warships to {order.kind} with")
        if order.kind == "invade" and not fleet.ships[rules.SHIP_INDEX["transport"]]:
            raise Refused("strategy/no_transports", f"fleet {fleet.fid} carries no troops (transports)")


def affordable(treasury: int, spent: int, cost: int) -> int:
    if spent + cost > treasury:
        raise Refused("strategy/unaffordable", f"{cost} PP asked with {treasury - spent} PP left this turn")
    return cost
