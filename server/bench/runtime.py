"""``everturn bench runtime``: the runtime measured beside raw trio and raw RocksDB.

Each figure is a ratio of two measurements taken in the same run, so a shared, noisy
machine shifts both sides alike:

- ``tell_ratio``: messages/s through actor mailboxes (N actors, a handler that does
  nothing) over messages/s through raw trio memory channels in the same shape (N
  consumer tasks, N producers each sending to its own consumer, buffer 256).
- ``durable_ratio``: acknowledged persisted commands/s (N actors, one event each, all
  concurrent) over raw rocksdict ``WriteBatch`` writes of the same bytes with
  ``sync=True`` in batches of 100.  Also measured with the commit in a worker thread
  (``durable_ratio_thread``), with the event-loop lag each mode caused, and beside the
  bare trio floor (client -> actor task -> shared synced writer -> reply, nothing else):
  where fsync is nearly free, that floor, not RocksDB, bounds any trio runtime.
- ``recovery_ms_10k`` / ``recovery_ms_snapshot``: reactivating an actor with 10,000
  events and no snapshot, and with a snapshot at 9,900.
- ``activation_us`` / ``bytes_per_idle_actor``: reactivating passivated actors, and the
  Python heap each reactivated idle actor holds (tracemalloc).
"""
from __future__ import annotations

import gc
import os
import shutil
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path
from typing import Any

import orjson
import trio
from rocksdict import WriteBatch, WriteOptions

from snapshots import Batch, Store, codec, keys
from snapshots.store import JOURNAL

from actors.behavior import Behavior
from actors.runtime import recover
from actors.messages import Command, Context, Event, State
from actors.runtime import RuntimeConfig, open_runtime

TARGETS = {"tell_ratio": 0.5, "durable_ratio": 0.25}
MESSAGES_PER_ACTOR = 100
DURABLE_ROUNDS = 5


class Ping(Command):
    pass


class Note(Command):
    text: str


class Noted(Event):
    text: str


class Notebook(State):
    notes: int = 0


class NotebookKind(Behavior[Notebook]):
    kind = "bench"
    State = Notebook
    commands = (Ping, Note)
    creates = (Ping, Note)  # any command starts a notebook
    events = (Noted,)

    def decide(self, state: Notebook, command: Command, ctx: Context) -> list[Event]:
        if isinstance(command, Note):
            return [Noted(text=command.text)]
        return []

    def evolve(self, state: Notebook, event: Event) -> Notebook:
        return Notebook(notes=state.notes + 1)


KIND = NotebookKind()
TEXT = "the party rests at the inn"


def _config(**overrides: Any) -> RuntimeConfig:
    return RuntimeConfig(**{"max_active": 1_000_000, "lag_interval": None, **overrides})


# -- tell ------------------------------------------------------------------------------

async def _raw_channels(actors: int, per_actor: int) -> float:
    received = 0
    done = trio.Event()

    async def consumer(receive: trio.MemoryReceiveChannel) -> None:
        nonlocal received
        async for _ in receive:
            received += 1
            if received == actors * per_actor:
                done.set()

    async def producer(send: trio.MemorySendChannel) -> None:
        for _ in range(per_actor):
            await send.send(Ping())

    start = time.perf_counter()
    async with trio.open_nursery() as nursery:
        channels = [trio.open_memory_channel(256) for _ in range(actors)]
        for _, receive in channels:
            nursery.start_soon(consumer, receive)
        for send, _ in channels:
            nursery.start_soon(producer, send)
        await done.wait()
        elapsed = time.perf_counter() - start
        nursery.cancel_scope.cancel()
    return actors * per_actor / elapsed


async def _actor_mailboxes(data: Path, actors: int, per_actor: int) -> float:
    store = Store.open(data)
    try:
        async with open_runtime(store, [KIND], config=_config()) as rt:
            addresses = [f"bench/t{n}" for n in range(actors)]
            for address in addresses:   # activate first: this measures messaging, not recovery
                await rt.ask(address, Ping())

            async def producer(address: str) -> None:
                for _ in range(per_actor - 1):
                    await rt.tell(address, Ping())
                await rt.ask(address, Ping())   # FIFO: when this answers, all before it are handled

            start = time.perf_counter()
            async with trio.open_nursery() as nursery:
                for address in addresses:
                    nursery.start_soon(producer, address)
            return actors * per_actor / (time.perf_counter() - start)
    finally:
        store.close()


# -- durable ---------------------------------------------------------------------------

def _raw_journal(store: Store) -> tuple[bytes, Any, WriteOptions]:
    """What a raw writer needs: one journaled event's bytes, the journal handle, sync=True."""
    sync = WriteOptions()
    sync.sync = True
    return codec.encode(KIND.dump_event(Noted(text=TEXT))), store._handles[JOURNAL], sync


def _raw_rocksdb(data: Path, commands: int) -> float:
    """Raw rocksdict: the same journal bytes, WriteBatch of 100, sync=True."""
    store = Store.open(data)
    try:
        value, cf, sync = _raw_journal(store)
        start = time.perf_counter()
        for first in range(0, commands, 100):
            wb = WriteBatch(raw_mode=True)
            for n in range(first, min(first + 100, commands)):
                wb.put(keys.seq_key(f"bench/r{n % 1000}", n // 1000 + 1), value, cf)
            store._db.write(wb, sync)
        return commands / (time.perf_counter() - start)
    finally:
        store.close()


async def _durable_commands(data: Path, actors: int, mode: str) -> tuple[float, float]:
    """Acknowledged commands/s with ``actors`` concurrent askers; and the worst loop lag (ms)."""
    store = Store.open(data)
    try:
        async with open_runtime(store, [KIND], config=_config(commit_mode=mode, lag_interval=0.005)) as rt:
            addresses = [f"bench/d{n}" for n in range(actors)]
            for address in addresses:
                await rt.ask(address, Ping())
            rt.lag.max_ms = 0.0

            async def client(address: str) -> None:
                for _ in range(DURABLE_ROUNDS):
                    await rt.ask(address, Note(text=TEXT))

            start = time.perf_counter()
            async with trio.open_nursery() as nursery:
                for address in addresses:
                    nursery.start_soon(client, address)
            rate = actors * DURABLE_ROUNDS / (time.perf_counter() - start)
            return rate, rt.lag.max_ms
    finally:
        store.close()


async def _trio_floor(data: Path, actors: int) -> float:
    """The least any trio runtime pays: client -> actor task -> shared synced writer -> back,
    with the same bytes and no validation, state, metrics or supervision."""
    store = Store.open(data)
    try:
        value, cf, sync = _raw_journal(store)
        pending: list[tuple[bytes, trio.Event]] = []
        wake = trio.Event()

        async def writer() -> None:
            nonlocal wake
            while True:
                await wake.wait()
                wake = trio.Event()
                group = pending[:]
                pending.clear()
                wb = WriteBatch(raw_mode=True)
                for key, _ in group:
                    wb.put(key, value, cf)
                store._db.write(wb, sync)
                for _, written in group:
                    written.set()

        async def actor(n: int, requests: trio.MemoryReceiveChannel) -> None:
            seq = 0
            async for reply in requests:
                seq += 1
                written = trio.Event()
                pending.append((keys.seq_key(f"bench/f{n}", seq), written))
                wake.set()
                await written.wait()
                reply.set()

        async def client(requests: trio.MemorySendChannel) -> None:
            for _ in range(DURABLE_ROUNDS):
                reply = trio.Event()
                await requests.send(reply)
                await reply.wait()

        async with trio.open_nursery() as nursery:
            nursery.start_soon(writer)
            channels = [trio.open_memory_channel(256) for _ in range(actors)]
            for n, (_, receive) in enumerate(channels):
                nursery.start_soon(actor, n, receive)
            start = time.perf_counter()
            async with trio.open_nursery() as clients:
                for send, _ in channels:
                    clients.start_soon(client, send)
            rate = actors * DURABLE_ROUNDS / (time.perf_counter() - start)
            nursery.cancel_scope.cancel()
        return rate
    finally:
        store.close()


# -- recovery --------------------------------------------------------------------------

def _recovery_ms(data: Path, events: int = 10_000, snapshot_at: int = 9_900) -> tuple[float, float]:
    store = Store.open(data)
    try:
        stored = KIND.dump_event(Noted(text=TEXT))
        for first in range(1, events + 1, 1000):
            batch = Batch()
            for seq in range(first, min(first + 1000, events + 1)):
                store.append_event(batch, "bench/long", seq, stored)
                store.append_event(batch, "bench/snapped", seq, stored)
            store.write([batch])
        batch = Batch()
        store.put_snapshot(batch, "bench/snapped", snapshot_at, KIND.dump_state(Notebook(notes=snapshot_at)))
        store.write([batch])

        def timed(address: str) -> float:
            best = float("inf")
            for _ in range(3):
                start = time.perf_counter()
                state, seq, _ = recover(KIND, store, address)
                best = min(best, time.perf_counter() - start)
                assert seq == events and state.notes == events, (address, seq, state)
            return best * 1000

        return timed("bench/long"), timed("bench/snapped")
    finally:
        store.close()


# -- activation ------------------------------------------------------------------------

async def _activation(data: Path, actors: int) -> tuple[float, float]:
    """Per-actor reactivation time (µs) and Python heap per reactivated idle actor (bytes)."""
    store = Store.open(data)
    try:
        async with open_runtime(store, [KIND], config=_config()) as rt:
            addresses = [f"bench/a{n}" for n in range(actors)]

            async def each(fn) -> None:
                async def worker(chunk: list[str]) -> None:
                    for address in chunk:
                        await fn(address)

                async with trio.open_nursery() as nursery:
                    for k in range(100):
                        nursery.start_soon(worker, addresses[k::100])

            async def passivate_all() -> None:
                for address in addresses:
                    rt.passivate(address)
                while any(address in rt.cells for address in addresses):
                    await trio.sleep(0.001)

            await each(lambda a: rt.ask(a, Note(text=TEXT)))
            await passivate_all()
            start = time.perf_counter()
            await each(lambda a: rt.ask(a, Ping()))
            activation_us = (time.perf_counter() - start) / actors * 1e6

            await passivate_all()
            gc.collect()
            tracemalloc.start()
            before = tracemalloc.get_traced_memory()[0]
            await each(lambda a: rt.ask(a, Ping()))
            gc.collect()
            after = tracemalloc.get_traced_memory()[0]
            tracemalloc.stop()
            return activation_us, (after - before) / actors
    finally:
        store.close()


def measure(actors: int = 1000, idle_actors: int = 10_000) -> dict[str, Any]:
    root = Path(tempfile.mkdtemp(prefix="everturn-bench-"))
    try:
        raw_tell = trio.run(_raw_channels, actors, MESSAGES_PER_ACTOR)
        ours_tell = trio.run(_actor_mailboxes, root / "tell", actors, MESSAGES_PER_ACTOR)
        raw_durable = _raw_rocksdb(root / "raw", actors * DURABLE_ROUNDS)
        inline, inline_lag = trio.run(_durable_commands, root / "inline", actors, "inline")
        thread, thread_lag = trio.run(_durable_commands, root / "thread", actors, "thread")
        floor = trio.run(_trio_floor, root / "floor", actors)
        recovery, recovery_snapshot = _recovery_ms(root / "recovery")
        activation_us, bytes_per_actor = trio.run(_activation, root / "activation", idle_actors)
    finally:
        shutil.rmtree(root, ignore_errors=True)
    return {
        "tell_ratio": round(ours_tell / raw_tell, 3),
        "durable_ratio": round(thread / raw_durable, 3),  # the default commit: WAL synced off the loop
        "recovery_ms_10k": round(recovery, 2),
        "recovery_ms_snapshot": round(recovery_snapshot, 2),
        "activation_us": round(activation_us, 1),
        "bytes_per_idle_actor": round(bytes_per_actor),
        "details": {
            "actors": actors,
            "tell_msgs_per_s": round(ours_tell),
            "raw_channel_msgs_per_s": round(raw_tell),
            "durable_cmds_per_s": round(thread),
            "durable_cmds_per_s_inline": round(inline),
            "durable_ratio_inline": round(inline / raw_durable, 3),
            "raw_sync_writes_per_s": round(raw_durable),
            "trio_floor_cmds_per_s": round(floor),
            "trio_floor_ratio": round(floor / raw_durable, 3),
            "durable_vs_trio_floor": round(thread / floor, 3),
            "loop_lag_ms_max_inline": round(inline_lag, 2),
            "loop_lag_ms_max_thread": round(thread_lag, 2),
            "idle_actors": idle_actors,
            "python": sys.version.split()[0],
            "cpus": os.cpu_count(),
        },
    }


def run_runtime_bench(json_output: bool = False, actors: int = 1000, idle_actors: int = 10_000) -> int:
    result = measure(actors, idle_actors)
    if json_output:
        print(orjson.dumps(result).decode())
        return 0
    print(f"everturn bench runtime ({actors} actors, {idle_actors} idle actors)")
    for key, value in result.items():
        if key == "details":
            continue
        target = TARGETS.get(key)
        verdict = "" if target is None else f"  (target >= {target}: {'met' if value >= target else 'NOT MET'})"
        print(f"  {key:<22} {value}{verdict}")
    for key, value in result["details"].items():
        print(f"    {key:<28} {value}")
    return 0
