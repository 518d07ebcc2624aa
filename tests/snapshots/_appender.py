"""Appends events forever through a GroupCommit, printing ``address seq`` once each is durable.

Run by ``test_kill9.py`` as ``python _appender.py DATA_DIR SEED`` and killed with SIGKILL:
every line it printed is a promise that the event survives the kill.
"""
from __future__ import annotations

import random
import sys

import trio

from snapshots import Batch, GroupCommit, Store

ADDRESSES = ["ledger/a", "ledger/b", "ledger/c", "ledger/a1"]  # 'ledger/a' is a prefix of 'ledger/a1'
WRITERS = 48


async def append_forever(path: str, seed: int) -> None:
    rng = random.Random(seed)
    store = Store.open(path)
    next_seq = {address: store.last_seq(address) + 1 for address in ADDRESSES}
    commits = GroupCommit(store)

    async def writer() -> None:
        while True:
            address = rng.choice(ADDRESSES)
            # Taken and queued with no await in between, so seqs reach the journal in order.
            seq, next_seq[address] = next_seq[address], next_seq[address] + 1
            batch = Batch()
            store.append_event(batch, address, seq, {"n": seq, "pad": "x" * rng.randrange(4000)})
            await commits.commit(batch)
            sys.stdout.write(f"{address} {seq}\n")
            sys.stdout.flush()

    async with trio.open_nursery() as nursery:
        await nursery.start(commits.run)
        for _ in range(WRITERS):
            nursery.start_soon(writer)


if __name__ == "__main__":
    trio.run(append_forever, sys.argv[1], int(sys.argv[2]))
