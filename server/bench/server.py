"""``everturn bench server``: the websocket edge measured beside a bare echo on the same edge.

Everything runs on loopback (127.0.0.1) in one run, each figure next to the same measure
taken against the floor (``server.bench.floor``: an echo and broadcast served by the lean
websocket edge ``/ws`` runs on, with the same frame limit), so a shared, noisy machine
shifts both sides alike:

- ``rtt_p50_ms`` / ``rtt_p99_ms``: 100 clients, each commanding its own actor, each with
  one command in flight (``command`` -> ``ack``, a persisted event, so one synced group
  commit per batch).  The bare side echoes every frame back.
- ``fanout_p50_ms`` / ``fanout_p99_ms``: 1,000 clients subscribed to one actor; a separate
  trigger connection sends a command whose event reaches all of them; a sample is the
  time from sending the trigger to one subscriber receiving the event.  The bare side is
  a broadcast: the trigger sends a ``broadcast`` frame and the app puts it on each other
  connection's outbound queue (one writer task per connection, as ours has).
- ``rtt_ratio_vs_echo`` / ``fanout_ratio_vs_echo``: our p50 divided by the bare p50
  (lower is better; 1.0 would mean the actor runtime, persistence and protocol cost
  nothing).  The p99 ratios are in ``details``.

The server under test runs in this process (its own ``trio.run``, port 0, a fresh data
directory); the load comes from a separate process (``websockets`` asyncio client), so on
a two-core machine server and clients each have a core.  The client code is the same for
ours and the bare server; latencies are ``time.perf_counter`` deltas taken in the client
process.  Every phase has a deadline; a run takes about 25 seconds on two cores.

Reading ``details``: ``client_cpu_ms_per_round_*`` is what the client process spends taking
in one fan-out round (1,000 frames), a floor under both sides' fan-out figures;
``server_gc_*`` are the server process's full garbage collections, whose pauses (with
1,000 connections open) dominate the fan-out p99. Our server starts as ``everturn serve``
does (``tune_gc``: startup objects frozen, collections rarer), which sets the process's
collector for the bare phases too: both sides run under the same GC settings.
"""
from __future__ import annotations

import gc
import json
import os
import shutil
import sys
import tempfile
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, contextmanager
from functools import partial
from pathlib import Path
from typing import Any

import orjson

from .floor import serve_floor

RTT_CLIENTS = 100
FANOUT_CLIENTS = 1000
RTT_WARMUP_S = 1.0
RTT_SECONDS = 4.0
FANOUT_WARMUP_ROUNDS = 3
FANOUT_ROUNDS = 30
ROUND_TIMEOUT_S = 10.0
PHASE_TIMEOUT_S = 90.0
TEXT = "the party rests at the inn"
FANOUT_TOPIC = "bench/fanout"
WS_QUEUE = 1024


# -- the servers (this process) ---------------------------------------------------------

@asynccontextmanager
async def _ours(data: Path) -> AsyncIterator[tuple[str, str, Any]]:
    """Our server on port 0: its websocket url, an operator token, the runtime."""
    import trio

    from .runtime import KIND, Note

    from server.app import ServerSettings
    from server.serve import run_server

    settings = ServerSettings(campaign_kinds=frozenset({KIND.kind}), rate=1e9, burst=1e9, ws_queue=WS_QUEUE)
    async with trio.open_nursery() as nursery:
        running = await nursery.start(partial(run_server, data, [KIND], port=0, settings=settings, tune_gc=True))
        token, _ = running.tokens.create("operator")
        await running.runtime.ask(FANOUT_TOPIC, Note(text="the fanout topic opens"))  # subscribers need an actor
        try:
            yield running.url.replace("http://", "ws://") + "/ws", token, running.runtime
        finally:
            running.stop.set()


@asynccontextmanager
async def _bare() -> AsyncIterator[tuple[str, str, Any]]:
    import trio

    stop = trio.Event()
    async with trio.open_nursery() as nursery:
        url = await nursery.start(partial(serve_floor, queue=WS_QUEUE, stop=stop))
        try:
            yield url.replace("http://", "ws://") + "/ws", "bare", None
        finally:
            stop.set()


async def _load(plan: dict[str, Any]) -> dict[str, Any]:
    """Run the client process on ``plan`` and return what it prints."""
    import trio

    root = str(Path(__file__).resolve().parents[2])
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [root, os.environ.get("PYTHONPATH")]))}
    with trio.fail_after(PHASE_TIMEOUT_S + 15):
        done = await trio.run_process([sys.executable, "-m", "server.bench.server", "client", json.dumps(plan)],
                                      capture_stdout=True, capture_stderr=True, check=False, cwd=root, env=env)
    if done.returncode != 0:
        raise RuntimeError(f"bench client failed ({done.returncode}): {done.stderr.decode()[-2000:]}")
    return orjson.loads(done.stdout)


@contextmanager
def _full_collections() -> Any:
    """Count and time this process's full (generation 2) garbage collections."""
    pauses: list[float] = []
    started = [0.0]

    def callback(phase: str, info: dict[str, int]) -> None:
        if info["generation"] == 2:
            if phase == "start":
                started[0] = time.perf_counter()
            else:
                pauses.append(time.perf_counter() - started[0])

    gc.callbacks.append(callback)
    try:
        yield pauses
    finally:
        gc.callbacks.remove(callback)


async def _phase(which: str, mode: str, data: Path) -> dict[str, Any]:
    server = _ours(data) if which == "ours" else _bare()
    with _full_collections() as pauses:
        async with server as (url, token, runtime):
            plan = {"mode": mode, "url": url, "token": token, "trigger": "command" if which == "ours" else "broadcast"}
            result = await _load(plan)
            if runtime is not None:
                result["server_commit_writes"] = runtime.commits.stats.writes
                result["server_largest_group"] = runtime.commits.stats.largest_group
    result["server_gc_full"] = len(pauses)
    result["server_gc_max_ms"] = round(max(pauses, default=0.0) * 1000, 1)
    return result


def measure() -> dict[str, Any]:
    import trio

    root = Path(tempfile.mkdtemp(prefix="everturn-bench-server-"))
    started = time.perf_counter()
    try:
        ours_rtt = trio.run(_phase, "ours", "rtt", root / "rtt")
        bare_rtt = trio.run(_phase, "bare", "rtt", root / "unused")
        ours_fan = trio.run(_phase, "ours", "fanout", root / "fanout")
        bare_fan = trio.run(_phase, "bare", "fanout", root / "unused")
    finally:
        shutil.rmtree(root, ignore_errors=True)

    def ratio(ours: float, bare: float) -> float:
        return round(ours / bare, 2) if bare > 0 else float("inf")

    return {
        "rtt_p50_ms": ours_rtt["p50_ms"],
        "rtt_p99_ms": ours_rtt["p99_ms"],
        "rtt_ratio_vs_echo": ratio(ours_rtt["p50_ms"], bare_rtt["p50_ms"]),
        "fanout_p50_ms": ours_fan["p50_ms"],
        "fanout_p99_ms": ours_fan["p99_ms"],
        "fanout_ratio_vs_echo": ratio(ours_fan["p50_ms"], bare_fan["p50_ms"]),
        "details": {
            "rtt_clients": RTT_CLIENTS,
            "rtt_seconds": RTT_SECONDS,
            "rtt_round_trips": ours_rtt["samples"],
            "rtt_per_s": ours_rtt["per_s"],
            "echo_rtt_p50_ms": bare_rtt["p50_ms"],
            "echo_rtt_p99_ms": bare_rtt["p99_ms"],
            "echo_round_trips": bare_rtt["samples"],
            "echo_rtt_per_s": bare_rtt["per_s"],
            "rtt_throughput_ratio_vs_echo": ratio(ours_rtt["per_s"], bare_rtt["per_s"]),
            "rtt_p99_ratio_vs_echo": ratio(ours_rtt["p99_ms"], bare_rtt["p99_ms"]),
            "rtt_errors": ours_rtt["errors"],
            "rtt_commit_writes": ours_rtt["server_commit_writes"],
            "rtt_largest_commit_group": ours_rtt["server_largest_group"],
            "fanout_clients": FANOUT_CLIENTS,
            "fanout_rounds": ours_fan["rounds"],
            "fanout_samples": ours_fan["samples"],
            "fanout_last_p50_ms": ours_fan["last_p50_ms"],
            "broadcast_p50_ms": bare_fan["p50_ms"],
            "broadcast_p99_ms": bare_fan["p99_ms"],
            "broadcast_last_p50_ms": bare_fan["last_p50_ms"],
            "broadcast_samples": bare_fan["samples"],
            "fanout_p99_ratio_vs_echo": ratio(ours_fan["p99_ms"], bare_fan["p99_ms"]),
            "fanout_missed": ours_fan["missed"],
            "broadcast_missed": bare_fan["missed"],
            "fanout_resyncs": ours_fan["resyncs"],
            "client_cpu_ms_per_round_ours": ours_fan["client_cpu_ms_per_round"],
            "client_cpu_ms_per_round_bare": bare_fan["client_cpu_ms_per_round"],
            "server_gc_full_ours": ours_rtt["server_gc_full"] + ours_fan["server_gc_full"],
            "server_gc_full_bare": bare_rtt["server_gc_full"] + bare_fan["server_gc_full"],
            "server_gc_max_ms_ours": max(ours_rtt["server_gc_max_ms"], ours_fan["server_gc_max_ms"]),
            "server_gc_max_ms_bare": max(bare_rtt["server_gc_max_ms"], bare_fan["server_gc_max_ms"]),
            "connect_s_ours": ours_fan["connect_s"],
            "connect_s_bare": bare_fan["connect_s"],
            "seconds": round(time.perf_counter() - started, 1),
            "python": sys.version.split()[0],
            "cpus": os.cpu_count(),
        },
    }


def run_server_bench(json_output: bool = False) -> int:
    result = measure()
    if json_output:
        print(orjson.dumps(result).decode())
        return 0
    print(f"everturn bench server (loopback; {RTT_CLIENTS} command clients, {FANOUT_CLIENTS} subscribers;"
          " ratios: ours p50 / the bare echo's p50, lower is better)")
    for key, value in result.items():
        if key != "details":
            print(f"  {key:<22} {value}")
    for key, value in result["details"].items():
        print(f"    {key:<30} {value}")
    return 0


# -- the load (a separate process, asyncio + websockets) ---------------------------------

def _percentile(sorted_values: list[float], q: float) -> float:
    if not sorted_values:
        return float("nan")
    return sorted_values[min(len(sorted_values) - 1, int(q * len(sorted_values)))]


def _summary(latencies: list[float]) -> dict[str, Any]:
    values = sorted(latencies)
    return {"p50_ms": round(_percentile(values, 0.50) * 1000, 3), "p99_ms": round(_percentile(values, 0.99) * 1000, 3),
            "samples": len(values)}


async def _connect(url: str, token: str, gate: Any) -> Any:
    """Open, say hello, take one answer (``welcome``, or the echo of the hello)."""
    from websockets.asyncio.client import connect

    async with gate:
        ws = await connect(url, compression=None, ping_interval=None, open_timeout=30, close_timeout=2,
                           max_size=1 << 20)
        await ws.send(orjson.dumps({"type": "hello", "token": token}).decode())
        answer = orjson.loads(await ws.recv())
        if answer.get("type") == "error":
            raise RuntimeError(f"hello refused: {answer}")
        return ws


async def _open_all(url: str, token: str, count: int) -> list[Any]:
    import asyncio

    gate = asyncio.Semaphore(50)  # below hypercorn's listen backlog of 100
    return list(await asyncio.gather(*(_connect(url, token, gate) for _ in range(count))))


async def _close_all(sockets: list[Any]) -> None:
    import asyncio

    await asyncio.wait_for(asyncio.gather(*(ws.close() for ws in sockets), return_exceptions=True), 10)


async def _rtt(plan: dict[str, Any]) -> dict[str, Any]:
    import asyncio

    sockets = await _open_all(plan["url"], plan["token"], RTT_CLIENTS)
    clock = time.perf_counter
    begin = clock() + RTT_WARMUP_S
    end = begin + RTT_SECONDS
    latencies: list[float] = []
    errors = 0

    async def client(n: int, ws: Any) -> None:
        nonlocal errors
        topic = f"bench/rtt{n}"
        sent = 0
        while True:
            sent += 1
            request_id = f"{n}.{sent}"
            frame = orjson.dumps({"type": "command", "id": request_id, "topic": topic,
                                  "command": {"type": "Note", "data": {"text": TEXT}}}).decode()
            start = clock()
            if start >= end:
                return
            await ws.send(frame)
            while True:
                answer = orjson.loads(await ws.recv())
                if answer.get("id") == request_id:
                    break
            done = clock()
            if answer["type"] == "error":
                errors += 1
            elif start >= begin:
                latencies.append(done - start)

    async with asyncio.timeout(PHASE_TIMEOUT_S):
        await asyncio.gather(*(client(n, ws) for n, ws in enumerate(sockets)))
        await _close_all(sockets)
    return {**_summary(latencies), "per_s": round(len(latencies) / RTT_SECONDS), "errors": errors}


def _round_of(frame: dict[str, Any]) -> int | None:
    """Which trigger a frame carries: our ``event`` frame, or the bare broadcast itself."""
    kind = frame.get("type")
    if kind == "event":
        text = frame["event"]["data"]["text"]
    elif kind == "broadcast":
        text = frame["command"]["data"]["text"]
    else:
        return None
    return int(text.rsplit(" ", 1)[1])


async def _fanout(plan: dict[str, Any]) -> dict[str, Any]:
    import asyncio

    clock = time.perf_counter
    started = clock()
    subscribers = await _open_all(plan["url"], plan["token"], FANOUT_CLIENTS)

    async def subscribe(ws: Any) -> None:
        await ws.send(orjson.dumps({"type": "subscribe", "topic": FANOUT_TOPIC}).decode())
        answer = orjson.loads(await ws.recv())  # our snapshot, or the echo
        if answer.get("type") == "error":
            raise RuntimeError(f"subscribe refused: {answer}")

    async with asyncio.timeout(PHASE_TIMEOUT_S):
        gate = asyncio.Semaphore(100)

        async def gated(ws: Any) -> None:
            async with gate:
                await subscribe(ws)

        await asyncio.gather(*(gated(ws) for ws in subscribers))
        [trigger] = await _open_all(plan["url"], plan["token"], 1)
        connect_s = clock() - started

        rounds = FANOUT_WARMUP_ROUNDS + FANOUT_ROUNDS
        arrivals = [[0.0] * FANOUT_CLIENTS for _ in range(rounds)]
        counts = [0] * rounds
        complete = [asyncio.Event() for _ in range(rounds)]
        resyncs = 0

        async def listen(n: int, ws: Any) -> None:
            nonlocal resyncs
            async for raw in ws:
                at = clock()
                frame = orjson.loads(raw)
                r = _round_of(frame)
                if r is None:
                    resyncs += frame.get("type") == "resync"
                    continue
                arrivals[r][n] = at
                counts[r] += 1
                if counts[r] == FANOUT_CLIENTS:
                    complete[r].set()

        async def drain(ws: Any) -> None:
            async for _ in ws:
                pass

        listeners = [asyncio.create_task(listen(n, ws)) for n, ws in enumerate(subscribers)]
        listeners.append(asyncio.create_task(drain(trigger)))
        latencies: list[float] = []
        lasts: list[float] = []
        cpu: list[float] = []
        missed = 0
        for r in range(rounds):
            frame = orjson.dumps({"type": plan["trigger"], "id": f"fan.{r}", "topic": FANOUT_TOPIC,
                                  "command": {"type": "Note", "data": {"text": f"round {r}"}}}).decode()
            sent, cpu_before = clock(), time.process_time()
            await trigger.send(frame)
            try:
                async with asyncio.timeout(ROUND_TIMEOUT_S):
                    await complete[r].wait()
            except TimeoutError:
                pass
            cpu.append(time.process_time() - cpu_before)
            await asyncio.sleep(0.05)  # let the trigger's ack and stragglers pass
            if r < FANOUT_WARMUP_ROUNDS:
                continue
            got = [at - sent for at in arrivals[r] if at]
            missed += FANOUT_CLIENTS - len(got)
            latencies.extend(got)
            if got:
                lasts.append(max(got))
        for task in listeners:
            task.cancel()
        await _close_all([*subscribers, trigger])
    lasts.sort()
    cpu.sort()
    return {**_summary(latencies), "rounds": FANOUT_ROUNDS, "missed": missed, "resyncs": resyncs,
            "last_p50_ms": round(_percentile(lasts, 0.5) * 1000, 3), "connect_s": round(connect_s, 2),
            "client_cpu_ms_per_round": round(_percentile(cpu, 0.5) * 1000, 1)}


def _client_main(plan: dict[str, Any]) -> None:
    import asyncio

    result = asyncio.run(_rtt(plan) if plan["mode"] == "rtt" else _fanout(plan))
    sys.stdout.write(orjson.dumps(result).decode())


if __name__ == "__main__" and sys.argv[1:2] == ["client"]:
    _client_main(json.loads(sys.argv[2]))
