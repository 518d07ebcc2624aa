"""Every number of engine_ext.pf2e, written from the rules (the PF2e Remaster text), not from the code."""
from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from engine_ext import pf2e
from engine_ext.pf2e import CRITICAL_FAILURE as CF
from engine_ext.pf2e import CRITICAL_SUCCESS as CS
from engine_ext.pf2e import FAILURE as F
from engine_ext.pf2e import SUCCESS as S


@pytest.mark.parametrize("total, dc, natural, expected", [
    (30, 20, None, CS),   # beat by 10
    (29, 20, None, S),    # beat by 9
    (20, 20, None, S),    # meet it
    (19, 20, None, F),    # miss by 1
    (11, 20, None, F),    # miss by 9
    (10, 20, None, CF),   # miss by 10
    (25, 20, 20, CS),     # a natural 20 raises a success
    (30, 20, 20, CS),     # ... and a critical success stays one
    (15, 20, 20, S),      # raises a failure to a success
    (5, 20, 20, F),       # raises a critical failure to a failure (across the boundary)
    (21, 20, 1, F),       # a natural 1 lowers a success
    (31, 20, 1, S),       # lowers a critical success to a success
    (15, 20, 1, CF),      # lowers a failure
    (5, 20, 1, CF),       # a critical failure stays one
])
def test_degrees_of_success(total, dc, natural, expected):
    assert pf2e.degree(total, dc, natural) == expected


@pytest.mark.parametrize("before, agile, penalty", [
    (0, False, 0), (1, False, -5), (2, False, -10), (5, False, -10),
    (0, True, 0), (1, True, -4), (2, True, -8), (3, True, -8),
])
def test_multiple_attack_penalty(before, agile, penalty):
    assert pf2e.multiple_attack_penalty(before, agile) == penalty


@pytest.mark.parametrize("modifiers, total", [
    ([("status", -1), ("status", -2)], -2),                      # worst status penalty only
    ([("circumstance", -2), ("status", -1), ("item", -1)], -4),   # different types add up
    ([("untyped", -1), ("untyped", -2)], -3),                     # untyped penalties stack
    ([("status", 2), ("status", 1), ("status", -3)], -1),         # best bonus and worst penalty of a type
    ([("circumstance", 2), ("circumstance", -2), ("untyped", -1)], -1),
    ([], 0),
])
def test_stacking(modifiers, total):
    assert pf2e.stack(modifiers) == total


def test_an_unknown_modifier_type_is_an_error():
    with pytest.raises(ValueError, match="unknown modifier type"):
        pf2e.stack([("luck", 1)])


@pytest.mark.parametrize("conditions, statistic, total", [
    ({"frightened": 2}, "will", -2), ({"frightened": 2}, "ac", -2), ({"frightened": 2}, "damage", 0),
    ({"sickened": 1, "frightened": 3}, "melee", -3),        # both status: the worst
    ({"clumsy": 2}, "ac", -2), ({"clumsy": 2}, "reflex", -2), ({"clumsy": 2}, "ranged", -2),
    ({"clumsy": 2}, "melee", 0), ({"clumsy": 2}, "will", 0),
    ({"enfeebled": 1}, "melee", -1), ({"enfeebled": 1}, "damage", -1), ({"enfeebled": 1}, "ranged", 0),
    ({"off_guard": 1}, "ac", -2), ({"off_guard": 1}, "reflex", 0),
    ({"off_guard": 1, "frightened": 1}, "ac", -3),           # circumstance and status add
    ({"unconscious": 1}, "ac", -6), ({"unconscious": 1}, "perception", -4), ({"unconscious": 1}, "reflex", -4),
    ({"unconscious": 1}, "will", 0),
    ({"prone": 1}, "ac", -2), ({"prone": 1}, "melee", -2), ({"prone": 1}, "ranged", -2), ({"prone": 1}, "will", 0),
    ({"prone": 1, "off_guard": 1}, "ac", -2),                # both circumstance: the worst, once
])
def test_conditions_penalise_what_they_name(conditions, statistic, total):
    assert pf2e.stack(pf2e.condition_modifiers(conditions, statistic)) == total


@pytest.mark.parametrize("slowed, stunned, actions, stunned_left", [
    (0, 0, 3, 0), (1, 0, 2, 0), (2, 0, 1, 0), (3, 0, 0, 0),
    (0, 1, 2, 0), (0, 2, 1, 0), (0, 4, 0, 1),      # stunned 4: all three lost, stunned 1 left
    (1, 1, 2, 0),                                  # the action lost to stunned counts toward slowed 1
    (2, 1, 1, 0),                                  # slowed 2, stunned 1: one to each
])
def test_actions_at_the_start_of_a_turn(slowed, stunned, actions, stunned_left):
    assert pf2e.actions_at_start(slowed, stunned) == (actions, stunned_left)


def test_dying_and_death():
    assert pf2e.dying_at_zero(critical=False, wounded=0) == 1
    assert pf2e.dying_at_zero(critical=True, wounded=0) == 2
    assert pf2e.dying_at_zero(critical=False, wounded=2) == 3
    assert pf2e.dying_after_damage(1, critical=False) == 2 and pf2e.dying_after_damage(1, critical=True) == 3
    assert pf2e.death_threshold(0) == 4 and pf2e.death_threshold(1) == 3


@pytest.mark.parametrize("roll, dying, degree, after", [
    (20, 1, CS, 0), (19, 1, S, 0),     # DC 11: 19 succeeds (-1); a natural 20 raises it to a critical success
    (11, 1, S, 0), (10, 1, F, 2),      # meet DC 11: success; miss: failure +1
    (3, 2, F, 3), (2, 2, CF, 4),       # DC 12: 3 misses by 9 (+1); 2 misses by 10: critical failure (+2)
    (11, 3, F, 4),                     # DC 13: 11 fails; dying 4 (the caller decides it is death)
    (1, 1, CF, 3),                     # a natural 1 on DC 11 misses by 10: critical failure, +2
])
def test_recovery_checks(roll, dying, degree, after):
    assert pf2e.recovery_check(roll, dying) == (degree, after)


@pytest.mark.parametrize("level, hp, elite_level, elite_hp", [
    (-1, 8, 1, 18), (0, 10, 2, 20), (1, 20, 2, 30),          # +2 levels from -1 and 0; HP +10 up to level 1
    (2, 30, 3, 45), (4, 60, 5, 75),                           # 2-4: +15
    (5, 75, 6, 95), (19, 350, 20, 370),                       # 5-19: +20
    (20, 400, 21, 430), (24, 500, 25, 530),                   # 20+: +30
])
def test_elite(level, hp, elite_level, elite_hp):
    assert pf2e.elite(level, hp) == (elite_level, elite_hp)


@pytest.mark.parametrize("level, hp, weak_level, weak_hp", [
    (1, 20, -1, 10), (2, 30, 1, 20),                          # a level 1 creature becomes -1; 1-2: -10
    (3, 45, 2, 30), (5, 75, 4, 60),                           # 3-5: -15
    (6, 90, 5, 70), (20, 400, 19, 380),                       # 6-20: -20
    (21, 450, 20, 420),                                       # 21+: -30
    (1, 6, -1, 1),                                            # never below 1 HP
])
def test_weak(level, hp, weak_level, weak_hp):
    assert pf2e.weak(level, hp) == (weak_level, weak_hp)


def test_weak_needs_level_one():
    with pytest.raises(ValueError, match="level 1 or more"):
        pf2e.weak(0, 10)


@pytest.mark.parametrize("threat, size, xp", [
    ("trivial", 4, 40), ("low", 4, 60), ("moderate", 4, 80), ("severe", 4, 120), ("extreme", 4, 160),
    ("moderate", 5, 100), ("moderate", 3, 60), ("extreme", 6, 240), ("low", 2, 30),
])
def test_budgets(threat, size, xp):
    assert pf2e.budget(threat, size) == xp


@pytest.mark.parametrize("difference, xp", [
    (-5, 0), (-4, 10), (-3, 15), (-2, 20), (-1, 30), (0, 40), (1, 60), (2, 80), (3, 120), (4, 160), (5, None),
])
def test_creature_xp(difference, xp):
    assert pf2e.creature_xp(5 + difference, 5) == xp


@pytest.mark.parametrize("difference, xp", [(-4, 2), (-3, 3), (-2, 4), (-1, 6), (0, 8), (1, 12), (2, 16), (3, 24),
                                            (4, 32)])
def test_simple_hazard_xp(difference, xp):
    assert pf2e.hazard_xp(5 + difference, 5, complex_=False) == xp
    assert pf2e.hazard_xp(5 + difference, 5, complex_=True) == pf2e.creature_xp(5 + difference, 5)


@pytest.mark.parametrize("xp, size, threat", [
    (40, 4, "trivial"), (41, 4, "low"), (80, 4, "moderate"), (81, 4, "severe"), (160, 4, "extreme"),
    (161, 4, None), (100, 5, "moderate"), (61, 3, "severe"),
])
def test_threat(xp, size, threat):
    assert pf2e.threat(xp, size) == threat


@given(total=st.integers(-50, 80), dc=st.integers(0, 60), natural=st.sampled_from([None, *range(1, 21)]))
def test_a_natural_shifts_by_at_most_one_step(total, dc, natural):
    plain = pf2e.degree(total, dc)
    shifted = pf2e.degree(total, dc, natural)
    assert abs(shifted - plain) <= 1
    assert shifted >= plain if natural == 20 else shifted <= plain if natural == 1 else shifted == plain

