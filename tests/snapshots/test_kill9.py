"""kill -9 in the middle of group commits: every acknowledged event survives, nothing is torn.

A child process appends events through a GroupCommit and prints each one once its
commit returned; we SIGKILL it at a random moment, reopen the directory and check the
journal, then let a new child carry on from where the journal ends.  Set
EVERTURN_KILL9_SEED to replay a run.
"""
from __future__ import annotations

import os
import random
import sys
from pathlib import Path

from snapshots import Store, codec, keys
from snapshots.store import JOURNAL

from ._appender import ADDRESSES
from .killing import kill_after

APPENDER = Path(__file__).with_name("_appender.py")
ROUNDS = 5


def run_until_killed(data: Path, seed: int, acks_wanted: int) -> list[tuple[str, int]]:
    """Start an appender, kill -9 it once ``acks_wanted`` acks arrived; return every ack it printed."""
    lines = kill_after([sys.executable, str(APPENDER), str(data), str(seed)], acks_wanted,
                       what=f"appender (seed {seed})", drain=True)  # acks already in the pipe were promises too
    acks = []
    for line in lines:
        if line.endswith("\n"):  # a line cut by the kill acknowledged nothing
            address, seq = line.split()
            acks.append((address, int(seq)))
    return acks


def test_every_acknowledged_event_survives_kill_9(tmp_path):
    seed = int(os.environ.get("EVERTURN_KILL9_SEED", random.SystemRandom().randrange(2**32)))
    print(f"kill -9 test seed: {seed} (EVERTURN_KILL9_SEED={seed} replays it)")
    rng = random.Random(seed)
    data = tmp_path / "data"
    acked: dict[str, int] = {address: 0 for address in ADDRESSES}

    for round_ in range(ROUNDS):
        wanted = rng.randint(50, 2000)
        for address, seq in run_until_killed(data, rng.randrange(2**32), wanted):
            acked[address] = max(acked[address], seq)
        where = f"seed {seed}, round {round_}, killed after {wanted} acks"

        store = Store.open(data)
        try:
            for address in ADDRESSES:
                journal = list(store.read_journal(address))  # decoding checks every checksum
                seqs = [seq for seq, _ in journal]
                assert seqs == list(range(1, len(seqs) + 1)), f"{where}: {address} has gaps"
                assert len(seqs) >= acked[address], f"{where}: {address} lost acked seq {acked[address]}"
                assert all(value["n"] == seq for seq, value in journal), f"{where}: {address} mixed up values"
                assert store.last_seq(address) == len(seqs), where
            every_key = list(store._cf[JOURNAL].keys())
            assert {keys.split_seq_key(key)[0] for key in every_key} <= set(ADDRESSES), where
            for raw in store._cf[JOURNAL].values():
                codec.decode(raw)
        finally:
            store.close()

    assert sum(acked.values()) >= ROUNDS * 50, f"seed {seed}: {acked}"
