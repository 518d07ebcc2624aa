"""Monte Carlo fights: the compiled ``_combat`` plays exactly the fights ``combat_ref`` plays."""
from __future__ import annotations

import os

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from engine_ext import combat, combat_ref
from engine_ext.combat_ref import FOES, PARTY, SimFighter, SimStrike

from .test_dice import load_compiled

strikes = st.builds(SimStrike, attack=st.integers(-2, 30),
                    terms=st.lists(st.tuples(st.integers(1, 4), st.integers(2, 12)), min_size=1, max_size=3).map(tuple),
                    flat=st.integers(-3, 12), agile=st.booleans())


def fighters(side: int):
    return st.builds(SimFighter, side=st.just(side), hp=st.integers(1, 120), ac=st.integers(10, 40),
                     perception=st.integers(-2, 25), strikes=st.lists(strikes, max_size=3).map(tuple),
                     shield=st.booleans(), cowardly=st.booleans(), character=st.just(side == PARTY))


rosters = st.tuples(st.lists(fighters(PARTY), min_size=1, max_size=6),
                    st.lists(fighters(FOES), min_size=1, max_size=6)).map(lambda sides: tuple(sides[0] + sides[1]))


def compiled_module():
    return load_compiled("engine_ext._combat")


@settings(max_examples=150, deadline=None)
@given(roster=rosters, seed=st.integers(0, 2**64 - 1), fights=st.integers(1, 40), max_rounds=st.integers(1, 25))
def test_compiled_and_reference_fights_are_identical(roster, seed, fights, max_rounds):
    compiled = compiled_module()
    assert compiled.simulate(roster, fights, seed, max_rounds) == combat_ref.simulate(roster, fights, seed, max_rounds)


def test_the_facade_serves_the_compiled_fights_when_built():
    assert combat.COMPILED == (not os.environ.get("EVERTURN_NO_EXTENSIONS"))


def party(n=4, hp=40):
    return [SimFighter(PARTY, hp, 19, 9, (SimStrike(9, ((1, 8),), 4), SimStrike(9, ((1, 4),), 4, True)),
                       shield=True, character=True) for _ in range(n)]


def foes(n, attack=10, hp=30, ac=17, cowardly=False):
    return [SimFighter(FOES, hp, ac, 7, (SimStrike(attack, ((1, 10),), 4),), cowardly=cowardly) for _ in range(n)]


def test_estimates_move_the_way_the_fight_does():
    easy = combat.estimate(tuple(party() + foes(2, attack=6, hp=15, ac=14)), fights=2000, seed=7)
    hard = combat.estimate(tuple(party() + foes(6, attack=14, hp=50, ac=21)), fights=2000, seed=7)
    assert easy["win_probability"] > 0.95 > 0.3 > hard["win_probability"]
    assert easy["expected_deaths"]["mean"] < hard["expected_deaths"]["mean"]
    low, high = hard["win_probability_ci95"]
    assert low <= hard["win_probability"] <= high and high - low < 0.05
    assert combat.estimate(tuple(party() + foes(3)), fights=500, seed=3) == combat.estimate(
        tuple(party() + foes(3)), fights=500, seed=3)                       # same seed, same answer


def test_cowards_flee_and_a_fled_side_loses():
    result = combat_ref.simulate(tuple(party(1, hp=200) + foes(1, attack=0, hp=40, cowardly=True)), 200, 5)
    assert result[0] == 200                                                 # the party always wins


@pytest.mark.parametrize("roster, message", [
    ((), "2 to 32 fighters"),
    (tuple(party(2)), "both sides"),
    (tuple(party(1) + [SimFighter(FOES, 0, 10, 0, ())]), "HP >= 1"),
    (tuple(party(1) + [SimFighter(FOES, 5, 10, 0, (SimStrike(1, ((1, 1),)),))]), "2 to 1000 faces"),
])
def test_bad_rosters_are_refused(roster, message):
    with pytest.raises(ValueError, match=message):
        combat.estimate(roster, fights=10)


def test_the_bench_plays_the_same_fights_both_ways_and_reports_its_keys(monkeypatch):
    compiled_module()
    from server.bench import engine as bench

    monkeypatch.setattr(bench, "REFERENCE_FIGHTS", 50)
    monkeypatch.setattr(bench, "COMPILED_FIGHTS", 500)
    result = bench.measure(seed=3)
    assert {"cython_ratio", "fights_per_s"} <= set(result) and result["details"]["reference_fights"] == 50
    assert result["fights_per_s"] > 0 and result["cython_ratio"] > 0
