"""A strategy game as flat integer arrays: what the compiled turn resolver reads and writes.

``pack(game)`` lays a :class:`~engine_ext.strategy_state.Game` out in ``array('q')`` buffers
(one row per house, per system, per fleet; the widths below), ``unpack`` turns them back
into the same game; ``encode`` does the same for the orders ``strategy_ref.screen``
accepted, and ``report_of`` reads the resolver's event rows back into a
:class:`~engine_ext.strategy_ref.Report`.  Fleets stay in fleet-id order (as the game's
dict keeps them); a system without a colony has owner -1.

``Routes`` is a map's route table, filled lazily by the resolver one start system at a
time with the same cheapest paths as ``Galaxy.routes_from`` (same tie-breaking).
"""
from __future__ import annotations

from array import array
from collections.abc import Callable
from dataclasses import dataclass

from . import strategy_rules as rules
from .galaxy import Galaxy
from .strategy_orders import KINDS, Order
from .strategy_ref import Report
from .strategy_state import Colony, Fleet, Game, House

NFIELDS, NCLASS = len(rules.FIELDS), len(rules.SHIPS)

# meta: the game's counters, and what the resolver reports back
M_TURN, M_NEXT_FLEET, M_DICE, M_FLEETS, M_MINTED, M_WINNER, M_EVENTS, M_TURN_LIMIT = range(8)
META_WIDTH = 8
# houses
H_TREASURY, H_PRESTIGE, H_TAX, H_ALIVE, H_MISSED, H_TECH = range(6)
H_RESEARCH = H_TECH + NFIELDS
HOUSE_WIDTH = H_RESEARCH + NFIELDS
# colonies, one row per system
C_OWNER, C_POPULATION, C_INDUSTRY, C_DOCKS, C_STARBASES, C_ARMIES, C_BLOCKADED = range(7)
COLONY_WIDTH = 7
NO_COLONY = (-1, 0, 0, 0, 0, 0, 0)
# fleets, in fleet-id order
F_FID, F_OWNER, F_SYSTEM, F_ROE, F_WEAPONS, F_SHIPS = range(6)
F_CRIPPLED = F_SHIPS + NCLASS
FLEET_WIDTH = F_CRIPPLED + NCLASS
# orders: house, kind (index in KINDS), fleet, system, ship (class index or a BUILD_* code), count, field, amount,
# target house, stance; -1 where the order has none
O_HOUSE, O_KIND, O_FLEET, O_SYSTEM, O_SHIP, O_COUNT, O_FIELD, O_AMOUNT, O_TARGET, O_STANCE = range(10)
ORDER_WIDTH = 10
BUILD_SHIPYARD, BUILD_ARMY, BUILD_STARBASE = 100, 101, 102
BUILD_CODES = {"shipyard": BUILD_SHIPYARD, "army": BUILD_ARMY, "starbase": BUILD_STARBASE}
# events the resolver reports: kind and up to six numbers
E_BATTLE, E_COLONIZED, E_CAPTURED, E_ELIMINATED = 1, 2, 3, 4
EVENT_WIDTH = 7


@dataclass
class Flat:
    seed: int
    meta: array
    houses: array
    colonies: array
    fleets: array           # room for ``spare`` more fleets after ``meta[M_FLEETS]``
    diplomacy: array
    events: array


@dataclass
class Routes:
    """A map's tables for the resolver: per start system and lane rule, cost and previous system."""
    systems: int
    resource: array
    planet_class: array
    homeworlds: array
    lanes: array            # per system: up to six (other, class) pairs, -1 padded, in the order routes_from tries
    cost: array             # [allow_restricted][start][system], -1: unreachable
    previous: array
    known: array            # [allow_restricted][start]: 1 once that start's row is filled


def routes(galaxy: Galaxy) -> Routes:
    """The map's ``Routes``, made once per map (kept with it)."""
    return galaxy.derived("flat", lambda: _routes(galaxy))


def _routes(galaxy: Galaxy) -> Routes:
    n = galaxy.systems
    lanes = array("q", [-1]) * (n * 12)
    for system, links in enumerate(galaxy.adjacency()):
        for k, (other, kind) in enumerate(sorted(links)):
            lanes[system * 12 + 2 * k], lanes[system * 12 + 2 * k + 1] = other, kind
    return Routes(n, array("q", galaxy.resource), array("q", galaxy.planet_class), array("q", galaxy.homeworlds), lanes,
                  array("q", [-1]) * (2 * n * n), array("q", [-1]) * (2 * n * n), array("q", [0]) * (2 * n))


def pack(game: Game, spare: int = 0) -> Flat:
    houses = array("q", [x for h in game.houses
                         for x in (h.treasury, h.prestige, h.tax, int(h.alive), h.missed_turns, *h.tech, *h.research)])
    rows = [NO_COLONY] * game.galaxy.systems
    for system, c in game.colonies.items():
        rows[system] = (c.owner, c.population, c.industry, c.docks, c.starbases, c.armies, int(c.blockaded))
    colonies = array("q", [x for row in rows for x in row])
    fleets = array("q", [x for f in game.fleets.values()
                         for x in (f.fid, f.owner, f.system, f.roe, f.weapons, *f.ships, *f.crippled)])
    fleets.extend(array("q", [0]) * (spare * FLEET_WIDTH))
    diplomacy = array("q", [stance for row in game.diplomacy for stance in row])
    meta = array("q", [game.turn, game.next_fleet, game.dice_used, len(game.fleets), 0, -1, 0, -1])
    return Flat(game.seed, meta, houses, colonies, fleets, diplomacy, array("q"))


def unpack(flat: Flat, galaxy: Galaxy) -> Game:
    meta, nh = flat.meta, len(flat.houses) // HOUSE_WIDTH
    game = Game(galaxy=galaxy, seed=flat.seed, turn=meta[M_TURN], next_fleet=meta[M_NEXT_FLEET],
                dice_used=meta[M_DICE])
    h = flat.houses.tolist()
    for hid in range(nh):
        row = h[hid * HOUSE_WIDTH:(hid + 1) * HOUSE_WIDTH]
        game.houses.append(House(hid, row[H_TREASURY], row[H_PRESTIGE], row[H_TAX], row[H_TECH:H_RESEARCH],
                                 row[H_RESEARCH:], bool(row[H_ALIVE]), row[H_MISSED]))
    c = flat.colonies.tolist()
    for system in range(galaxy.systems):
        row = c[system * COLONY_WIDTH:(system + 1) * COLONY_WIDTH]
        if row[C_OWNER] >= 0:
            game.colonies[system] = Colony(system, row[C_OWNER], row[C_POPULATION], row[C_INDUSTRY], row[C_DOCKS],
                                           row[C_STARBASES], row[C_ARMIES], bool(row[C_BLOCKADED]))
    f = flat.fleets[:meta[M_FLEETS] * FLEET_WIDTH].tolist()
    for at in range(0, len(f), FLEET_WIDTH):
        row = f[at:at + FLEET_WIDTH]
        game.fleets[row[F_FID]] = Fleet(row[F_FID], row[F_OWNER], row[F_SYSTEM], row[F_SHIPS:F_CRIPPLED],
                                        row[F_CRIPPLED:], row[F_ROE], row[F_WEAPONS])
    d = flat.diplomacy.tolist()
    game.diplomacy = [d[a * nh:(a + 1) * nh] for a in range(nh)]
    return game


KIND_CODES = {kind: i for i, kind in enumerate(KINDS)}
FIELD_CODES = {name: i for i, name in enumerate(rules.FIELDS)}
STANCE_CODES = {name: i for i, name in enumerate(rules.DIPLOMACY)}
SHIP_CODES = {**rules.SHIP_INDEX, **BUILD_CODES}


def encode(accepted: dict[int, list[Order]]) -> tuple[array, int]:
    """(the accepted orders as rows, house by house in the order given; fleets their builds will add)."""
    rows: list[int] = []
    built = 0
    for hid in sorted(accepted):
        for o in accepted[hid]:
            ship = SHIP_CODES.get(o.ship, -1)
            rows += (hid, KIND_CODES[o.kind], _or_none(o.fleet), _or_none(o.system), ship, o.count,
                     FIELD_CODES.get(o.field, -1), o.amount, _or_none(o.house), STANCE_CODES.get(o.stance, -1))
            built += 0 <= ship < NCLASS and o.kind == "build"
    return array("q", rows), built


def _or_none(value: int | None) -> int:
    return -1 if value is None else value


def report_of(flat: Flat, turn: int) -> Report:
    report = Report(turn, minted=flat.meta[M_MINTED])
    winner = flat.meta[M_WINNER]
    report.winner = None if winner < 0 else winner
    rows = flat.events.tolist()
    for at in range(0, flat.meta[M_EVENTS] * EVENT_WIDTH, EVENT_WIDTH):
        kind, a, b, c, d, e, f = rows[at:at + EVENT_WIDTH]
        if kind == E_BATTLE:
            report.battles.append({"system": a, "houses": [b, c], "rounds": d, "winner": None if e < 0 else e,
                                   "retreated": [h for bit, h in ((1, b), (2, c)) if f & bit]})
        elif kind == E_COLONIZED:
            report.colonized.append((a, b))
        elif kind == E_CAPTURED:
            report.captured.append((a, b, c))
        elif kind == E_ELIMINATED:
            report.eliminated.append(a)
    return report


def board(game: Game, accepted: dict[int, list[Order]], turn_limit: int | None,
          packer: Callable[[Game, int], Flat] | None = None) -> tuple[Flat, array]:
    """The game packed (by ``packer``: ``pack`` or its compiled twin) with room for this turn's
    builds and report, and the accepted orders' rows."""
    rows, built = encode(accepted)
    flat = (packer or pack)(game, built + 1)  # never an empty buffer
    flat.meta[M_TURN_LIMIT] = -1 if turn_limit is None else turn_limit
    fleets, houses = len(game.fleets) + built, len(game.houses)
    # battles: at most one per pair of houses with fleets in a system; captures and colonies: one per fleet
    flat.events = array("q", [0]) * ((fleets * (houses - 1) // 2 + 2 * fleets + houses + 1) * EVENT_WIDTH)
    return flat, rows
