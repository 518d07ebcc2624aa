"""Recovery: the newest readable snapshot plus the journal; a corrupt snapshot never loses data."""
from __future__ import annotations

from hypothesis import given, settings, strategies as st

from actors.runtime import recover
from snapshots import Batch, Store, keys
from snapshots.store import SNAPSHOTS

from ..kinds import Added, Ledger, LedgerKind

KIND = LedgerKind()


def _journal(store: Store, address: str, amounts: list[int], snapshot_every: int) -> None:
    state = KIND.initial(address)
    for seq, amount in enumerate(amounts, start=1):
        batch = Batch()
        event = Added(amount=amount)
        store.append_event(batch, address, seq, KIND.dump_event(event))
        state = KIND.evolve(state, event)
        if seq % snapshot_every == 0:
            store.put_snapshot(batch, address, seq, KIND.dump_state(state))
        store.write([batch])


@settings(max_examples=40, deadline=None)
@given(
    amounts=st.lists(st.integers(-50, 50).filter(bool), min_size=1, max_size=40),
    every=st.integers(1, 10),
    damage=st.lists(st.sampled_from(["truncate", "flip", "garbage", "newer_schema"]), max_size=2),
    cut=st.integers(0, 200),
)
def test_damaged_snapshots_fall_back_and_never_lose_events(tmp_path_factory, amounts, every, damage, cut):
    store = Store.open(tmp_path_factory.mktemp("recovery"))
    try:
        _journal(store, "ledger/a", amounts, every)
        snapshots = list(store.snapshots_raw("ledger/a"))
        assert len(snapshots) <= 2
        for (seq, raw), how in zip(snapshots, damage, strict=False):   # damage the newest first
            if how == "truncate":
                bad = raw[: min(cut, len(raw) - 1)]
            elif how == "flip":
                at = 6 + cut % (len(raw) - 6)
                bad = raw[:at] + bytes([raw[at] ^ 0x40]) + raw[at + 1:]
            elif how == "garbage":
                bad = b"\x00" * cut
            else:
                from snapshots import codec
                bad = codec.encode({"v": 99, "s": {}})
            store._cf[SNAPSHOTS][keys.seq_key("ledger/a", seq)] = bad

        state, seq, _ = recover(KIND, store, "ledger/a")
        assert seq == len(amounts)
        assert state == Ledger(total=sum(amounts), history=tuple(amounts))
    finally:
        store.close()
