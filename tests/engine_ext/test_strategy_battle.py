"""Strategy battles: the compiled ``_strategy.fight`` fights exactly the battles the reference fights."""
from __future__ import annotations


from hypothesis import given, settings
from hypothesis import strategies as st

from engine_ext import strategy_ref
from engine_ext import strategy_rules as rules

from .test_dice import load_compiled

N = len(rules.SHIPS)


@st.composite
def fleets(draw, first_fid: int):
    out = []
    for k in range(draw(st.integers(0, 5))):
        ships = draw(st.lists(st.integers(0, 6), min_size=N, max_size=N))
        if not any(ships):
            ships[draw(st.integers(0, N - 1))] = 1
        crippled = [draw(st.integers(0, n)) for n in ships]
        out.append((first_fid + k * 2, draw(st.integers(1, 10)), draw(st.integers(0, 10)), ships, crippled))
    return out


def compiled():
    return load_compiled("engine_ext._strategy")


@settings(max_examples=300, deadline=None)
@given(a=fleets(1), b=fleets(2), seed=st.integers(0, 2**64 - 1), counter=st.integers(0, 2**40))
def test_compiled_and_reference_battles_are_identical(a, b, seed, counter):
    assert compiled().fight(a, b, seed, counter) == strategy_ref.fight(a, b, seed, counter)


def test_a_battle_reads_one_die_a_round_per_side_and_leaves_the_inputs_alone():
    ships = [0] * N
    ships[rules.SHIP_INDEX["battleship"]] = 2
    a = [(1, 1, 0, list(ships), [0] * N)]
    b = [(2, 1, 0, list(ships), [0] * N)]
    rounds, _, _, _, _, counter = strategy_ref.fight(a, b, 5, 100)
    assert 1 <= rounds <= rules.COMBAT_ROUNDS_MAX and counter - 100 >= 2 * rounds  # rejection may read more
    assert a == [(1, 1, 0, ships, [0] * N)]


def test_the_strategy_bench_reports_its_keys():
    compiled()
    from server.bench.engine import measure_strategy

    result = measure_strategy(seed=2, workers=1, games=1)
    assert {"cython_ratio", "game_100_turns_s", "battles_per_s", "games_per_s"} <= set(result)
    assert result["details"]["turns_resolved"] >= 1 and result["battles_per_s"] > 0
