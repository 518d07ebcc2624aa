"""Key layout: RocksDB's bytewise order must be the order the runtime reads records in."""
from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from snapshots import keys

KINDS = st.from_regex(r"[a-z][a-z0-9_-]{0,31}", fullmatch=True)
IDS = st.from_regex(r"[A-Za-z0-9][A-Za-z0-9._:-]{0,127}", fullmatch=True)
ID_TAILS = st.from_regex(r"[A-Za-z0-9._:-]{1,8}", fullmatch=True)
ADDRESSES = st.builds(lambda kind, id_: f"{kind}/{id_}", KINDS, IDS)
SEQS = st.integers(min_value=0, max_value=2**64 - 1)
DUES = st.integers(min_value=0, max_value=2**64 - 1)
TIMER_NAMES = st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"), max_size=40)

modest = settings(max_examples=100, deadline=None)


@st.composite
def two_addresses(draw) -> tuple[str, str]:
    """Two different addresses; often one is a prefix of the other (``c/1`` and ``c/10``)."""
    a = draw(ADDRESSES)
    b = draw(st.one_of(ADDRESSES, st.builds(lambda tail: a + tail, ID_TAILS)))
    if draw(st.booleans()):
        a, b = b, a
    if a == b:
        b = a + "0"
    return a, b


@modest
@given(ADDRESSES, SEQS)
def test_a_sequence_key_splits_back_into_its_address_and_seq(address, seq):
    assert keys.split_seq_key(keys.seq_key(address, seq)) == (address, seq)


@modest
@given(ADDRESSES, st.lists(SEQS, min_size=2, max_size=30, unique=True))
def test_one_actors_records_sort_by_seq(address, seqs):
    by_key = sorted(seqs, key=lambda seq: keys.seq_key(address, seq))
    assert by_key == sorted(seqs)


@modest
@given(st.lists(st.tuples(ADDRESSES, SEQS), min_size=2, max_size=30, unique=True))
def test_records_of_many_actors_sort_by_address_bytes_then_seq(records):
    by_key = sorted(records, key=lambda record: keys.seq_key(*record))
    assert by_key == sorted(records, key=lambda record: (record[0].encode(), record[1]))


@modest
@given(two_addresses(), SEQS)
def test_an_actors_keys_fall_in_its_own_range_and_in_no_other(pair, seq):
    a, b = pair
    key = keys.seq_key(a, seq)
    lo, hi = keys.actor_range(a)
    other_lo, other_hi = keys.actor_range(b)
    assert lo <= key < hi
    assert not other_lo <= key < other_hi, f"{a!r} seq {seq} lies in the range of {b!r}"


def test_a_prefix_address_and_its_extension_have_disjoint_ranges():
    last_of_c1 = keys.seq_key("c/1", 2**64 - 1)
    first_of_c10 = keys.seq_key("c/10", 0)
    assert keys.actor_range("c/1")[1] <= first_of_c10
    assert last_of_c1 < keys.actor_range("c/10")[0]


@pytest.mark.parametrize("seq", [-1, 2**64])
def test_a_seq_outside_64_bits_has_no_key(seq):
    with pytest.raises(ValueError, match="out of range"):
        keys.seq_key("c/1", seq)


def test_an_address_with_nul_has_no_key():
    with pytest.raises(ValueError, match="NUL"):
        keys.seq_key("c/1\x00x", 1)


@modest
@given(st.lists(st.tuples(DUES, ADDRESSES, TIMER_NAMES), min_size=2, max_size=30, unique=True))
def test_timer_due_keys_order_by_due_time_first(timers):
    by_key = sorted(timers, key=lambda timer: keys.timer_due_key(*timer))
    dues = [due for due, _, _ in by_key]
    assert dues == sorted(dues)


@modest
@given(DUES, ADDRESSES, TIMER_NAMES)
def test_a_timer_due_key_splits_back_into_due_address_and_name(due, address, name):
    assert keys.split_timer_due_key(keys.timer_due_key(due, address, name)) == (due, address, name)


@modest
@given(two_addresses(), TIMER_NAMES)
def test_a_timer_name_key_falls_in_its_own_actors_name_range_only(pair, name):
    a, b = pair
    key = keys.timer_name_key(a, name)
    lo, hi = keys.timer_name_range(a)
    other_lo, other_hi = keys.timer_name_range(b)
    assert lo <= key < hi
    assert not other_lo <= key < other_hi
