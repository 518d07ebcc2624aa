"""``everturn bench peers``: Everturn beside the floor of its own stack and beside Colyseus.

Three servers, each a process of its own on 127.0.0.1, all driven by one Node load driver
(``peers_js.DRIVER``) so every side gets the same client code:

- **colyseus**: a minimal Colyseus 0.18 server (``peers_js.COLYSEUS``: an echo room, a
  broadcast room; in memory), installed with npm into a cache directory
  (``~/.cache/everturn/peers``, or ``$EVERTURN_PEERS_CACHE``) the first time;
- **floor**: a bare echo and broadcast on the lean websocket edge ``everturn serve`` runs
  ``/ws`` on (``python -m server.bench.floor``);
- **everturn**: ``everturn serve --no-ui --no-narrator`` on a fresh data directory, stock
  settings; the bench takes the first operator token from its output and sets up campaigns,
  player tokens and players over HTTP.

Each workload runs against each server in turn (colyseus, floor, everturn, then again), for
``rounds`` rounds; every figure is the median over rounds of that round's figure:

- RTT: ``clients`` clients, ``round_trips`` sequential requests each, p50/p99. Everturn: a
  ``PostAction`` by a player on its own campaign (and, as ``one_campaign``, every client a
  player of one campaign), from ``command`` to ``ack``; the floor: an echo; Colyseus: a room
  message answered.
- Fan-out: ``subscribers`` subscribers, one trigger at a time, p50/p99 of trigger-to-arrival.
- Acked throughput: each client keeps ``in_flight`` requests outstanding for ``seconds``;
  answers per second (Everturn: durable acks, own campaigns and one campaign).
- Memory (once, first, on servers that have carried no load): ``idle`` idle connections
  opened (and said hello), then ``idle`` more; the server process's RSS (``/proc/PID/status``
  VmRSS) at rest and after each batch; KB per connection is the second batch's growth per
  connection (the first pays one-time costs; a later round would mostly reuse memory the
  earlier phases freed and measure next to nothing).
  Then the clients all leave at once: ``sockets_released_s`` is the time until the server holds
  no more sockets than at rest, ``rss_after_disconnect_mb`` its RSS 5 s later.

The ratios are Everturn's figure over the other's (lower is better, except ``acked_vs_floor``
where higher is). ``shard_scaling`` is the acked commands per second (own campaigns) of the
stock server (one shard per core) over the same server with one shard (or, on one core, of two
shards over the stock one), measured last, alternating, on its own data directory. On a sharded
server the memory and socket figures add up its shard processes (``serving``).
"""
from __future__ import annotations

import json
import os
import re
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from contextlib import ExitStack, contextmanager
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from server.context import ServerSettings

from .peers_js import COLYSEUS, DRIVER

PACKAGES = {"ws": "ws@8", "@colyseus/core": "@colyseus/core@0.18",
            "@colyseus/ws-transport": "@colyseus/ws-transport@0.18", "@colyseus/sdk": "@colyseus/sdk@0.18"}
TARGETS = ("colyseus", "floor", "everturn")
CHARACTER = {"name": "Ayla", "level": 3, "max_hp": 40, "hp": 40, "ac": 19,
             "saves": {"fortitude": 8, "reflex": 9, "will": 6}, "perception": 9,
             "strikes": [{"name": "longsword", "attack": 9, "damage": "1d8+4"}]}
SUBSCRIBERS_PER_TOKEN = 100  # well under the 1,024 subscriptions a token may hold, even while old ones close
START_TIMEOUT_S = 60.0
ROUND_TIMEOUT_S = 10.0
DISCONNECT_SETTLE_S = 5.0  # after a mass disconnect, the RSS is read again this much later
ROOT = Path(__file__).resolve().parents[2]


@dataclass(frozen=True)
class Scale:
    rounds: int = 3
    clients: int = 100
    round_trips: int = 20
    subscribers: int = 1000
    triggers: int = 5
    seconds: float = 3.0
    in_flight: int = 8
    idle: int = 2000
    scaling_clients: int = 300  # shard_scaling's clients: more than ``clients``, so the per-token rate limit
    # (50 commands/s: 5,000/s for 100 clients) is not what it measures


class Unavailable(Exception):
    """The bench cannot run here (no node or npm, or ``ws`` would not install)."""


# -- the Node side --------------------------------------------------------------------------------------------------

def cache_dir() -> Path:
    return Path(os.environ.get("EVERTURN_PEERS_CACHE") or Path.home() / ".cache" / "everturn" / "peers")


def prepare(cache: Path, with_colyseus: bool = True) -> str | None:
    """Install what is missing into ``cache`` and write the driver and the Colyseus server there.

    Returns why Colyseus is unavailable (None when it is); raises :class:`Unavailable` when the
    driver itself cannot run."""
    if not shutil.which("node") or not shutil.which("npm"):
        raise Unavailable("everturn bench peers needs node and npm on PATH (the load driver and Colyseus run on Node)")
    cache.mkdir(parents=True, exist_ok=True)
    if not (cache / "package.json").exists():
        (cache / "package.json").write_text('{"name": "everturn-peers", "private": true}\n')
    (cache / "driver.js").write_text(DRIVER)
    (cache / "colyseus_server.js").write_text(COLYSEUS)
    why = None
    groups = [["ws"], ["@colyseus/core", "@colyseus/ws-transport", "@colyseus/sdk"]][:2 if with_colyseus else 1]
    for group in groups:
        missing = [PACKAGES[name] for name in group if not (cache / "node_modules" / name / "package.json").exists()]
        if not missing:
            continue
        done = subprocess.run(["npm", "install", "--no-audit", "--no-fund", "--loglevel=error", *missing], cwd=cache,
                              capture_output=True, text=True, timeout=600)
        if done.returncode != 0:
            reason = f"npm install {' '.join(missing)} failed: {done.stderr.strip()[-400:]}"
            if group == ["ws"]:
                raise Unavailable(reason)
            why = reason
    return why


def drive(cache: Path, plan: dict[str, Any]) -> dict[str, Any]:
    """One driver run: one workload against one server."""
    plan = {"timeout_s": 240, "round_timeout_s": ROUND_TIMEOUT_S, **plan}
    done = subprocess.run(["node", str(cache / "driver.js"), json.dumps(plan)], cwd=cache, capture_output=True,
                          text=True, timeout=plan["timeout_s"] + 30)
    if done.returncode != 0:
        raise RuntimeError(f"driver {plan['mode']} on {plan['target']} failed: {done.stderr.strip()[-1500:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def serving(pid: int) -> list[int]:
    """The processes that serve: ``pid`` and, for a sharded ``everturn serve``, its shard processes
    (not its worker pools: the narrator's, training's and learned players' are not the server)."""
    pids = [pid]
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            parent = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            command = (entry / "cmdline").read_bytes().split(b"\0")
        except (OSError, IndexError, ValueError):
            continue
        if parent == pid and b"server.cli" in command and b"serve" in command:
            pids.append(int(entry.name))
    return pids


def rss_kb(pid: int) -> int:
    """The resident memory of what serves (:func:`serving`), in KB."""
    total = 0
    for one in serving(pid):
        for line in Path(f"/proc/{one}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                total += int(line.split()[1])
    return total


def open_sockets(pid: int) -> int:
    """How many sockets what serves (:func:`serving`) holds open."""
    count = 0
    for one in serving(pid):
        for fd in Path(f"/proc/{one}/fd").iterdir():
            try:
                count += os.readlink(fd).startswith("socket:")
            except OSError:  # closed meanwhile
                pass
    return count


def sockets_released(pid: int, before: int, limit_s: float = 60.0) -> float | None:
    """Seconds from now (the clients just left) until the server holds no more sockets than ``before``."""
    started = time.perf_counter()
    while time.perf_counter() - started < limit_s:
        if open_sockets(pid) <= before:
            return round(time.perf_counter() - started, 2)
        time.sleep(0.02)
    return None


def idle_kb_per_conn(cache: Path, plan: dict[str, Any], pid: int) -> dict[str, Any]:
    """The server's RSS at rest, with ``plan['connections']`` idle connections open, and with as many
    again: KB per connection is the second batch's growth (the first pays one-time costs)."""
    at_rest, sockets_at_rest = rss_kb(pid), open_sockets(pid)
    plan = {"timeout_s": 240, "round_timeout_s": ROUND_TIMEOUT_S, **plan, "mode": "idle", "batches": 2}
    driver = subprocess.Popen(["node", str(cache / "driver.js"), json.dumps(plan)], cwd=cache, stdin=subprocess.PIPE,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    rss, counts = [], []
    try:
        for _ in range(2):
            line = driver.stdout.readline()
            if not line.startswith('{"ready"'):
                driver.kill()
                raise RuntimeError(f"idle driver on {plan['target']} failed: {driver.stderr.read()[-1500:]}")
            time.sleep(1.0)  # what the server does after the last hello settles
            rss.append(rss_kb(pid))
            counts.append(json.loads(line)["ready"])
            driver.stdin.write("\n")
            driver.stdin.flush()
    finally:
        driver.stdin.close()
        driver.wait(timeout=60)
    released_s = sockets_released(pid, sockets_at_rest)
    time.sleep(DISCONNECT_SETTLE_S)
    return {"kb_per_conn": round((rss[1] - rss[0]) / (counts[1] - counts[0]), 2),
            "sockets_released_s": released_s,
            "rss_after_disconnect_mb": round(rss_kb(pid) / 1024, 1),  # DISCONNECT_SETTLE_S after
            "rss_at_rest_mb": round(at_rest / 1024, 1),
            "rss_first_batch_mb": round(rss[0] / 1024, 1), "rss_second_batch_mb": round(rss[1] / 1024, 1),
            "kb_per_conn_first_batch": round((rss[0] - at_rest) / counts[0], 2), "connections": counts[1]}


# -- the servers ------------------------------------------------------------------------------------------------------

@dataclass
class Served:
    url: str  # the websocket url (Colyseus: its base url)
    process: subprocess.Popen[str]


def _raise_file_limit() -> None:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))  # children (servers, driver) inherit it


@contextmanager
def _process(command: list[str], pattern: str, cwd: Path) -> Iterator[tuple[subprocess.Popen[str], list[str]]]:
    """Start ``command``; yield it with the output lines read until one matched ``pattern``; stop it after."""
    path = os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))
    process = subprocess.Popen(command, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                               env={**os.environ, "PYTHONUNBUFFERED": "1", "PYTHONPATH": path})
    lines: list[str] = []
    try:
        deadline = time.monotonic() + START_TIMEOUT_S
        for line in process.stdout:
            lines.append(line)
            if re.search(pattern, line) or time.monotonic() > deadline:
                break
        if not lines or not re.search(pattern, lines[-1]):
            raise RuntimeError(f"{' '.join(command[:4])} did not come up: {''.join(lines)[-1500:]}")
        threading.Thread(target=process.stdout.read, daemon=True).start()  # keep the pipe drained
        yield process, lines
    finally:
        if process.poll() is None:
            process.terminate()
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


@contextmanager
def colyseus(cache: Path) -> Iterator[Served]:
    with _process(["node", str(cache / "colyseus_server.js")], r'^\{"url"', cache) as (process, lines):
        yield Served(json.loads(lines[-1])["url"], process)


@contextmanager
def floor() -> Iterator[Served]:
    with _process([sys.executable, "-m", "server.bench.floor"], r'^\{"url"', ROOT) as (process, lines):
        yield Served(json.loads(lines[-1])["url"].replace("http://", "ws://") + "/ws", process)


@contextmanager
def everturn(data: Path, shards: int | None = None) -> Iterator[tuple[Served, str, str]]:
    """``everturn serve`` (stock, or with ``--shards``); yields it, its http url and the first operator token."""
    command = [sys.executable, "-m", "server.cli", "serve", "--data", str(data), "--port", "0", "--no-ui",
               "--no-narrator", *(["--shards", str(shards)] if shards else [])]
    with _process(command, r"first operator token \(shown once\): (\S+)", ROOT) as (process, lines):
        text = "".join(lines)
        http = re.search(r"serving (http://\S+)", text).group(1)
        token = re.search(r"first operator token \(shown once\): (\S+)", text).group(1)
        yield Served(http.replace("http://", "ws://") + "/ws", process), http, token


class Setup:
    """Campaigns, players and their tokens made through the HTTP API with the operator token."""

    def __init__(self, http_url: str, operator: str) -> None:
        import httpx

        self.http = httpx.Client(base_url=http_url, timeout=30.0, trust_env=False)
        self.operator = operator

    def post(self, path: str, body: dict[str, Any], token: str | None = None, status: int = 200) -> Any:
        while True:  # the operator's rate budget (50/s) is shared by every setup request
            response = self.http.post(path, json=body, headers={"Authorization": f"Bearer {token or self.operator}"})
            if response.status_code == 429:
                time.sleep(float(response.headers.get("Retry-After", "0.2")))
                continue
            if response.status_code != status:
                raise RuntimeError(f"setup: POST {path} answered {response.status_code}: {response.text[:500]}")
            return response.json()

    def campaign(self, campaign: str) -> str:
        self.post(f"/api/v1/actors/campaign/{campaign}/commands",
                  {"type": "CreateCampaign", "data": {"title": campaign}})
        return f"campaign/{campaign}"

    def player(self, campaign: str, character: str, join: bool = True) -> str:
        token = self.post("/api/v1/admin/tokens", {"role": "player", "campaign": campaign, "character": character},
                          status=201)["token"]
        if join:
            self.post(f"/api/v1/actors/campaign/{campaign}/commands",
                      {"type": "JoinCampaign", "data": {"character": {**CHARACTER, "name": character}}}, token)
        return token

    def shards(self) -> int:
        """How many shards the server runs (1: one process)."""
        figures = self.http.get("/api/v1/admin/runtime", headers={"Authorization": f"Bearer {self.operator}"}).json()
        return len(figures.get("shards") or [figures])  # a sharded server's figures list each shard

    def own_campaigns(self, clients: int, prefix: str = "own") -> tuple[list[str], list[str]]:
        """``clients`` campaigns with a player each: their topics and the players' tokens."""
        topics, tokens = [], []
        for i in range(clients):
            topics.append(self.campaign(f"{prefix}{i}"))
            tokens.append(self.player(f"{prefix}{i}", f"p{i}"))
        return topics, tokens

    def close(self) -> None:
        self.http.close()


# -- the run -----------------------------------------------------------------------------------------------------------

def _median(rounds: list[dict[str, Any]], key: str) -> float | None:
    values = [r[key] for r in rounds if r.get(key) is not None]
    return round(statistics.median(values), 3) if values else None


def _ratio(ours: float | None, theirs: float | None) -> float | None:
    if ours is None or theirs is None or theirs <= 0:
        return None
    return round(ours / theirs, 2)


def measure(scale: Scale = Scale(), with_colyseus: bool = True) -> dict[str, Any]:
    """Run every workload ``scale.rounds`` times against each server; raises :class:`Unavailable`."""
    started = time.perf_counter()
    cache = cache_dir()
    colyseus_missing = prepare(cache, with_colyseus)
    targets = [t for t in TARGETS if t != "colyseus" or (with_colyseus and colyseus_missing is None)]
    _raise_file_limit()
    data = Path(tempfile.mkdtemp(prefix="everturn-bench-peers-"))
    try:
        with ExitStack() as stack:
            servers: dict[str, Served] = {}
            if "colyseus" in targets:
                servers["colyseus"] = stack.enter_context(colyseus(cache))
            servers["floor"] = stack.enter_context(floor())
            served, http_url, operator = stack.enter_context(everturn(data / "data"))
            servers["everturn"] = served
            setup = Setup(http_url, operator)
            stack.callback(setup.close)
            setup_started = time.perf_counter()
            own_topics, own_tokens = setup.own_campaigns(scale.clients)
            stock_shards = setup.shards()
            one_topic = setup.campaign("one")
            one_tokens = [setup.player("one", f"p{i}") for i in range(scale.clients)]
            fan_topic = setup.campaign("fan")
            trigger = setup.player("fan", "herald")
            readers = [setup.player("fan", f"r{k}", join=False)
                       for k in range(-(-scale.subscribers // SUBSCRIBERS_PER_TOKEN))]
            setup_s = time.perf_counter() - setup_started

            def plan(target: str, mode: str, r: int, one: bool = False, **extra: Any) -> dict[str, Any]:
                p = {"target": target, "mode": mode, "url": servers[target].url, "round": r, **extra}
                if target == "everturn":
                    p.update(tokens=one_tokens if one else own_tokens, topics=[one_topic] if one else own_topics)
                return p

            runs: dict[str, list[dict[str, Any]]] = {}

            def record(name: str, result: dict[str, Any]) -> None:
                runs.setdefault(name, []).append(result)

            for target in targets:  # once, on servers that have seen no load yet (the "at rest")
                idle_plan = plan(target, "idle", 0, connections=scale.idle)
                if target == "everturn":
                    idle_plan["tokens"] = [operator]
                record(f"{target}.idle", idle_kb_per_conn(cache, idle_plan, servers[target].process.pid))
                time.sleep(1.0)
            for r in range(scale.rounds):
                for target in targets:
                    record(f"{target}.rtt", drive(cache, plan(target, "rtt", r, clients=scale.clients,
                                                              round_trips=scale.round_trips)))
                    if target == "everturn":
                        record("everturn.rtt_one", drive(cache, plan(target, "rtt", r, one=True, tag="one",
                                                                     clients=scale.clients,
                                                                     round_trips=scale.round_trips)))
                for target in targets:
                    extra = {"topic": fan_topic, "tokens": readers, "trigger_token": trigger} \
                        if target == "everturn" else {}
                    record(f"{target}.fanout", drive(cache, {**plan(target, "fanout", r, subscribers=scale.subscribers,
                                                                    triggers=scale.triggers), **extra}))
                for target in targets:
                    record(f"{target}.acked", drive(cache, plan(target, "acked", r, clients=scale.clients,
                                                                in_flight=scale.in_flight, seconds=scale.seconds,
                                                                warmup_s=0.5)))
                    if target == "everturn":
                        record("everturn.acked_one", drive(cache, plan(target, "acked", r, one=True, tag="one",
                                                                       clients=scale.clients,
                                                                       in_flight=scale.in_flight,
                                                                       seconds=scale.seconds, warmup_s=0.5)))
            rss_at_end = {t: round(rss_kb(servers[t].process.pid) / 1024, 1) for t in targets}
            # shard_scaling: the stock server's acked commands (own campaigns) against one with another shard
            # count (one shard; or two when the stock one has one), alternating, after the rest has run.
            other_shards = 1 if stock_shards > 1 else 2
            other, other_http, other_operator = stack.enter_context(everturn(data / "other", other_shards))
            other_setup = Setup(other_http, other_operator)
            stack.callback(other_setup.close)
            other_topics, other_tokens = other_setup.own_campaigns(scale.scaling_clients, "sc")
            stock_topics, stock_tokens = setup.own_campaigns(scale.scaling_clients, "sc")
            servers["everturn_other"] = other
            for r in range(scale.rounds):
                for name, topics, tokens in (("everturn", stock_topics, stock_tokens),
                                             ("everturn_other", other_topics, other_tokens)):
                    record(f"{name}.scaling", drive(cache, {"target": "everturn", "mode": "acked",
                                                            "url": servers[name].url, "round": r, "tag": "scaling",
                                                            "tokens": tokens, "topics": topics,
                                                            "clients": scale.scaling_clients,
                                                            "in_flight": scale.in_flight,
                                                            "seconds": scale.seconds, "warmup_s": 0.5}))
    finally:
        shutil.rmtree(data, ignore_errors=True)

    def figures(target: str) -> dict[str, Any] | None:
        if target not in targets:
            return None
        out = {"rtt_p50_ms": _median(runs[f"{target}.rtt"], "p50_ms"),
               "rtt_p99_ms": _median(runs[f"{target}.rtt"], "p99_ms"),
               "fanout_p50_ms": _median(runs[f"{target}.fanout"], "p50_ms"),
               "fanout_p99_ms": _median(runs[f"{target}.fanout"], "p99_ms"),
               "fanout_missed": sum(x["missed"] for x in runs[f"{target}.fanout"]),
               "acked_per_s": _median(runs[f"{target}.acked"], "per_s"),
               "acked_p50_ms": _median(runs[f"{target}.acked"], "p50_ms"),
               "kb_per_conn": runs[f"{target}.idle"][0]["kb_per_conn"],
               "kb_per_conn_first_batch": runs[f"{target}.idle"][0]["kb_per_conn_first_batch"],
               "rss_at_rest_mb": runs[f"{target}.idle"][0]["rss_at_rest_mb"],
               "rss_with_idle_mb": runs[f"{target}.idle"][0]["rss_second_batch_mb"],
               "rss_at_end_mb": rss_at_end[target],
               "sockets_released_s": runs[f"{target}.idle"][0]["sockets_released_s"],
               "rss_after_disconnect_mb": runs[f"{target}.idle"][0]["rss_after_disconnect_mb"],
               "errors": sum(x.get("errors", 0) for name, xs in runs.items() if name.startswith(target + ".")
                             for x in xs)}
        if target == "everturn":
            out.update({"rtt_one_campaign_p50_ms": _median(runs["everturn.rtt_one"], "p50_ms"),
                        "rtt_one_campaign_p99_ms": _median(runs["everturn.rtt_one"], "p99_ms"),
                        "acked_per_s_one_campaign": _median(runs["everturn.acked_one"], "per_s"),
                        "acked_one_campaign_p50_ms": _median(runs["everturn.acked_one"], "p50_ms"),
                        # commands refused (a full mailbox: 800 in flight, 256 places) and retried after a backoff
                        "acked_one_campaign_refused": _median(runs["everturn.acked_one"], "errors")})
            codes: dict[str, int] = {}
            for name, xs in runs.items():
                if name.startswith("everturn."):
                    for x in xs:
                        for code, n in (x.get("error_codes") or {}).items():
                            codes[code] = codes.get(code, 0) + n
            out["error_codes"] = codes
        return out

    ours, bare, peer = figures("everturn"), figures("floor"), figures("colyseus")
    peer_ = peer or {}
    return {
        "rtt_p50_vs_floor": _ratio(ours["rtt_p50_ms"], bare["rtt_p50_ms"]),
        "rtt_p99_vs_floor": _ratio(ours["rtt_p99_ms"], bare["rtt_p99_ms"]),
        "rtt_p99_vs_floor_one_campaign": _ratio(ours["rtt_one_campaign_p99_ms"], bare["rtt_p99_ms"]),
        "fanout_p99_vs_floor": _ratio(ours["fanout_p99_ms"], bare["fanout_p99_ms"]),
        "acked_vs_floor": _ratio(ours["acked_per_s"], bare["acked_per_s"]),
        "kb_per_conn_vs_floor": _ratio(ours["kb_per_conn"], bare["kb_per_conn"]),
        "rtt_p50_vs_colyseus": _ratio(ours["rtt_p50_ms"], peer_.get("rtt_p50_ms")),
        "rtt_p99_vs_colyseus": _ratio(ours["rtt_p99_ms"], peer_.get("rtt_p99_ms")),
        "fanout_p99_vs_colyseus": _ratio(ours["fanout_p99_ms"], peer_.get("fanout_p99_ms")),
        "acked_per_s_own": ours["acked_per_s"],
        "acked_per_s_one_campaign": ours["acked_per_s_one_campaign"],
        "shard_scaling": _ratio(*(_median(runs[f"{name}.scaling"], "per_s") for name in (
            ("everturn", "everturn_other") if stock_shards > other_shards else ("everturn_other", "everturn")))),
        "figures": {"everturn": ours, "floor": bare, "colyseus": peer},
        "details": {
            **asdict(scale),
            "rtt_p50_vs_floor_one_campaign": _ratio(ours["rtt_one_campaign_p50_ms"], bare["rtt_p50_ms"]),
            "fanout_p50_vs_floor": _ratio(ours["fanout_p50_ms"], bare["fanout_p50_ms"]),
            "rtt_p50_vs_colyseus_one_campaign": _ratio(ours["rtt_one_campaign_p50_ms"], peer_.get("rtt_p50_ms")),
            "rtt_p99_vs_colyseus_one_campaign": _ratio(ours["rtt_one_campaign_p99_ms"], peer_.get("rtt_p99_ms")),
            "fanout_p50_vs_colyseus": _ratio(ours["fanout_p50_ms"], peer_.get("fanout_p50_ms")),
            "kb_per_conn_vs_colyseus": _ratio(ours["kb_per_conn"], peer_.get("kb_per_conn")),
            "shards": stock_shards,
            "shard_scaling": f"acked commands/s ({scale.scaling_clients} clients on own campaigns) with "
                             f"{max(stock_shards, other_shards)} shards over {min(stock_shards, other_shards)}, "
                             "alternating rounds: "
                             + ", ".join(f"{name}={_median(runs[f'{name}.scaling'], 'per_s')}"
                                         for name in ("everturn", "everturn_other")),
            "colyseus": "skipped (--no-colyseus)" if not with_colyseus else (colyseus_missing or "0.18, in memory"),
            "setup_s": round(setup_s, 1),
            "run_s": round(time.perf_counter() - started, 1),
            "everturn_rate_limit_per_token_per_s": ServerSettings().rate,
            "node": subprocess.run(["node", "--version"], capture_output=True, text=True).stdout.strip(),
            "python": sys.version.split()[0],
            "cpus": os.cpu_count(),
            "cache": str(cache),
            "rounds_raw": runs,
        },
    }


def run_peers_bench(json_output: bool = False, scale: Scale = Scale(), with_colyseus: bool = True) -> int:
    try:
        result = measure(scale, with_colyseus)
    except Unavailable as exc:
        print(f"everturn bench peers: {exc}", file=sys.stderr)
        return 2
    if json_output:
        print(json.dumps(result))
        return 0
    print(f"everturn bench peers ({scale.rounds} alternating rounds, medians; one Node driver; ratios: Everturn over "
          "the other, lower is better except acked_vs_floor)")
    for key, value in result.items():
        if key not in ("figures", "details"):
            print(f"  {key:<32} {value}")
    for target, figures in result["figures"].items():
        print(f"  {target}:")
        if figures is None:
            print(f"    {result['details']['colyseus']}")
            continue
        for key, value in figures.items():
            print(f"    {key:<30} {value}")
    for key, value in result["details"].items():
        if key != "rounds_raw":
            print(f"  {key:<32} {value}")
    return 0
