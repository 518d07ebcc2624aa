"""Asks a few ledgers as fast as the runtime takes it, printing ``address seq amount`` for each ack.

Run by ``test_pipeline_kill9.py`` as ``python -m tests.actors._pipelined DATA_DIR START`` and
killed with SIGKILL: every line it printed is an acknowledged command that must survive.
Many asks per actor are in flight at once, so each actor decides ahead of its writes
(pipelined journaling) the whole time.  Amounts are unique (counting up from START), so an
ack names the one event it promised.
"""
from __future__ import annotations

import itertools
import sys

import trio

from actors import RuntimeConfig, TrioClock, open_runtime
from snapshots import Store

from ..kinds import Add, LedgerKind

ADDRESSES = ["ledger/a", "ledger/b", "ledger/c"]
ASKERS_PER_ACTOR = 96  # well past the pipeline depth (64): the pipelines stay full


async def ask_forever(path: str, start: int) -> None:
    store = Store.open(path)
    amounts = itertools.count(start)
    async with open_runtime(store, [LedgerKind()], clock=TrioClock(),
                            config=RuntimeConfig(lag_interval=None, snapshot_every=50)) as rt:

        async def asker(address: str) -> None:
            while True:
                amount = next(amounts)
                ack = await rt.ask(address, Add(amount=amount))
                sys.stdout.write(f"{address} {ack.seq} {amount}\n")
                sys.stdout.flush()

        async with trio.open_nursery() as nursery:
            for address in ADDRESSES:
                for _ in range(ASKERS_PER_ACTOR):
                    nursery.start_soon(asker, address)


if __name__ == "__main__":
    trio.run(ask_forever, sys.argv[1], int(sys.argv[2]))
