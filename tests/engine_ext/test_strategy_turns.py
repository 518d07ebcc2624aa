"""Resolving strategy turns, phase by phase, by the rules in engine_ext.strategy_ref's docstring."""
from __future__ import annotations

from dataclasses import asdict, replace

from engine_ext import strategy_rules as rules
from engine_ext.galaxy import MAJOR, MINOR, RESTRICTED
from engine_ext.strategy_orders import Order
from engine_ext.strategy_ref import damage, output, resolve, strength
from engine_ext.strategy_state import add_fleet, new_game


def lanes_all(game, kind):
    game.galaxy = replace(game.galaxy, lanes=tuple((a, b, kind) for a, b, _ in game.galaxy.lanes))
    return game


def test_fleets_spend_two_movement_points_a_turn_and_a_first_jump_always():
    for kind, jumps in [(MAJOR, 2), (MINOR, 1), (RESTRICTED, 1)]:
        game = lanes_all(new_game(4, 2, seed=1), kind)
        fleet = add_fleet(game, 0, 0, {"destroyer": 1})                     # at the hub
        goal = game.galaxy.systems - 1                                      # 4 rings out
        game, _ = resolve(game, {0: [Order("move", fleet=fleet.fid, system=goal)]})
        moved = game.fleets[fleet.fid].system
        from engine_ext.galaxy import hex_distance
        assert hex_distance(game.galaxy.coords[moved], (0, 0)) == jumps, kind


def test_a_colony_ship_settles_the_turn_after_it_arrives_and_prestige_rises():
    game = lanes_all(new_game(3, 2, seed=2), MAJOR)
    home = game.galaxy.homeworlds[0]
    target = next(o for o, _ in game.galaxy.neighbours(home) if o not in game.colonies)
    settler = next(f for f in game.fleets.values() if f.owner == 0 and f.ships[rules.SHIP_INDEX["colony_ship"]])
    before = game.houses[0].prestige
    game, report = resolve(game, {0: [Order("colonize", fleet=settler.fid, system=target)]})
    assert game.fleets[settler.fid].system == target                         # arrived, and settled as the
    assert game.colonies[target].owner == 0 and report.colonized == [(0, target)]   # next turn began
    assert game.colonies[target].population >= rules.COLONY_START_POPULATION
    assert game.houses[0].prestige >= before + rules.PRESTIGE["colony"] - 1  # tax at 50: no tax prestige change
    assert game.fleets[settler.fid].ships[rules.SHIP_INDEX["colony_ship"]] == 0


def test_damage_cripples_every_ship_before_destroying_any():
    ships, crippled = [0] * len(rules.SHIPS), [0] * len(rules.SHIPS)
    ships[rules.SHIP_INDEX["destroyer"]] = 2                                 # defence 6 each
    ships[rules.SHIP_INDEX["corvette"]] = 1                                  # defence 3
    fleet = [1, 1, 5, ships, crippled]                                       # fid, weapons, roe, ships, crippled
    damage([fleet], 14)                                                      # 3 + 6 cripples two; 5 left < 6
    assert crippled[rules.SHIP_INDEX["corvette"]] == 1 and crippled[rules.SHIP_INDEX["destroyer"]] == 1
    assert sum(ships) == 3
    damage([fleet], 6 + 3)          # the last destroyer is crippled first; then all are: 3 destroys the corvette
    assert crippled[rules.SHIP_INDEX["destroyer"]] == 2 and ships[rules.SHIP_INDEX["corvette"]] == 0
    damage([fleet], 6 + 5)                                                   # a crippled destroyer dies; 5 < 6
    assert sum(ships) == 1 and ships[rules.SHIP_INDEX["destroyer"]] == 1


def test_enemies_in_one_system_fight_and_the_winner_takes_prestige():
    game = new_game(3, 2, seed=4)
    game.diplomacy[0][1] = game.diplomacy[1][0] = rules.ENEMY
    strong = add_fleet(game, 0, 0, {"battleship": 3})
    weak = add_fleet(game, 1, 0, {"corvette": 1})
    prestige = [h.prestige for h in game.houses]
    game, report = resolve(game, {})
    battle = report.battles[0]
    assert battle["system"] == 0 and battle["houses"] == [0, 1] and battle["winner"] == 0
    assert weak.fid not in game.fleets and game.fleets[strong.fid].size == 3
    assert game.houses[0].prestige - prestige[0] >= rules.PRESTIGE["battle_won"] - 1
    neutral = new_game(3, 2, seed=4)
    add_fleet(neutral, 0, 0, {"battleship": 3})
    add_fleet(neutral, 1, 0, {"corvette": 1})
    assert resolve(neutral, {})[1].battles == []                            # not at war: no fight


def test_marines_take_a_colony_whose_armies_are_too_few():
    game = new_game(3, 2, seed=5)
    target = game.galaxy.homeworlds[1]
    game.diplomacy[0][1] = game.diplomacy[1][0] = rules.ENEMY
    game.colonies[target].armies = 1                                         # defence 5
    troops = add_fleet(game, 0, target, {"transport": 1})                    # marines 6 > 5
    game.fleets = {fid: f for fid, f in game.fleets.items() if f.owner == 0 or f.system != target}
    game, report = resolve(game, {0: [Order("invade", fleet=troops.fid, system=target)]})
    assert report.captured == [(0, target, 1)] and game.colonies[target].owner == 0


def test_income_is_output_taxed_and_the_blockaded_produce_less():
    game = new_game(3, 2, seed=6)
    home = game.galaxy.homeworlds[0]
    colony = game.colonies[home]
    grade = rules.RESOURCE_PERCENT[game.galaxy.resource[home]]
    assert output(game, colony) == (840 * grade + 420 * 100) // 100
    treasury = game.houses[0].treasury
    upkeep = sum(sum(f.ships[i] * s.cost * s.upkeep for i, s in enumerate(rules.SHIPS)) // 100  # per fleet
                 for f in game.fleets.values() if f.owner == 0)
    after, _ = resolve(game, {})
    assert after.houses[0].treasury == treasury + output(game, colony) * 50 // 100 - upkeep
    colony.blockaded = True
    assert output(game, colony) == (840 * grade + 420 * 100) // 100 * 40 // 100


def test_orders_apply_and_refusals_are_reported():
    game = new_game(3, 2, seed=7)
    home = game.galaxy.homeworlds[0]
    orders = [Order("set_tax", amount=30), Order("build", system=home, ship="destroyer", count=2),
              Order("research", field="weapons", amount=200), Order("build", system=home, ship="dreadnought")]
    after, report = resolve(game, {0: orders})
    house = after.houses[0]
    assert house.tax == 30 and house.tech[0] == 2                            # 200 PP = 20 points >= 10
    assert sum(f.ships[rules.SHIP_INDEX["destroyer"]] for f in after.fleets.values() if f.owner == 0) == 4
    assert [(i, code) for i, code, _ in report.refused[0]] == [(3, "strategy/tech_too_low")]
    new_fleet = max(f.fid for f in after.fleets.values() if f.owner == 0)
    # orders apply in the order given: the destroyers were built before the research, at weapons 1
    assert after.fleets[new_fleet].weapons == 1 and strength(after.fleets[new_fleet]) > 0


def test_the_same_seed_and_orders_give_the_same_game():
    def play():
        game = new_game(4, 4, seed=99)
        for _ in range(20):
            orders = {h.hid: [Order("move", fleet=f.fid, system=0) for f in game.fleets.values()
                              if f.owner == h.hid][:2] for h in game.houses}
            for row in game.diplomacy:
                row[:] = [rules.ENEMY] * len(row)
            game, _ = resolve(game, orders)
        return asdict(game)
    assert play() == play()
