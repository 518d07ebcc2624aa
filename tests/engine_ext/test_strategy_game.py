"""A whole strategy game: four AI personalities for 100 turns, every rule's invariant checked each turn."""
from __future__ import annotations

from dataclasses import asdict

import pytest

from engine_ext import strategy_rules as rules
from engine_ext.strategy_ai import PERSONALITIES, orders
from engine_ext.strategy_orders import validate
from engine_ext.strategy_ref import resolve
from engine_ext.strategy_state import new_game

PLAYERS = ("aggressive", "economic", "turtle", "expansionist")


def check_invariants(before, after, report) -> None:
    galaxy = after.galaxy
    for house in after.houses:
        assert house.treasury >= 0, f"house {house.hid} is in debt"
        assert all(1 <= level <= rules.MAX_LEVEL for level in house.tech)
    for system, colony in after.colonies.items():
        assert colony.system == system and 0 <= colony.owner < len(after.houses)
        assert 0 <= colony.population <= rules.POPULATION_CAP[galaxy.planet_class[system]]
        assert colony.industry >= 0 and colony.armies >= 0 and 0 <= colony.starbases <= rules.STARBASES_MAX
    for fid, fleet in after.fleets.items():
        assert fleet.fid == fid and 0 <= fleet.system < galaxy.systems and fleet.size > 0
        assert all(0 <= c <= n for c, n in zip(fleet.crippled, fleet.ships, strict=True)), "more crippled than ships"
        assert after.houses[fleet.owner].alive
    assert len({id(f) for f in after.fleets.values()}) == len(after.fleets)  # no ship in two fleets
    minted = sum(h.prestige for h in after.houses) - sum(h.prestige for h in before.houses)
    assert minted == report.minted, "prestige moved between houses without adding up"


def test_a_hundred_turns_of_four_personalities_keep_every_invariant():
    game = new_game(rings=4, houses=4, seed=2026)
    winner = None
    for _ in range(100):
        given = {h.hid: orders(game, h.hid, PLAYERS[h.hid]) for h in game.houses if h.alive}
        for hid, house_orders in given.items():
            assert validate(game, hid, house_orders) == [], f"the {PLAYERS[hid]} AI gave an invalid order"
        after, report = resolve(game, given, turn_limit=100)
        assert report.refused == {}
        check_invariants(game, after, report)
        game, winner = after, report.winner
        if winner is not None:
            break
    assert winner is not None and game.houses[winner].alive
    assert sum(1 for c in game.colonies.values()) > 4                     # they spread


@pytest.mark.parametrize("personality", sorted(PERSONALITIES))
def test_every_personality_plays_valid_orders_from_the_start(personality):
    game = new_game(rings=3, houses=2, seed=7)
    for _ in range(8):
        given = {h.hid: orders(game, h.hid, personality) for h in game.houses}
        assert all(validate(game, hid, o) == [] for hid, o in given.items())
        game, _ = resolve(game, given)
    assert len(game.colonies) > 2                                          # everyone settles


def test_the_same_seed_plays_the_same_game():
    def play(seed):
        game = new_game(rings=3, houses=3, seed=seed)
        for _ in range(25):
            game, _ = resolve(game, {h.hid: orders(game, h.hid, PLAYERS[h.hid]) for h in game.houses if h.alive})
        return asdict(game)
    assert play(5) == play(5) != play(6)
