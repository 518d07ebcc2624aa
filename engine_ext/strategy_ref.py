"""Resolving a strategy turn, the reference: the readable rules the Cython resolver must match.

``resolve(game, orders)`` takes this turn's orders of every house and returns the next
state and a report.  The phases run in a fixed cycle, conflict -> income -> command ->
production; a call runs command and production of this turn, then conflict and income of
the next, so the houses always give orders on a settled state (an attack ordered on turn
N is fought at the start of turn N + 1):

1. **Conflict**, where the fleets stopped: enemies sharing a system fight (up to three
   rounds; each side's attack times a d10 effectiveness table lands as damage; every enemy
   ship is crippled before any is destroyed; a side below its rules of engagement's share of
   its starting strength retreats home); then blockades, bombardments, invasions (marines
   against armies), colonizations (several claims on one system: d100 + 2 x fleet attack).
2. **Income**: each colony's output (population x resource grade + industry x construction;
   40% while blockaded) taxed into the treasury; growth up to the planet's cap; upkeep;
   prestige for taxes.  Houses with nothing left are eliminated.
3. **Command**: the orders ``screen`` accepted (every house's judged on the turn's state:
   orders are simultaneous; a refused order is reported and skipped): tax, diplomacy,
   research (levels bought with points), builds paid now.
4. **Production**: fleets move along their cheapest path (two movement points a turn; a
   lane costs its class's cost; the first jump of a turn is always allowed), and the
   builds of this turn come out of the docks.

``settle`` is the resolution proper (movement, combat, economy) that the compiled
``_strategy.settle`` computes on flat arrays; ``strategy_turn.resolve`` picks the one built.
Every die comes from the game's SplitMix64 stream (``Game.dice_used``), read in a fixed
order: the same seed and orders give the same game.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from . import strategy_rules as rules
from .dice_ref import Stream
from .strategy_orders import FLEET_ORDERS, MAX_ORDERS, Order, validate
from .strategy_state import Colony, Fleet, Game, add_fleet

MOVEMENT_POINTS = 2


@dataclass
class Report:
    turn: int
    refused: dict[int, list[tuple[int, str, str]]] = field(default_factory=dict)  # house -> (index, code, message)
    battles: list[dict] = field(default_factory=list)
    colonized: list[tuple[int, int]] = field(default_factory=list)                 # (house, system)
    captured: list[tuple[int, int, int]] = field(default_factory=list)             # (house, system, from house)
    eliminated: list[int] = field(default_factory=list)
    winner: int | None = None
    minted: int = 0  # prestige made or lost outside the zero-sum transfers (colonies, tech, taxes, penalties)


def resolve(game: Game, orders: dict[int, list[Order]], turn_limit: int | None = None) -> tuple[Game, Report]:
    """The next turn's state and what happened; ``game`` is not changed."""
    accepted, refused = screen(game, orders)
    after, report = settle(game, accepted, turn_limit)
    report.refused = refused
    return after, report


def screen(game: Game, orders: dict[int, list[Order]]) -> tuple[dict[int, list[Order]], dict[int, list[tuple]]]:
    """(each live house's accepted orders, each house's refusals), every house judged on the turn's
    state: orders are simultaneous, so one house's orders never decide whether another's stand.
    More than ``MAX_ORDERS`` orders are refused together."""
    accepted: dict[int, list[Order]] = {}
    refused: dict[int, list[tuple[int, str, str]]] = {}
    for hid in sorted(orders):
        if not game.houses[hid].alive:
            continue
        given = orders[hid]
        refusals = validate(game, hid, given)
        if refusals:
            refused[hid] = [(r.index, r.code, r.message) for r in refusals]
        skip = {r.index for r in refusals}
        accepted[hid] = [] if len(given) > MAX_ORDERS else [o for i, o in enumerate(given) if i not in skip]
    return accepted, refused


def settle(game: Game, accepted: dict[int, list[Order]], turn_limit: int | None = None) -> tuple[Game, Report]:
    """The turn's resolution proper (movement, combat, economy) on orders ``screen`` accepted:
    what the compiled resolver computes too.  ``game`` is not changed."""
    game = game.copy()
    report = Report(game.turn)
    stream = Stream(game.seed, game.dice_used)
    fleet_orders = command(game, accepted, report)
    production(game, fleet_orders)
    game.turn += 1  # the next turn begins: what the fleets ran into is fought out, then paid for
    conflict(game, fleet_orders, stream, report)
    income(game, report)
    game.dice_used = stream.counter
    finish(game, report, turn_limit)
    return game, report


# -- 1. conflict -----------------------------------------------------------------------------

def strength(fleet: Fleet) -> int:
    return fleet_strength(fleet.weapons, fleet.ships, fleet.crippled)


def conflict(game: Game, standing: dict[int, Order], stream: Stream, report: Report) -> None:
    for system in sorted({f.system for f in game.fleets.values()}):
        houses = sorted({f.owner for f in game.fleets_at(system)})
        for a_index, a in enumerate(houses):
            for b in houses[a_index + 1:]:
                at_war = game.diplomacy[a][b] == rules.ENEMY or game.diplomacy[b][a] == rules.ENEMY
                here = {f.owner for f in game.fleets_at(system)}  # a house that retreated has left
                if at_war and a in here and b in here:
                    battle(game, system, a, b, stream, report)
    for fid in sorted(standing):
        order, fleet = standing[fid], game.fleets.get(fid)
        if fleet is None or order.system is None or fleet.system != order.system:
            continue
        colony = game.colonies.get(order.system)
        if order.kind == "blockade" and colony is not None and strength(fleet) > 0:
            colony.blockaded = True
        elif order.kind == "bombard" and colony is not None:
            bombard(colony, strength(fleet))
        elif order.kind == "invade" and colony is not None and colony.owner != fleet.owner:
            invade(game, fleet, colony, report)
    colonize(game, standing, stream, report)
    for fid in [fid for fid, fleet in game.fleets.items() if fleet.size == 0]:
        del game.fleets[fid]


def battle(game: Game, system: int, a: int, b: int, stream: Stream, report: Report) -> None:
    """Houses ``a`` and ``b`` fight at ``system`` (``fight`` runs the rounds)."""
    fleets = {h: [f for f in game.fleets_at(system) if f.owner == h] for h in (a, b)}
    sides = [[(f.fid, f.weapons, f.roe, list(f.ships), list(f.crippled)) for f in fleets[h]] for h in (a, b)]
    rounds, retreat_a, retreat_b, after_a, after_b, stream.counter = fight(sides[0], sides[1], stream.seed,
                                                                           stream.counter)
    retreated = {a: retreat_a, b: retreat_b}
    for h, after in ((a, after_a), (b, after_b)):
        kept = {fid: (ships, crippled) for fid, ships, crippled in after}
        for fleet in fleets[h]:
            if fleet.fid not in kept:
                del game.fleets[fleet.fid]
                continue
            fleet.ships, fleet.crippled = list(kept[fleet.fid][0]), list(kept[fleet.fid][1])
            if retreated[h]:
                fleet.system = game.galaxy.homeworlds[h]
    alive = {h: bool(after) and not retreated[h] for h, after in ((a, after_a), (b, after_b))}
    winner = a if alive[a] and not alive[b] else b if alive[b] and not alive[a] else None
    if winner is not None:
        transfer(game, b if winner == a else a, winner, rules.PRESTIGE["battle_won"])
    report.battles.append({"system": system, "houses": [a, b], "rounds": rounds, "winner": winner,
                           "retreated": sorted(h for h in (a, b) if retreated[h])})


def fleet_strength(weapons: int, ships: list[int], crippled: list[int]) -> int:
    """Attack of a fleet: intact ships whole, crippled ones half; weapons level from its build."""
    total = 0
    for i, ship in enumerate(rules.SHIPS):
        total += (ships[i] - crippled[i]) * ship.attack * 2 + crippled[i] * ship.attack
    return total * (100 + (weapons - 1) * rules.WEAPONS_STEP_PERCENT) // 200


def fight(side_a: list[tuple], side_b: list[tuple], seed: int, counter: int) -> tuple:
    """A battle's rounds, on plain data: each side a list of (fid, weapons, roe, ships, crippled).

    Up to three rounds while both sides have ships and neither has retreated: each side's
    strength times a d10 effectiveness (side a's die first) lands on the other; then a side
    whose strength fell below its rules of engagement's share of its start retreats.
    Returns (rounds, a retreated, b retreated, a's fleets left, b's fleets left, the stream's
    position), fleets left as (fid, ships, crippled).
    """
    stream = Stream(seed, counter)
    sides = [[[fid, weapons, roe, list(ships), list(crippled)] for fid, weapons, roe, ships, crippled in side]
             for side in (side_a, side_b)]

    def power(side: list[list]) -> int:
        return sum(fleet_strength(f[1], f[3], f[4]) for f in side)

    start = [power(side) for side in sides]
    retreated = [False, False]
    rounds = 0
    while rounds < rules.COMBAT_ROUNDS_MAX and sides[0] and sides[1] and not any(retreated):
        rounds += 1
        hits = [power(side) * rules.EFFECTIVENESS[stream.die(10) - 1] // 100 for side in sides]
        damage(sides[1], hits[0])
        damage(sides[0], hits[1])
        sides = [[f for f in side if sum(f[3]) > 0] for side in sides]
        for h in (0, 1):
            roe = min((f[2] for f in sides[h]), default=0)
            if sides[h] and start[h] and power(sides[h]) * 100 < start[h] * rules.RETREAT_AT[roe]:
                retreated[h] = True
    return (rounds, retreated[0], retreated[1], [(f[0], f[3], f[4]) for f in sides[0]],
            [(f[0], f[3], f[4]) for f in sides[1]], stream.counter)


def damage(fleets: list[list], hits: int) -> None:
    """Cripple every ship before destroying any: intact ships in order of defence (then fleet id, class),
    then, once all are crippled, the crippled ones in the same order.  Fleets are [fid, weapons, roe,
    ships, crippled] lists, changed in place."""
    order = sorted((rules.SHIPS[i].defence, f[0], i, f) for f in fleets for i in range(len(rules.SHIPS)) if f[3][i])
    for defence, _, i, fleet in order:                       # cripple
        ships, crippled = fleet[3], fleet[4]
        while ships[i] - crippled[i] > 0 and hits >= defence:
            crippled[i] += 1
            hits -= defence
    if any(f[3][i] != f[4][i] for f in fleets for i in range(len(rules.SHIPS))):
        return
    for defence, _, i, fleet in order:                       # destroy: all are crippled now
        ships, crippled = fleet[3], fleet[4]
        while crippled[i] > 0 and hits >= defence:
            crippled[i] -= 1
            ships[i] -= 1
            hits -= defence


def bombard(colony: Colony, attack: int) -> None:
    """Every 10 attack points knock out an army first, then a starbase's worth, then 10 industry."""
    points = attack // 10
    armies = min(colony.armies, points)
    colony.armies -= armies
    points -= armies
    colony.industry = max(0, colony.industry - 10 * points)


def invade(game: Game, fleet: Fleet, colony: Colony, report: Report) -> None:
    transports = fleet.ships[rules.SHIP_INDEX["transport"]] - fleet.crippled[rules.SHIP_INDEX["transport"]]
    marines = transports * rules.MARINE_ATTACK
    defence = colony.armies * rules.ARMY_DEFENCE + colony.starbases * rules.STARBASE.defence
    if transports and marines > defence:
        old = colony.owner
        report.captured.append((fleet.owner, colony.system, old))
        colony.owner, colony.armies, colony.blockaded = fleet.owner, 0, False
        transfer(game, old, fleet.owner, rules.PRESTIGE["capture"])
    fleet.ships[rules.SHIP_INDEX["transport"]] -= transports   # the troops land either way


def colonize(game: Game, standing: dict[int, Order], stream: Stream, report: Report) -> None:
    claims: dict[int, list[Fleet]] = {}
    colony_ship = rules.SHIP_INDEX["colony_ship"]
    for fid in sorted(standing):
        order, fleet = standing[fid], game.fleets.get(fid)
        if (order.kind == "colonize" and fleet is not None and fleet.system == order.system
                and fleet.ships[colony_ship] > fleet.crippled[colony_ship] and order.system not in game.colonies):
            claims.setdefault(order.system, []).append(fleet)
    for system in sorted(claims):
        contenders = claims[system]
        if len(contenders) > 1:
            scored = [(stream.die(100) + 2 * strength(f), -f.fid, f) for f in contenders]
            contenders = [max(scored)[2]]
        fleet = contenders[0]
        fleet.ships[colony_ship] -= 1
        game.colonies[system] = Colony(system, fleet.owner, rules.COLONY_START_POPULATION, 0)
        mint(game, report, fleet.owner, rules.PRESTIGE["colony"])
        report.colonized.append((fleet.owner, system))
        if fleet.size == 0:
            del game.fleets[fleet.fid]
    if claims:
        game.colonies = dict(sorted(game.colonies.items()))  # colonies stay in system order


def mint(game: Game, report: Report, hid: int, points: int) -> None:
    """Prestige from nobody: colonies, research, taxes, penalties."""
    game.houses[hid].prestige += points
    report.minted += points


def transfer(game: Game, loser: int, winner: int, points: int) -> None:
    """Zero-sum prestige: what one house loses the other gains."""
    game.houses[loser].prestige -= points
    game.houses[winner].prestige += points


# -- 2. income -----------------------------------------------------------------------------------

def output(game: Game, colony: Colony) -> int:
    construction = game.houses[colony.owner].tech[rules.FIELDS.index("construction")]
    grade = rules.RESOURCE_PERCENT[game.galaxy.resource[colony.system]]
    value = (colony.population * grade + colony.industry * (100 + (construction - 1)
                                                            * rules.INDUSTRY_PERCENT_PER_LEVEL)) // 100
    return value * rules.BLOCKADE_OUTPUT_PERCENT // 100 if colony.blockaded else value


def upkeep(fleet: Fleet) -> int:
    return sum(fleet.ships[i] * ship.cost * ship.upkeep for i, ship in enumerate(rules.SHIPS)) // 100


def income(game: Game, report: Report) -> None:
    for house in game.houses:
        if not house.alive:
            continue
        mine = [c for c in game.colonies.values() if c.owner == house.hid]
        house.treasury += sum(output(game, c) for c in mine) * house.tax // 100
        for colony in mine:
            cap = rules.POPULATION_CAP[game.galaxy.planet_class[colony.system]]
            growth = max(1, colony.population * (5 if house.tax <= rules.LOW_TAX else 3) // 100)
            colony.population = min(cap, colony.population + growth)
            colony.industry += max(2, colony.population // 50) * (100 - house.tax) // 100
            if colony.blockaded:
                mint(game, report, house.hid, rules.BLOCKADE_PRESTIGE)
            colony.blockaded = False
        bill = sum(upkeep(f) for f in game.fleets.values() if f.owner == house.hid)
        if bill > house.treasury:
            mint(game, report, house.hid, -5)
        house.treasury = max(0, house.treasury - bill)
        mint(game, report, house.hid, rules.tax_prestige(house.tax) + (len(mine) if house.tax <= rules.LOW_TAX else 0))
    for house in game.houses:
        if house.alive and not any(c.owner == house.hid for c in game.colonies.values()) and not any(
                f.owner == house.hid for f in game.fleets.values()):
            house.alive = False
            report.eliminated.append(house.hid)


# -- 3. command ------------------------------------------------------------------------------------

def command(game: Game, accepted: dict[int, list[Order]], report: Report) -> dict[int, Order]:
    """Apply the accepted orders, house by house; the fleet orders, by fleet id (movement happens next)."""
    fleets: dict[int, Order] = {}
    for hid in sorted(accepted):
        house = game.houses[hid]
        for order in accepted[hid]:
            if order.kind in FLEET_ORDERS:
                fleets[order.fleet] = order
            elif order.kind == "set_tax":
                house.tax = order.amount
            elif order.kind == "diplomacy":
                game.diplomacy[hid][order.house] = rules.DIPLOMACY.index(order.stance)
                if order.stance == "enemy":  # war is mutual
                    game.diplomacy[order.house][hid] = rules.ENEMY
            elif order.kind == "research":
                house.treasury -= order.amount
                research(game, report, hid, rules.FIELDS.index(order.field), order.amount)
            elif order.kind == "build":
                build(game, hid, order)
    return fleets


def research(game: Game, report: Report, hid: int, field_index: int, pp: int) -> None:
    house = game.houses[hid]
    house.research[field_index] += pp // 10        # 10 PP a research point
    level = house.tech[field_index]
    if level < rules.MAX_LEVEL and house.research[field_index] >= rules.LEVEL_COST[level + 1]:
        house.research[field_index] -= rules.LEVEL_COST[level + 1]
        house.tech[field_index] = level + 1
        mint(game, report, hid, rules.PRESTIGE["tech"])


def build(game: Game, hid: int, order: Order) -> None:
    house, colony = game.houses[hid], game.colonies[order.system]
    if order.ship == "shipyard":
        house.treasury -= rules.SHIPYARD_COST * order.count
        colony.docks += rules.DOCKS_PER_SHIPYARD * order.count
    elif order.ship == "army":
        house.treasury -= rules.ARMY_COST * order.count
        colony.armies += order.count
    elif order.ship == "starbase":
        house.treasury -= rules.STARBASE.cost * order.count
        colony.starbases += order.count
    else:
        house.treasury -= rules.ship_cost(order.ship) * order.count
        weapons = house.tech[rules.FIELDS.index("weapons")]
        add_fleet(game, hid, order.system, {order.ship: order.count}, weapons=weapons)


# -- 4. production ---------------------------------------------------------------------------------

def production(game: Game, fleet_orders: dict[int, Order]) -> None:
    for fid in sorted(fleet_orders):
        order, fleet = fleet_orders[fid], game.fleets.get(fid)
        if fleet is None or order.kind == "hold" or fleet.system == order.system:
            continue
        move(game, fleet, order.system)


def move(game: Game, fleet: Fleet, goal: int) -> None:
    """Along the cheapest path, jump by jump, while movement points last (the first jump always)."""
    path = cheapest_path(game, fleet.system, goal, allow_restricted=not any(fleet.crippled))
    points = MOVEMENT_POINTS
    for step, (system, cost) in enumerate(path):
        if step > 0 and cost > points:
            break
        points -= cost
        fleet.system = system


def cheapest_path(game: Game, start: int, goal: int, allow_restricted: bool) -> list[tuple[int, int]]:
    """[(system, lane cost)] from ``start`` (excluded) to ``goal``, along the map's cheapest route."""
    costs, previous = game.galaxy.routes_from(start, allow_restricted)
    if costs[goal] is None:
        return []
    path = []
    system = goal
    while system != start:
        before = previous[system]
        path.append((system, costs[system] - costs[before]))
        system = before
    return path[::-1]


# -- the end ---------------------------------------------------------------------------------------

def finish(game: Game, report: Report, turn_limit: int | None) -> None:
    alive = [h.hid for h in game.houses if h.alive]
    if len(alive) == 1:
        report.winner = alive[0]
    elif alive and turn_limit is not None and game.turn > turn_limit:
        report.winner = max(alive, key=lambda hid: (game.houses[hid].prestige, -hid))
