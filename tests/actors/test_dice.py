"""Dice expressions: every readable expression rolls within its bounds, the rest are refused."""
from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from actors.dice import MAX_DICE, DiceError, parse, roll_expression, seed_of
from engine_ext.dice_ref import Stream

terms = st.lists(st.one_of(
    st.tuples(st.sampled_from("+-"), st.integers(1, 20), st.integers(2, 1000)).map(lambda t: (t[0], f"{t[1]}d{t[2]}")),
    st.tuples(st.sampled_from("+-"), st.integers(0, 100)).map(lambda t: (t[0], str(t[1]))),
), min_size=1, max_size=5)


@given(terms=terms, seed=st.integers(0, 2**64 - 1), counter=st.integers(0, 2**40))
def test_a_roll_stays_within_its_expressions_bounds_and_repeats_exactly(terms, seed, counter):
    text = "1d20" + "".join(sign + term for sign, term in terms)
    expression = parse(text)
    faces, total = roll_expression(expression, Stream(seed, counter).die)
    assert len(faces) == len(expression.dice)
    for (_, count, sides), rolled in zip(expression.dice, faces, strict=True):
        assert len(rolled) == count and all(1 <= face <= sides for face in rolled)
    signed = zip(expression.dice, faces, strict=True)
    assert total == expression.flat + sum(sign * sum(rolled) for (sign, _, _), rolled in signed)
    dice = expression.dice
    lowest = expression.flat + sum(sign * (count if sign > 0 else count * sides) for sign, count, sides in dice)
    highest = expression.flat + sum(sign * (count * sides if sign > 0 else count) for sign, count, sides in dice)
    assert lowest <= total <= highest
    assert roll_expression(expression, Stream(seed, counter).die) == (faces, total)  # a pure function of both


def test_the_usual_forms_read_as_expected():
    assert parse("d20").dice == ((1, 1, 20),) and parse("d20").flat == 0
    assert parse("2d6 + 1d4 - 1").dice == ((1, 2, 6), (1, 1, 4)) and parse("2d6 + 1d4 - 1").flat == -1
    assert parse("-1d4+10").dice == ((-1, 1, 4),)
    assert parse("4D6").count == 4


@pytest.mark.parametrize("text, says", [
    ("", "empty"), ("abc", "cannot read"), ("2d6+", "cannot read"), ("7", "rolls no dice"),
    ("0d6", "1 to 100 dice"), ("1d1", "2 to 1000 faces"), ("1d1001", "2 to 1000 faces"),
    (f"{MAX_DICE}d6+1d6", f"at most {MAX_DICE} dice"), ("1d20+1001", "±1000"),
    ("+".join(["1d4"] * 11), "at most 10 terms"), ("2d6x3", "cannot read"),
])
def test_unreadable_expressions_say_why(text, says):
    with pytest.raises(DiceError, match=says):
        parse(text)


def test_seeds_are_stable_across_runs():
    assert seed_of("campaign/c1") == seed_of("campaign/c1") != seed_of("campaign/c2")
    assert seed_of("campaign/c1") == 0x5BC638BF2F46FAAF  # sha256-derived: no per-process hash salt
