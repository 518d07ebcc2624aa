"""kill -9 under pipelined load: every acknowledged command survives, at the seq it was acknowledged with.

A child process asks three ledgers with 96 asks in flight each (their pipelines full), printing
each ack; we SIGKILL it at a random moment, reopen the directory, check each journal against
the acks, and start the next child on it.  Set EVERTURN_KILL9_SEED to replay a run.
"""
from __future__ import annotations

import os
import random
import sys

import trio

from actors import RuntimeConfig, TrioClock, open_runtime
from actors.runtime import recover
from snapshots import Store

from ..kinds import Add, LedgerKind
from ..snapshots.killing import kill_after
from ._pipelined import ADDRESSES

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
ROUNDS = 4


def test_every_acknowledged_command_survives_kill_9_under_pipelined_load(tmp_path):
    seed = int(os.environ.get("EVERTURN_KILL9_SEED", random.SystemRandom().randrange(2**32)))
    print(f"kill -9 test seed: {seed} (EVERTURN_KILL9_SEED={seed} replays it)")
    rng = random.Random(seed)
    data = tmp_path / "data"
    acked: dict[str, dict[int, int]] = {address: {} for address in ADDRESSES}  # address -> seq -> amount
    start = 1
    for round_ in range(ROUNDS):
        wanted = rng.randint(200, 3000)
        lines = kill_after([sys.executable, "-m", "tests.actors._pipelined", str(data), str(start)], wanted,
                           what=f"pipelined asker (seed {seed})", drain=True, cwd=ROOT)
        for line in lines:
            if line.endswith("\n"):  # a line cut by the kill acknowledged nothing
                address, seq, amount = line.split()
                assert int(seq) not in acked[address], f"{address}: seq {seq} acknowledged twice"
                acked[address][int(seq)] = int(amount)
        start += 10_000_000  # the next child's amounts never meet this one's
        where = f"seed {seed}, round {round_}, killed after {wanted} acks"

        store = Store.open(data)
        try:
            for address in ADDRESSES:
                journal = [(seq, LedgerKind().load_event(raw).amount) for seq, raw in store.read_journal(address)]
                seqs = [seq for seq, _ in journal]
                assert seqs == list(range(1, len(seqs) + 1)), f"{where}: {address} has gaps"
                stored = dict(journal)
                lost = {seq: amount for seq, amount in acked[address].items() if stored.get(seq) != amount}
                assert not lost, f"{where}: {address} lost or changed acknowledged commands {sorted(lost)[:10]}"
                assert len(set(stored.values())) == len(stored), f"{where}: {address} applied a command twice"
                state, seq, _ = recover(LedgerKind(), store, address)  # snapshots agree with the journal
                assert (seq, state.history) == (len(seqs), tuple(amount for _, amount in journal)), where
        finally:
            store.close()

    assert sum(len(a) for a in acked.values()) >= ROUNDS * 200, f"seed {seed}"

    async def carry_on() -> None:  # and the runtime goes on from there
        store = Store.open(data)
        try:
            lengths = {address: store.last_seq(address) for address in ADDRESSES}
            async with open_runtime(store, [LedgerKind()], clock=TrioClock(),
                                    config=RuntimeConfig(lag_interval=None)) as rt:
                for address in ADDRESSES:
                    assert (await rt.ask(address, Add(amount=-1))).seq == lengths[address] + 1
        finally:
            store.close()

    trio.run(carry_on)
