"""The strategy map: sizes, lanes, homeworlds, planets, determinism."""
from __future__ import annotations

from collections import Counter

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from engine_ext.galaxy import MAJOR, MINOR, RESTRICTED, generate, hex_distance, ring_coords


@pytest.mark.parametrize("rings", range(2, 13))
def test_rings_hold_3n2_plus_3n_plus_1_systems_each_at_its_distance(rings):
    coords = ring_coords(rings)
    assert len(coords) == 3 * rings * rings + 3 * rings + 1 == len(set(coords))
    n, start = 1, 1
    while start < len(coords):                      # ring n: 6n systems, all n steps from the hub
        ring = coords[start:start + 6 * n]
        assert len(ring) == 6 * n and {hex_distance(c, (0, 0)) for c in ring} == {n}
        start, n = start + 6 * n, n + 1


@settings(max_examples=40, deadline=None)
@given(rings=st.integers(2, 8), houses=st.integers(2, 12), seed=st.integers(0, 2**64 - 1))
def test_every_map_is_connected_with_the_lanes_the_rules_promise(rings, houses, seed):
    galaxy = generate(rings, houses, seed)
    assert generate(rings, houses, seed) == galaxy                     # a seed is a map
    assert all(galaxy.path_cost(0, s) is not None for s in range(galaxy.systems))   # connected
    assert [kind for _, kind in galaxy.neighbours(0)] == [MAJOR] * 6   # the hub's six major lanes
    assert len(set(galaxy.homeworlds)) == houses
    outer = 6 * rings
    for home in galaxy.homeworlds:
        assert hex_distance(galaxy.coords[home], (0, 0)) == rings       # on the outer ring
        assert sum(kind == MAJOR for _, kind in galaxy.neighbours(home)) >= 3
        assert galaxy.planet_class[home] == 6 and galaxy.resource[home] == 3
    # spread evenly: neighbours along the ring are floor or ceil of (ring length / houses) apart
    positions = sorted(galaxy.homeworlds)
    gaps = {(b - a) % outer for a, b in zip(positions, positions[1:] + positions[:1], strict=True)}
    assert gaps <= {outer // houses, -(-outer // houses)}


def test_lane_classes_come_in_their_shares():
    galaxy = generate(12, 2, seed=7)
    counts = Counter(kind for _, _, kind in galaxy.lanes)
    total = len(galaxy.lanes)
    assert abs(counts[MAJOR] / total - 0.5) < 0.06           # forced majors push it up a little
    assert abs(counts[MINOR] / total - 0.35) < 0.05 and abs(counts[RESTRICTED] / total - 0.15) < 0.04


def test_restricted_lanes_can_be_avoided_or_not():
    galaxy = generate(4, 4, seed=11)
    for start, goal in [(galaxy.homeworlds[0], galaxy.homeworlds[2]), (0, galaxy.systems - 1)]:
        free, careful = galaxy.path_cost(start, goal), galaxy.path_cost(start, goal, allow_restricted=False)
        assert free is not None and (careful is None or careful >= free)


@pytest.mark.parametrize("rings, houses, message", [(1, 2, "2 to 12 rings"), (13, 2, "2 to 12 rings"),
                                                    (4, 1, "2 to 12 houses"), (4, 13, "2 to 12 houses")])
def test_sizes_outside_the_rules_are_refused(rings, houses, message):
    with pytest.raises(ValueError, match=message):
        generate(rings, houses, 0)
