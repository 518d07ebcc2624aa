"""``everturn serve --shards 2``: real processes on one port, each owning its campaigns.

Each test runs the real command (a supervisor and two shard processes, each with its own
RocksDB) on a loopback port chosen by the kernel, and talks to it as clients do: HTTP on the
public port, websockets on it or on one shard's private port (what the kernel's choice of
shard would otherwise leave to chance).
"""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from websockets.sync.client import ClientConnection, connect

from server.auth import Tokens
from snapshots import Store
from snapshots.layout import LayoutError, partition_key, read_layout, resolve_layout, shard_of

CHARACTER = {"name": "Ayla", "level": 3, "max_hp": 40, "hp": 40, "ac": 19,
             "saves": {"fortitude": 8, "reflex": 9, "will": 6}, "perception": 9, "strikes": []}
WAIT = 30.0


# -- which shard owns what (no processes) -------------------------------------------------------------------------

@pytest.mark.parametrize("address, key", [
    ("campaign/7f3a", "7f3a"), ("combat/7f3a.2", "7f3a"), ("strategy/7f3a", "7f3a"), ("train/job-1", "job-1"),
])
def test_a_campaign_and_its_encounters_share_a_partition_key(address, key):
    assert partition_key(address) == key
    assert shard_of(address, 4) == shard_of(f"campaign/{key}", 4)


def test_shard_of_is_stable_and_spreads_keys():
    assert [shard_of(f"campaign/c{i}", 2) for i in range(6)] == [1, 1, 1, 1, 0, 0]  # crc32: the same everywhere
    counts = [0, 0, 0]
    for i in range(3000):
        counts[shard_of(f"campaign/{i:x}", 3)] += 1
    assert min(counts) > 900, counts


def test_the_shard_count_is_fixed_when_the_directory_is_made(tmp_path):
    assert read_layout(tmp_path / "new") is None
    layout = resolve_layout(tmp_path / "new", 3)
    assert layout.count == 3 and [p.name for p in layout.dirs()] == ["0", "1", "2"]
    assert resolve_layout(tmp_path / "new", None).count == 3
    with pytest.raises(LayoutError, match="holds 3 shards"):
        resolve_layout(tmp_path / "new", 2)
    old = tmp_path / "old"
    old.mkdir()
    (old / "CURRENT").write_text("a store from before shards\n")
    assert resolve_layout(old, None).count == 1
    with pytest.raises(LayoutError, match="one store"):
        resolve_layout(old, 2)


# -- a sharded server ---------------------------------------------------------------------------------------------

@dataclass
class Sharded:
    process: subprocess.Popen[str]
    url: str
    token: str
    data: Path
    backups: Path
    lines: list[str]

    def http(self, token: str | None = None) -> httpx.Client:
        return httpx.Client(base_url=self.url, timeout=WAIT, trust_env=False,
                            headers={"Authorization": f"Bearer {token or self.token}"})

    def shards(self) -> list[dict[str, Any]]:
        with self.http() as http:
            return [part["shard"] for part in http.get("/api/v1/admin/runtime").json()["shards"]]

    def ws(self, token: str, port: int | None = None) -> ClientConnection:
        url = f"ws://127.0.0.1:{port}/ws" if port else self.url.replace("http://", "ws://") + "/ws"
        ws = connect(url, proxy=None, open_timeout=WAIT, ping_interval=None, close_timeout=2).__enter__()
        ws.send(json.dumps({"type": "hello", "token": token}))
        welcome = next_of(ws, "welcome", "error")
        assert welcome["type"] == "welcome", welcome
        return ws


@contextmanager
def sharded_server(tmp_path: Path, *extra: str, data: Path | None = None, token: str | None = None) -> Iterator[Sharded]:
    """``everturn serve`` on ``data`` (a new one: its first token is read from the output; else ``token``)."""
    data = data or tmp_path / "data"
    backups = tmp_path / "backups"
    process = subprocess.Popen(
        [sys.executable, "-m", "server.cli", "serve", "--data", str(data), "--port", "0", "--no-ui", "--no-narrator",
         "--backup-dir", str(backups), *extra],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, start_new_session=True)
    lines: list[str] = []
    url = None
    try:
        while url is None or token is None:
            line = process.stdout.readline()  # type: ignore[union-attr]
            assert line, "everturn serve ended before it served:\n" + "".join(lines[-30:])
            lines.append(line)
            if line.startswith("everturn: serving "):
                url = line.split()[2]
            elif "first operator token" in line:
                token = line.split()[-1]
        yield Sharded(process, url, token, data, backups, lines)  # type: ignore[arg-type]
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGINT)
            try:
                process.wait(90)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()
        lines += process.stdout.readlines()  # type: ignore[union-attr]
        process.stdout.close()  # type: ignore[union-attr]


def next_of(ws: ClientConnection, *types: str, timeout: float = WAIT) -> dict[str, Any]:
    """The next frame of one of ``types`` (heartbeats and others in between are skipped)."""
    deadline = time.monotonic() + timeout
    while True:
        frame = json.loads(ws.recv(timeout=max(0.01, deadline - time.monotonic())))
        if frame["type"] in types:
            return frame


def until(read: Any, done: Any, timeout: float = WAIT) -> Any:
    """``read()`` again until ``done`` says its answer is the awaited one (something another process does later)."""
    deadline = time.monotonic() + timeout
    while not done(answer := read()):
        assert time.monotonic() < deadline, answer
        time.sleep(0.1)
    return answer


def owned_ids(count: int = 2) -> list[str]:
    """One campaign id per shard: ``ids[k]`` lives on shard ``k``."""
    ids: dict[int, str] = {}
    n = 0
    while len(ids) < count:
        ids.setdefault(shard_of(f"campaign/t{n}", count), f"t{n}")
        n += 1
    return [ids[k] for k in range(count)]


def start_campaign(http: httpx.Client, campaign: str) -> str:
    """The campaign made, and a player token for it that has joined."""
    assert http.post(f"/api/v1/actors/campaign/{campaign}/commands",
                     json={"type": "CreateCampaign", "data": {"title": f"Tale of {campaign}"}}).status_code == 200
    created = http.post("/api/v1/admin/tokens", json={"role": "player", "campaign": campaign, "character": "Ayla"})
    assert created.status_code == 201, created.text
    token = created.json()["token"]
    joined = http.post(f"/api/v1/actors/campaign/{campaign}/commands", headers={"Authorization": f"Bearer {token}"},
                       json={"type": "JoinCampaign", "data": {"character": CHARACTER}})
    assert joined.status_code == 200, joined.text
    return token


def post(ws: ClientConnection, topic: str, text: str, id_: str) -> dict[str, Any]:
    ws.send(json.dumps({"type": "command", "id": id_, "topic": topic,
                        "command": {"type": "PostAction", "data": {"text": text}}}))
    return next_of(ws, "ack", "error")


def test_two_shards_serve_one_port_each_owning_its_campaigns(tmp_path):
    with sharded_server(tmp_path, "--shards", "2") as server:
        assert read_layout(server.data).count == 2
        here, there = owned_ids()
        with server.http() as http:
            tokens = {campaign: start_campaign(http, campaign) for campaign in (here, there)}
            figures = http.get("/api/v1/admin/runtime").json()
        assert [part["known_actors"] for part in figures["shards"]] == [1, 1]  # each campaign on its owner only
        assert figures["known_actors"] == 2
        ports = [shard["private_port"] for shard in server.shards()]

        # A player whose connection lands on the other shard is moved to the owner, socket and all.
        with server.ws(tokens[here], port=ports[1]) as ws:
            ws.send(json.dumps({"type": "subscribe", "topic": f"campaign/{here}"}))
            assert next_of(ws, "snapshot")["seq"] == 2
            ws.send(json.dumps({"type": "command", "id": "p-1", "topic": f"campaign/{here}",
                                "command": {"type": "PostAction", "data": {"text": "I open the door"}}}))
            frames = [next_of(ws, "ack", "event", "error") for _ in range(2)]  # the ack and the event, either first
            assert sorted((f["type"], f["seq"]) for f in frames) == [("ack", 3), ("event", 3)], frames
        shards = server.shards()
        assert shards[1]["websockets_moved_out"] == 1 and shards[0]["websockets_moved_in"] == 1
        with server.ws(tokens[there], port=ports[1]) as ws:  # already at its owner: it stays
            assert post(ws, f"campaign/{there}", "I light a torch", "p-1")["seq"] == 3
        assert server.shards()[1]["websockets_moved_out"] == 1

        # An operator's one connection reaches both: the other shard's frames come back unchanged.
        with server.ws(server.token, port=ports[0]) as ws:
            for campaign in (here, there):
                ws.send(json.dumps({"type": "subscribe", "topic": f"campaign/{campaign}", "since": 2}))
            events = [next_of(ws, "event") for _ in range(2)]
            assert sorted((e["topic"], e["seq"]) for e in events) == sorted([(f"campaign/{here}", 3),
                                                                            (f"campaign/{there}", 3)])
            ws.send(json.dumps({"type": "command", "id": "gm-1", "topic": f"campaign/{there}",
                                "command": {"type": "NoSuchCommand", "data": {}}}))
            refused = next_of(ws, "error")
            assert (refused["id"], refused["code"]) == ("gm-1", "command/unknown")
            ws.send(json.dumps({"type": "command", "id": "gm-2", "topic": f"campaign/{there}",
                                "command": {"type": "StartScene", "data": {"title": "The crypt"}}}))
            frames = [next_of(ws, "ack", "event", "error") for _ in range(3)]  # its two events and the ack, in any order
            [acked] = [frame for frame in frames if frame["type"] == "ack"]
            assert acked["topic"] == f"campaign/{there}" and acked["events"] == 2, acked
            assert [f["seq"] for f in frames if f["type"] == "event"] == [acked["seq"] - 1, acked["seq"]]  # no gap
            ws.send(json.dumps({"type": "unsubscribe", "topic": f"campaign/{there}"}))
            assert next_of(ws, "unsubscribed")["topic"] == f"campaign/{there}"

        with server.http() as http:
            # The same idempotent id over REST, through whichever shard took the request.
            for _ in range(2):
                again = http.post(f"/api/v1/actors/campaign/{there}/commands", headers={"Idempotency-Key": "k-1"},
                                  json={"type": "StartScene", "data": {"title": "The gate"}})
                assert again.status_code == 200
            assert len({json.dumps(again.json())}) == 1
            # Views over everything are every shard's, merged.
            pages, cursor = [], None
            while True:
                page = http.get("/api/v1/campaigns", params={"limit": 1, **({"cursor": cursor} if cursor else {})})
                assert page.status_code == 200, page.text
                pages += [item["campaign_id"] for item in page.json()["items"]]
                cursor = page.json()["next_cursor"]
                if cursor is None:
                    break
            assert pages == sorted([here, there])
            tree = http.get("/api/v1/admin/actors").json()
            [campaigns] = [kind for kind in tree["children"] if kind["kind"] == "campaign"]
            assert sorted(node["address"] for node in campaigns["children"]) == sorted(
                [f"campaign/{here}", f"campaign/{there}"])
            ready = http.get("/health/ready")
            assert ready.status_code == 200 and len(ready.json()["shards"]) == 2
            metrics = http.get("/metrics").text
            assert 'shard="0"' in metrics and 'shard="1"' in metrics
            assert metrics.count("# TYPE everturn_http_requests_total counter") == 1
            for text, campaign in (("door", here), ("torch", there)):  # the indexes commit every half second
                hits = until(lambda: http.get("/api/v1/search", params={"q": text, "scope": "posts"}).json(),
                             lambda page: page["items"])
                assert {hit["citation"]["campaign"] for hit in hits["items"]} == {campaign}, hits
            everything = until(lambda: http.get("/api/v1/search", params={"q": "attack", "limit": 50}).json(),
                               lambda page: page["items"])
            ids = [hit["id"] for hit in everything["items"]]
            assert len(ids) == len(set(ids))  # the rules live on one shard: no hit twice
            assert {hit["source"] for hit in everything["items"]} == {"rules"}
            index = http.get("/api/v1/admin/search").json()["shards"]
            assert index[0]["documents"]["rules"] > 0 and index[1]["documents"]["rules"] == 0, index
            # A token made through one shard is known to both.
            made = http.post("/api/v1/admin/tokens", json={"role": "gm", "campaign": here}).json()["token"]
        for port in ports:
            with server.ws(made, port=port):
                pass


def test_a_shard_set_is_backed_up_restored_and_verified_whole(tmp_path):
    with sharded_server(tmp_path, "--shards", "2") as server:
        here, there = owned_ids()
        with server.http() as http:
            for campaign in (here, there):
                start_campaign(http, campaign)
            made = http.post("/api/v1/admin/backup")
            assert made.status_code == 201, made.text
            target = Path(made.json()["backup"])
            listed = http.get("/api/v1/admin/backups").json()
        assert [item["name"] for item in listed["items"]] == [target.name]
        assert (target / "shards.json").is_file() and sorted(p.name for p in (target / "shards").iterdir()) == ["0", "1"]
    # A stopped server's directory: the offline backup is a shard set too, and a token made there
    # is on both shards.
    offline = subprocess.run([sys.executable, "-m", "server.cli", "backup", str(tmp_path / "offline"),
                              "--data", str(server.data)], capture_output=True, text=True, timeout=120)
    assert offline.returncode == 0 and "(2 shards)" in offline.stdout, offline.stdout + offline.stderr
    assert sorted(p.name for p in (tmp_path / "offline" / "shards").iterdir()) == ["0", "1"]
    made = subprocess.run([sys.executable, "-m", "server.cli", "token", "create", "--role", "operator",
                           "--data", str(server.data)], capture_output=True, text=True, timeout=60)
    assert made.returncode == 0, made.stderr
    token_id = made.stdout.strip()[4:].partition("_")[0]
    for shard in read_layout(server.data).dirs():
        store = Store.open(shard)
        try:
            assert Tokens(store).known(token_id)
        finally:
            store.close()
    restored = tmp_path / "restored"
    run = subprocess.run([sys.executable, "-m", "server.cli", "restore", str(target), "--data", str(restored)],
                         capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr
    verified = subprocess.run([sys.executable, "-m", "server.cli", "verify", "--data", str(restored)],
                              capture_output=True, text=True, timeout=120)
    assert verified.returncode == 0, verified.stdout + verified.stderr
    assert verified.stdout.count("no problems") == 2
    (tmp_path / "again").mkdir()
    with sharded_server(tmp_path / "again", data=restored, token=server.token) as again:  # the backed-up tokens
        with again.http() as http:
            listing = http.get("/api/v1/campaigns").json()
    assert [item["campaign_id"] for item in listing["items"]] == sorted([here, there])


def test_a_killed_shard_comes_back_and_the_other_serves_meanwhile(tmp_path):
    with sharded_server(tmp_path, "--shards", "2") as server:
        here, there = owned_ids()
        with server.http() as http:
            tokens = {campaign: start_campaign(http, campaign) for campaign in (here, there)}
        shards = server.shards()
        with server.ws(tokens[there], port=shards[0]["private_port"]) as ws:  # moved to shard 1
            acked = [post(ws, f"campaign/{there}", f"step {n}", f"s-{n}")["seq"] for n in range(5)]
        os.kill(shards[1]["pid"], signal.SIGKILL)
        with httpx.Client(base_url=f"http://127.0.0.1:{shards[0]['private_port']}", timeout=WAIT, trust_env=False,
                          headers={"Authorization": f"Bearer {tokens[here]}"}) as own:
            answer = own.post(f"/api/v1/actors/campaign/{here}/commands",
                              json={"type": "PostAction", "data": {"text": "we wait"}})
            assert answer.status_code == 200, answer.text  # the other shard never stopped
        deadline = time.monotonic() + 60
        with server.http(tokens[there]) as http:
            while True:
                try:
                    events = http.get(f"/api/v1/actors/campaign/{there}/events")
                    if events.status_code == 200:
                        break
                except httpx.HTTPError:
                    pass
                assert time.monotonic() < deadline, "shard 1 did not come back"
                time.sleep(0.2)
            assert [e["seq"] for e in events.json()["items"]][-5:] == acked  # nothing acknowledged was lost
        assert server.shards()[1]["pid"] != shards[1]["pid"]
    assert any("shard 1 exited" in line for line in server.lines)
    assert server.process.returncode == 0


def test_the_shard_count_of_a_directory_is_kept(tmp_path):
    with sharded_server(tmp_path, "--shards", "2") as server:
        pass
    assert server.process.returncode == 0
    refused = subprocess.run([sys.executable, "-m", "server.cli", "serve", "--data", str(server.data), "--shards", "1",
                              "--port", "0", "--no-ui", "--no-narrator"], capture_output=True, text=True, timeout=60)
    assert refused.returncode != 0
    assert "holds 2 shards" in refused.stderr and "--shards 2" in refused.stderr


def test_an_invite_claimed_on_a_sharded_server_gives_a_token_every_shard_knows_and_revoking_takes_it(tmp_path):
    with sharded_server(tmp_path, "--shards", "2") as server, server.http() as http:
        for campaign in owned_ids(2):  # one campaign on each shard: the claim lands on its owner
            assert http.post(f"/api/v1/actors/campaign/{campaign}/commands",
                             json={"type": "CreateCampaign", "data": {"title": "Sharded"}}).status_code == 200
            invite = http.post(f"/api/v1/campaigns/{campaign}/invites", json={})
            assert invite.status_code == 201, invite.text
            claimed = http.post(f"/api/v1/campaigns/{campaign}/invites/claim", json={"code": invite.json()["code"]})
            assert claimed.status_code == 201, claimed.text
            token = claimed.json()["token"]
            for other in owned_ids(2):  # every shard verifies it (another campaign's answers 404, never 401)
                status = server.http(token).get(f"/api/v1/actors/campaign/{other}").status_code
                assert status == (200 if other == campaign else 404), (campaign, other, status)
            revoked = http.delete(f"/api/v1/campaigns/{campaign}/invites/{invite.json()['invite_id']}")
            assert revoked.status_code == 200, revoked.text
            for other in owned_ids(2):
                assert server.http(token).get(f"/api/v1/actors/campaign/{other}").status_code == 401
            sessions = http.get("/api/v1/admin/sessions")
            assert sessions.status_code == 200 and sessions.json()["items"] == []
