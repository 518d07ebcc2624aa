"""A new strategy game, and every way an order is accepted or refused."""
from __future__ import annotations

import pytest

from engine_ext import strategy_rules as rules
from engine_ext.strategy_orders import Order, validate
from engine_ext.strategy_state import add_fleet, new_game


@pytest.fixture
def game():
    return new_game(rings=4, houses=4, seed=3)


def test_every_house_starts_alike_on_its_homeworld(game):
    assert game.galaxy.systems == 61 and len(game.houses) == 4
    for house in game.houses:
        home = game.galaxy.homeworlds[house.hid]
        colony = game.colonies[home]
        assert (colony.owner, colony.population, colony.industry, colony.docks) == (house.hid, 840, 420, 10)
        assert (house.treasury, house.prestige, house.tax, house.tech) == (1000, 100, 50, [1, 1, 1])
        mine = [f for f in game.fleets.values() if f.owner == house.hid]
        assert len(mine) == 5 and all(f.system == home for f in mine)
        assert sum(f.ships[rules.SHIP_INDEX["colony_ship"]] for f in mine) == 2
    assert game.diplomacy == [[rules.NEUTRAL] * 4 for _ in range(4)]


def codes(game, house, orders):
    return [(r.index, r.code) for r in validate(game, house, orders)]


def test_good_orders_pass(game):
    home = game.galaxy.homeworlds[0]
    fleets = [f.fid for f in game.fleets.values() if f.owner == 0]
    free = next(s for s in range(game.galaxy.systems) if s not in game.colonies)
    orders = [Order("move", fleet=fleets[2], system=0), Order("colonize", fleet=fleets[0], system=free),
              Order("hold", fleet=fleets[3]), Order("build", system=home, ship="destroyer", count=2),
              Order("research", field="weapons", amount=100), Order("set_tax", amount=40),
              Order("diplomacy", house=1, stance="hostile")]
    assert validate(game, 0, orders) == []


def test_each_refusal_names_its_reason(game):
    home, other = game.galaxy.homeworlds[0], game.galaxy.homeworlds[1]
    mine = [f.fid for f in game.fleets.values() if f.owner == 0]
    theirs = next(f.fid for f in game.fleets.values() if f.owner == 1)
    scout = next(f.fid for f in game.fleets.values() if f.owner == 0 and f.ships[rules.SHIP_INDEX["scout"]])
    orders = [
        Order("teleport"),                                               # 0
        Order("move", fleet=999, system=0),                              # 1
        Order("move", fleet=theirs, system=0),                           # 2
        Order("move", fleet=mine[0], system=0),
        Order("hold", fleet=mine[0]),                                    # 4: the same fleet twice
        Order("move", fleet=mine[1], system=10_000),                     # 5
        Order("colonize", fleet=scout, system=0),                        # 6: a scout is no colony ship
        Order("colonize", fleet=mine[1], system=other),                  # 7: someone lives there (5 was refused,
                                                                         #    so the fleet is still free)
        Order("bombard", fleet=mine[2], system=other),                   # 8: not at war
        Order("blockade", fleet=mine[3], system=home),                   # 9: your own
        Order("build", system=other, ship="destroyer"),                  # 10
        Order("build", system=home, ship="dreadnought"),                 # 11: construction 5 needed
        Order("build", system=home, ship="warbird"),                     # 12
        Order("build", system=home, ship="destroyer", count=8),
        Order("build", system=home, ship="corvette", count=3),           # 14: 10 docks, 8 taken
        Order("build", system=home, ship="light_cruiser", count=1),      # 15: 960 + 170 > 1000
        Order("research", field="alchemy", amount=5),                    # 16
        Order("set_tax", amount=120),                                    # 17
        Order("diplomacy", house=0, stance="enemy"),                     # 18: yourself
        Order("diplomacy", house=2, stance="friends"),                   # 19
    ]
    assert codes(game, 0, orders) == [
        (0, "strategy/unknown_order"), (1, "strategy/no_such_fleet"), (2, "strategy/not_your_fleet"),
        (4, "strategy/fleet_ordered_twice"), (5, "strategy/no_such_system"), (6, "strategy/no_colony_ship"),
        (7, "strategy/already_colonized"), (8, "strategy/not_at_war"), (9, "strategy/own_colony"),
        (10, "strategy/not_your_colony"), (11, "strategy/tech_too_low"), (12, "strategy/unknown_ship"),
        (14, "strategy/no_docks"), (15, "strategy/unaffordable"), (16, "strategy/unknown_field"),
        (17, "strategy/bad_tax"), (18, "strategy/no_such_house"), (19, "strategy/bad_stance")]
    refusal = next(r for r in validate(game, 0, orders) if r.index == 11)
    assert refusal.message == "a dreadnought needs construction 5 (you have 1)"


def test_war_makes_hostile_acts_legal_and_troops_are_needed_to_invade(game):
    other = game.galaxy.homeworlds[1]
    warship = next(f.fid for f in game.fleets.values() if f.owner == 0 and f.ships[rules.SHIP_INDEX["destroyer"]])
    game.diplomacy[0][1] = rules.ENEMY
    assert validate(game, 0, [Order("bombard", fleet=warship, system=other)]) == []
    assert codes(game, 0, [Order("invade", fleet=warship, system=other)]) == [(0, "strategy/no_transports")]
    troops = add_fleet(game, 0, game.galaxy.homeworlds[0], {"transport": 2})
    assert validate(game, 0, [Order("invade", fleet=troops.fid, system=other)]) == []


def test_a_crippled_ship_keeps_its_fleet_off_restricted_lanes(game):
    from dataclasses import replace

    from engine_ext.galaxy import RESTRICTED

    start = game.galaxy.homeworlds[0]
    island = next(s for s in range(1, game.galaxy.systems) if s not in game.galaxy.homeworlds)
    lanes = tuple((a, b, RESTRICTED if island in (a, b) else kind) for a, b, kind in game.galaxy.lanes)
    game.galaxy = replace(game.galaxy, lanes=lanes)                        # only restricted lanes reach it
    fleet = add_fleet(game, 0, start, {"destroyer": 1})
    assert validate(game, 0, [Order("move", fleet=fleet.fid, system=island)]) == []
    fleet.crippled[rules.SHIP_INDEX["destroyer"]] = 1
    refusal = validate(game, 0, [Order("move", fleet=fleet.fid, system=island)])
    assert [r.code for r in refusal] == ["strategy/unreachable"] and "crippled" in refusal[0].message
