"""Dice: the compiled ``_dice`` rolls exactly what the reference ``dice_ref`` rolls."""
from __future__ import annotations

import importlib
import importlib.util
import os
import subprocess
import sys
from collections import Counter
from types import ModuleType

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from engine_ext import dice, dice_ref

NO_EXTENSIONS = bool(os.environ.get("EVERTURN_NO_EXTENSIONS"))
modest = settings(max_examples=100, deadline=None)

# roll masks its seed to 64 bits, so any int is a seed; counter, count and sides must lie
# in 0..2**63-1 (both refuse the rest alike); the stream position wraps at 2**64.
SEEDS = st.one_of(st.integers(0, 2**64 - 1), st.integers(-(2**70), -1), st.integers(2**64, 2**80))
COUNTERS = st.integers(0, 2**63 - 1)
COUNTS = st.integers(0, 50)
SIDES = st.one_of(
    st.integers(1, 10**6),
    st.integers(2**32 - 64, 2**32 + 64),
    st.integers(2**63 - 2**16, 2**63 - 1),
)


def load_compiled(name: str = "engine_ext._dice") -> ModuleType:
    """A compiled module; skipped only when not built on purpose, else a failure."""
    if importlib.util.find_spec(name) is None and NO_EXTENSIONS:
        pytest.skip(f"{name} is not built and EVERTURN_NO_EXTENSIONS is set")
    try:
        return importlib.import_module(name)
    except ImportError as exc:
        pytest.fail(f"{name} is not built ({exc}): run pip install -e . "
                    f"or set EVERTURN_NO_EXTENSIONS=1 to test the reference alone")


@pytest.fixture(scope="module")
def compiled() -> ModuleType:
    return load_compiled()


@modest
@given(seed=SEEDS, counter=COUNTERS, count=COUNTS, sides=SIDES)
@example(seed=0, counter=0, count=50, sides=2**63 - 1)  # rejects almost half of all values
@example(seed=-1, counter=2**63 - 1, count=3, sides=6)  # the counter wraps around 2**64
def test_compiled_and_reference_rolls_are_identical(compiled, seed, counter, count, sides):
    assert compiled.roll(seed, counter, count, sides) == dice_ref.roll(seed, counter, count, sides)


@modest
@given(seed=SEEDS, counter=st.integers(0, 2**64 - 1))
def test_compiled_and_reference_splitmix64_are_identical(compiled, seed, counter):
    assert compiled.splitmix64(seed, counter) == dice_ref.splitmix64(seed, counter)


def test_the_compiled_dice_serve_when_built():
    compiled = load_compiled()
    if NO_EXTENSIONS:  # the switch is on here, so ask a process where it is off
        env = {k: v for k, v in os.environ.items() if k != "EVERTURN_NO_EXTENSIONS"}
        probe = subprocess.run(
            [sys.executable, "-c", "import engine_ext._dice as c, engine_ext.dice as d; "
                                   "assert d.COMPILED and d.roll is c.roll and d.splitmix64 is c.splitmix64"],
            env=env, capture_output=True, text=True, timeout=60,
        )
        assert probe.returncode == 0, probe.stderr
    else:
        assert dice.COMPILED
        assert dice.roll is compiled.roll
        assert dice.splitmix64 is compiled.splitmix64


def test_the_switch_forces_the_reference_dice():
    probe = subprocess.run(
        [sys.executable, "-c", "import engine_ext.dice as d; print(d.COMPILED, d.roll.__module__)"],
        env={**os.environ, "EVERTURN_NO_EXTENSIONS": "1"}, capture_output=True, text=True, timeout=60,
    )
    assert probe.returncode == 0, probe.stderr
    assert probe.stdout.split() == ["False", "engine_ext.dice_ref"]


@pytest.mark.parametrize("roll", [dice.roll, dice_ref.roll], ids=["served", "reference"])
def test_six_thousand_d6_land_on_every_face_about_a_thousand_times(roll):
    faces = Counter(roll(20240601, 0, 6000, 6))
    assert sorted(faces) == [1, 2, 3, 4, 5, 6]
    assert all(850 <= n <= 1150 for n in faces.values()), f"seed 20240601: {faces}"


@pytest.mark.parametrize("count, sides", [(1, 0), (1, -6), (-1, 6)])
def test_impossible_rolls_are_refused_by_both(compiled, count, sides):
    for roll in (compiled.roll, dice_ref.roll):
        with pytest.raises(ValueError, match=f"cannot roll {count}d{sides}"):
            roll(7, 0, count, sides)


@pytest.mark.parametrize("counter, count, sides", [(0, 3, 2**63), (2**63, 1, 6), (-1, 1, 6), (0, 2**63, 6)])
def test_both_refuse_the_same_out_of_range_rolls(compiled, counter, count, sides):
    for roll in (compiled.roll, dice_ref.roll):
        with pytest.raises(ValueError):
            roll(7, counter, count, sides)
    if counter < 0:
        for splitmix64 in (compiled.splitmix64, dice_ref.splitmix64):
            with pytest.raises(ValueError):
                splitmix64(7, counter)
