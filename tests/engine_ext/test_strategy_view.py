"""A house's fog of war: what it holds and what lies within its detection range, nothing more."""
from __future__ import annotations

from engine_ext.galaxy import hex_distance
from engine_ext.strategy_state import add_fleet, new_game
from engine_ext.strategy_view import view, visible_systems


def test_a_house_sees_one_jump_around_what_it_holds_and_more_with_detection():
    game = new_game(4, 4, seed=8)
    home = game.galaxy.homeworlds[0]
    seen = visible_systems(game, 0)
    assert seen == {home} | {other for other, _ in game.galaxy.neighbours(home)}
    game.houses[0].tech[2] = 2                                             # detection 2: two jumps
    assert {s for s in range(game.galaxy.systems)
            if hex_distance(game.galaxy.coords[s], game.galaxy.coords[home]) <= 2} == visible_systems(game, 0)
    add_fleet(game, 0, 0, {"scout": 1})                                    # a scout at the hub sees around it
    assert 0 in visible_systems(game, 0) and all(o in visible_systems(game, 0) for o, _ in game.galaxy.neighbours(0))


def test_others_secrets_stay_hidden_and_operators_see_everything():
    game = new_game(4, 4, seed=8)
    mine = view(game, 0)
    assert [h.get("treasury") for h in mine["houses"]] == [1000, None, None, None]
    assert {c["owner"] for c in mine["colonies"]} == {0}                   # the others' homeworlds are far away
    assert all(f["system"] in set(mine["visible"]) for f in mine["fleets"])
    everything = view(game, None)
    assert len(everything["colonies"]) == 4 and all("treasury" in h for h in everything["houses"])
