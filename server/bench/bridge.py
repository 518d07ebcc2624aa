"""``everturn bench bridge``: one VTT bridge over the websocket and over the long-poll, side by side.

A stock ``everturn serve`` (``--no-ui --no-narrator``, a fresh data directory) with one campaign;
each figure is taken for both transports in one run, by the same client code (asyncio,
``websockets`` and ``httpx``) in this process, each transport on a world of its own:

- ``commands_per_s_*``: a backlog of ``backlog`` chat commands (queued by the GM through
  ``POST .../bridge/{world}/commands``, durable) is taken by one bridge and acked, batch by
  batch as they come (each ack durable): commands acked per second from attaching (or the first
  poll) to the last ack's answer.
- ``delivery_p50_ms_*`` / ``delivery_p99_ms_*``: ``rounds`` bursts of ``burst`` commands queued
  one after another while the bridge waits; a sample is one command's time from the GM sending
  its ``POST`` to the bridge receiving it (the websocket's push may come before the GM's answer);
  every command acked as it comes.  A long-poll woken by a command lingers 20 ms for the ones
  right behind it, so a burst comes in a few answers, within the bridge token's request budget.
- ``failover_ms_*``: two bridges on one world; the emitter goes away (its websocket closes; its
  waiting long-poll is cut); the time from then to the other bridge's first event taken
  (``applied``). Either frees the lease at once; a bridge that falls silent without a word
  keeps it until it lapses (10 s: docs/bridge.md).

``long_poll_vs_ws`` is the long-poll's commands/s over the websocket's (what the fallback costs).
The GM's queueing is spread over several GM tokens so the per-token rate limit (50 requests/s)
never paces it; the bridge's own requests stay within it (one poll and one ack per batch).
"""
from __future__ import annotations

import asyncio
import itertools
import json
import shutil
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

import orjson

from .peers import Setup, everturn

BACKLOG = 1000
BURST = 100
ROUNDS = 5
GM_TOKENS = 16
TIMEOUT_S = 60.0
ACK_BATCH = 500  # the most one ack request takes


class Ws:
    """A bridge on the websocket protocol."""

    def __init__(self, url: str, token: str, world: str, instance: str) -> None:
        self.url, self.token, self.world, self.instance = url, token, world, instance
        self.conn: Any = None
        self.answers: dict[str, asyncio.Future[dict[str, Any]]] = {}
        self.commands: asyncio.Queue[tuple[float, dict[str, Any]]] = asyncio.Queue()
        self.emitter = asyncio.Event()
        self.ids = itertools.count()
        self.reader: asyncio.Task[None] | None = None

    async def open(self) -> None:
        from websockets.asyncio.client import connect

        self.conn = await connect(self.url, max_size=None, ping_interval=None, proxy=None)
        await self.conn.send(orjson.dumps({"type": "hello", "token": self.token}).decode())
        welcome = orjson.loads(await self.conn.recv())
        assert welcome["type"] == "welcome", welcome
        self.reader = asyncio.get_running_loop().create_task(self.read())
        attached = await self.request({"type": "bridge.attach", "world": self.world, "instance": self.instance})
        assert attached["type"] == "bridge.attached", attached
        if attached["emitter"]:
            self.emitter.set()

    async def read(self) -> None:
        async for text in self.conn:
            frame = orjson.loads(text)
            kind = frame["type"]
            if kind == "bridge.commands":
                at = time.perf_counter()
                for command in frame["commands"]:
                    self.commands.put_nowait((at, command))
            elif kind == "bridge.emitter" and frame["emitter"]:
                self.emitter.set()
            elif frame.get("id") in self.answers:
                self.answers.pop(frame["id"]).set_result(frame)

    async def request(self, frame: dict[str, Any]) -> dict[str, Any]:
        frame_id = f"r{next(self.ids)}"
        answer = asyncio.get_running_loop().create_future()
        self.answers[frame_id] = answer
        await self.conn.send(orjson.dumps({**frame, "id": frame_id}).decode())
        return await answer

    async def ack(self, ids: list[str]) -> None:
        answer = await self.request({"type": "bridge.ack", "world": self.world, "acks": [{"id": i} for i in ids]})
        assert answer["type"] == "bridge.acked", answer

    async def emit(self, events: list[dict[str, Any]]) -> dict[str, Any]:
        return await self.request({"type": "bridge.emit", "world": self.world, "events": events})

    async def close(self) -> None:
        await self.conn.close()
        if self.reader is not None:
            self.reader.cancel()


class LongPoll:
    """A bridge on the HTTP long-poll."""

    def __init__(self, http_url: str, token: str, world: str, instance: str) -> None:
        import httpx

        self.base = f"/api/v1/campaigns/c1/bridge/{world}"
        self.http = httpx.AsyncClient(base_url=http_url, timeout=40.0, trust_env=False, headers={
            "Authorization": f"Bearer {token}", "X-Bridge-Instance": instance})
        self.commands: asyncio.Queue[tuple[float, dict[str, Any]]] = asyncio.Queue()
        self.emitter = asyncio.Event()
        self.since = 0
        self.throttled = 0  # requests the rate limit sent back (each retried after its Retry-After)
        self.poller: asyncio.Task[None] | None = None

    async def open(self) -> None:
        self.poller = asyncio.get_running_loop().create_task(self.poll_forever())

    async def send(self, method: str, path: str, **kwargs: Any) -> Any:
        """The answer, once the bridge token's rate budget lets it through (as the module does: Retry-After)."""
        while True:
            answer = await self.http.request(method, f"{self.base}/{path}", **kwargs)
            if answer.status_code != 429:
                answer.raise_for_status()
                return answer.json()
            self.throttled += 1
            await asyncio.sleep(float(answer.headers.get("Retry-After", "0.05")))

    async def poll_forever(self) -> None:
        wait = 0  # the first poll is answered at once (as the module's): connected, and whether it is the emitter
        while True:
            body = await self.send("GET", "events", params={"since": self.since, "timeout": wait})
            wait = 25
            at = time.perf_counter()
            if body["emitter"]:
                self.emitter.set()
            self.since = body["since"]
            for command in body["commands"]:
                self.commands.put_nowait((at, command))

    async def ack(self, ids: list[str]) -> None:
        await self.send("POST", "acks", json={"acks": [{"id": i} for i in ids]})

    async def emit(self, events: list[dict[str, Any]]) -> dict[str, Any]:
        return await self.send("POST", "emit", json={"events": events})  # type: ignore[no-any-return]

    async def close(self) -> None:
        if self.poller is not None:
            self.poller.cancel()
        await self.http.aclose()


class Gm:
    """The GM queueing commands, spread over several tokens (each has its own rate budget)."""

    def __init__(self, http_url: str, tokens: list[str]) -> None:
        import httpx

        self.http = httpx.AsyncClient(base_url=http_url, timeout=30.0, trust_env=False)
        self.tokens = itertools.cycle(tokens)

    async def queue(self, world: str, text: str) -> str:
        while True:
            answer = await self.http.post(f"/api/v1/campaigns/c1/bridge/{world}/commands",
                                          headers={"Authorization": f"Bearer {next(self.tokens)}"},
                                          json={"kind": "create_chat_message", "data": {"content": text}})
            if answer.status_code == 429:
                await asyncio.sleep(float(answer.headers.get("Retry-After", "0.05")))
                continue
            answer.raise_for_status()
            return answer.json()["id"]  # type: ignore[no-any-return]


async def take(bridge: Any, count: int, arrived: dict[str, float] | None = None) -> None:
    """Receive ``count`` commands, acking each batch as it comes; their arrival times into ``arrived``."""
    got = 0
    while got < count:
        batch = [await asyncio.wait_for(bridge.commands.get(), TIMEOUT_S)]
        while not bridge.commands.empty():
            batch.append(bridge.commands.get_nowait())
        if arrived is not None:
            arrived.update((command["id"], at) for at, command in batch)
        got += len(batch)
        ids = [command["id"] for _, command in batch]
        for start in range(0, len(ids), ACK_BATCH):
            await bridge.ack(ids[start:start + ACK_BATCH])


async def throughput(gm: Gm, bridge: Any, world: str, backlog: int) -> float:
    for n in range(backlog):
        await gm.queue(world, f"backlog {n}")
    start = time.perf_counter()
    await bridge.open()
    await take(bridge, backlog)
    return backlog / (time.perf_counter() - start)


async def delivery(gm: Gm, bridge: Any, world: str, burst: int, rounds: int) -> list[float]:
    await bridge.open()
    samples: list[float] = []
    for r in range(rounds):
        queued: dict[str, float] = {}
        arrived: dict[str, float] = {}
        taker = asyncio.get_running_loop().create_task(take(bridge, burst, arrived))
        for n in range(burst):
            sent = time.perf_counter()
            queued[await gm.queue(world, f"round {r} command {n}")] = sent
        await asyncio.wait_for(taker, TIMEOUT_S)
        samples += [(arrived[i] - queued[i]) * 1000 for i in queued]
    return samples


async def failover(first: Any, second: Any) -> float:
    """Milliseconds from the emitter going away to the other bridge's first event taken."""
    await first.open()
    await asyncio.wait_for(first.emitter.wait(), TIMEOUT_S)
    await second.open()
    await asyncio.sleep(0.5)  # both settled: the emitter's long-poll waits at the server, as a module's does
    gone = time.perf_counter()
    await first.close()
    for n in itertools.count():
        answer = await second.emit([{"id": f"failover-{n}", "type": "chat", "data": {"content": f"after {n}"}}])
        if answer["items"][0]["status"] == "applied":
            return (time.perf_counter() - gone) * 1000
        assert answer["items"][0]["status"] == "ignored", answer
        if isinstance(second, Ws):  # told the moment it takes over; until then, nothing to try
            await asyncio.wait_for(second.emitter.wait(), TIMEOUT_S)
        else:
            await asyncio.sleep(0.1)


def percentile(samples: list[float], q: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


WORLDS = [f"{phase}-{transport}" for transport in ("ws", "long_poll") for phase in ("throughput", "delivery",
                                                                                    "failover")]


async def measure_all(ws_url: str, http_url: str, gms: list[str], bridges: dict[str, str], backlog: int, burst: int,
                      rounds: int) -> dict[str, Any]:
    """``bridges``: each world's bridge token (a bridge token serves one world)."""
    gm = Gm(http_url, gms)
    made = {"ws": lambda world, i: Ws(ws_url, bridges[world], world, i),
            "long_poll": lambda world, i: LongPoll(http_url, bridges[world], world, i)}
    result: dict[str, Any] = {}
    for name, make in made.items():
        one = make(f"throughput-{name}", "a")
        result[f"commands_per_s_{name}"] = round(await throughput(gm, one, f"throughput-{name}", backlog), 1)
        await one.close()
        one = make(f"delivery-{name}", "a")
        samples = await delivery(gm, one, f"delivery-{name}", burst, rounds)
        await one.close()
        result.setdefault("details", {})[f"throttled_{name}"] = getattr(one, "throttled", 0)
        result[f"delivery_p50_ms_{name}"] = round(statistics.median(samples), 2)
        result[f"delivery_p99_ms_{name}"] = round(percentile(samples, 0.99), 2)
        result[f"failover_ms_{name}"] = round(await failover(make(f"failover-{name}", "a"),
                                                             make(f"failover-{name}", "b")), 1)
    result["long_poll_vs_ws"] = round(result["commands_per_s_long_poll"] / result["commands_per_s_ws"], 3)
    await gm.http.aclose()
    return result


def measure(backlog: int = BACKLOG, burst: int = BURST, rounds: int = ROUNDS) -> dict[str, Any]:
    data = Path(tempfile.mkdtemp(prefix="everturn-bench-bridge-"))
    try:
        with everturn(data / "everturn") as (served, http_url, operator):
            setup = Setup(http_url, operator)
            gms = [setup.post("/api/v1/admin/tokens", {"role": "gm", "campaign": "c1"}, status=201)["token"]
                   for _ in range(GM_TOKENS)]
            bridges = {world: setup.post("/api/v1/admin/tokens", {"role": "bridge", "campaign": "c1"},
                                         status=201)["token"] for world in WORLDS}
            setup.post("/api/v1/actors/campaign/c1/commands", {"type": "CreateCampaign", "data": {
                "title": "Bench"}}, token=gms[0])
            figures = asyncio.run(measure_all(served.url, http_url, gms, bridges, backlog, burst, rounds))
    finally:
        shutil.rmtree(data, ignore_errors=True)
    figures["details"].update(backlog=backlog, burst=burst, rounds=rounds, gm_tokens=GM_TOKENS)
    return figures


def format_report(result: dict[str, Any]) -> str:
    rows = [("", "websocket", "long-poll")]
    for label, key in (("commands/s (acked)", "commands_per_s"), ("delivery p50 ms", "delivery_p50_ms"),
                       ("delivery p99 ms", "delivery_p99_ms"), ("failover ms", "failover_ms")):
        rows.append((label, str(result[f"{key}_ws"]), str(result[f"{key}_long_poll"])))
    width = max(len(r[0]) for r in rows)
    lines = [f"{a:<{width}}  {b:>10}  {c:>10}" for a, b, c in rows]
    lines.append(f"long-poll / websocket commands/s: {result['long_poll_vs_ws']}")
    lines.append(json.dumps(result["details"]))
    return "\n".join(lines)


def run_bridge_bench(json_output: bool = False, backlog: int = BACKLOG, burst: int = BURST,
                     rounds: int = ROUNDS) -> int:
    result = measure(backlog, burst, rounds)
    print(orjson.dumps(result).decode() if json_output else format_report(result))
    return 0
