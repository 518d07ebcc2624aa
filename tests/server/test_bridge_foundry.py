"""The Foundry module against a real ``everturn serve`` (issue 24): the module, running under Node in a
fake Foundry world (tests/foundry/e2e/driver.mjs), bridges a campaign over each transport; a combat in
the world drives the encounter, the encounter's auto-skip moves the world's combat, and the server is
killed (-9) and restarted in the middle: nothing the table did is lost or doubled.

Also runs the module's own tests under Node's test runner (tests/foundry/*.test.mjs).
"""
from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from collections import Counter
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterator

import httpx
import pytest

ROOT = Path(__file__).resolve().parents[2]
FOUNDRY_TESTS = ROOT / "tests" / "foundry"
NODE = shutil.which("node")
WAIT = 30.0
NO_WEBSOCKET = "auto, no websocket"
PLAYERS = [{"user": "Ayla", "player_id": "ayla", "actor": "Ayla the Bold", "hp": 18, "max_hp": 18}]
HERO = {"name": "Ayla the Bold", "level": 1, "max_hp": 18, "hp": 18, "ac": 17,
        "saves": {"fortitude": 7, "reflex": 5, "will": 4}, "perception": 4}


def node() -> str:
    assert NODE is not None, "Node.js (the machine's `node`, v20+) runs the Foundry module's tests"
    return NODE


def test_the_module_passes_its_own_tests_under_node():
    ran = subprocess.run([node(), "--experimental-websocket", "--test", *sorted(map(str, FOUNDRY_TESTS.glob("*.test.mjs")))],
                         cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert ran.returncode == 0, ran.stdout[-6000:] + ran.stderr[-3000:]
    assert "# fail 0" in ran.stdout and "# pass 0" not in ran.stdout


def free_port() -> int:
    """A free port below the ephemeral range (a restarted server must come back on the same one)."""
    for port in range(21000 + os.getpid() % 5000, 32000):
        with socket.socket() as probe:
            try:
                probe.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise AssertionError("no free port")


class Server:
    """``everturn serve`` on a data directory and port that outlive its process (killed and started again)."""

    def __init__(self, data: Path, port: int) -> None:
        self.data, self.port, self.url = data, port, f"http://127.0.0.1:{port}"
        self.process: subprocess.Popen[str] | None = None
        self.token: str | None = None
        self.lines: list[str] = []

    def start(self) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-m", "server.cli", "serve", "--data", str(self.data), "--port", str(self.port),
             "--no-ui", "--no-narrator", "--clock", "virtual"],
            cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, start_new_session=True)
        serving = False
        while not serving or self.token is None:  # a new directory's token may come after "serving"
            line = self.process.stdout.readline()  # type: ignore[union-attr]
            assert line, "everturn serve ended before it served:\n" + "".join(self.lines[-30:])
            self.lines.append(line)
            if "first operator token" in line:
                self.token = line.split()[-1]
            serving = serving or line.startswith("everturn: serving ")
        threading.Thread(target=self.process.stdout.read, daemon=True).start()  # keep the pipe drained

    def kill(self) -> None:
        assert self.process is not None
        os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait()

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
            try:
                self.process.wait(60)
            except subprocess.TimeoutExpired:
                self.kill()

    def http(self, token: str | None = None) -> httpx.Client:
        return httpx.Client(base_url=self.url, timeout=WAIT, trust_env=False,
                            headers={"Authorization": f"Bearer {token or self.token}"})


class World:
    """The module in a fake Foundry world under Node: one JSON line in, one JSON line out."""

    def __init__(self, server: Server, bridge_token: str, transport: str) -> None:
        # "auto, no websocket": a browser (or a proxy) where no websocket opens: auto falls back to the long-poll
        sockets = [] if transport == NO_WEBSOCKET else ["--experimental-websocket"]
        env = {**os.environ, "EVERTURN_URL": server.url, "EVERTURN_TOKEN": bridge_token, "EVERTURN_CAMPAIGN": "c1",
               "EVERTURN_WORLD": "world-1", "EVERTURN_TRANSPORT": transport.split(",")[0],
               "EVERTURN_INSTANCE": "gm-1", "EVERTURN_PLAYERS": json.dumps(PLAYERS)}
        self.process = subprocess.Popen([node(), *sockets, str(FOUNDRY_TESTS / "e2e" / "driver.mjs")],
                                        cwd=ROOT, env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                        stderr=subprocess.DEVNULL, text=True)

    def do(self, op: str, **args: Any) -> dict[str, Any]:
        self.process.stdin.write(json.dumps({"op": op, **args}) + "\n")  # type: ignore[union-attr]
        self.process.stdin.flush()  # type: ignore[union-attr]
        line = self.process.stdout.readline()  # type: ignore[union-attr]
        assert line, f"the world's driver ended on {op}"
        answer = json.loads(line)
        assert answer["ok"], (op, answer)
        return answer

    def close(self) -> None:
        if self.process.poll() is None:
            try:
                self.do("quit")
            finally:
                self.process.kill()
        self.process.wait()


@contextmanager
def bridged(tmp_path: Path, transport: str) -> Iterator[tuple[Server, World, dict[str, httpx.Client]]]:
    server = Server(tmp_path / "data", free_port())
    server.start()
    world = None
    try:
        with server.http() as op:
            def token(**body: Any) -> str:
                made = op.post("/api/v1/admin/tokens", json=body)
                assert made.status_code == 201, made.text
                return made.json()["token"]
            gm, ayla, bridge = (token(role="gm", campaign="c1"),
                                token(role="player", campaign="c1", character="ayla"),
                                token(role="bridge", campaign="c1"))
        clients = {"gm": server.http(gm), "ayla": server.http(ayla), "op": server.http()}
        command(clients["gm"], "CreateCampaign", title="The Sunken Crown")
        command(clients["ayla"], "JoinCampaign", character=HERO)
        world = World(server, bridge, transport)
        yield server, world, clients
    finally:
        if world is not None:
            world.close()
        server.stop()


def command(http: httpx.Client, kind: str, **data: Any) -> dict[str, Any]:
    answer = http.post("/api/v1/actors/campaign/c1/commands", json={"type": kind, "data": data})
    assert answer.status_code == 200, answer.text
    return answer.json()


def until(what: str, check: Any, timeout: float = WAIT) -> Any:
    """``check()``'s first truthy answer: the module and the server are other processes."""
    deadline = time.monotonic() + timeout
    while True:
        found = check()
        if found:
            return found
        assert time.monotonic() < deadline, f"never: {what}"
        time.sleep(0.05)


def campaign(clients: dict[str, httpx.Client]) -> dict[str, Any]:
    return clients["gm"].get("/api/v1/actors/campaign/c1").json()["state"]


def encounter(clients: dict[str, httpx.Client]) -> dict[str, Any] | None:
    view = campaign(clients)["encounter"]
    return None if view is None else clients["op"].get(f"/api/v1/actors/{view['address']}").json()["state"]


def at(clients: dict[str, httpx.Client], round_: int, cid: str) -> bool:
    fight = encounter(clients)
    return fight is not None and (fight["round"], fight["current"]) == (round_, cid)


def world_at(world: World, round_: int, cid: str) -> bool:
    combat = world.do("state")["combat"]
    return combat is not None and (combat["round"], combat_cid(combat)) == (round_, cid)


def combat_cid(combat: dict[str, Any]) -> str:
    """The VTT combatant's id in the encounter: its player's id, or (a creature) its own."""
    current = combat["combatant"]
    return current.get("player_id") or current["id"]


@pytest.mark.parametrize("transport", ["websocket", "long-poll", "auto", NO_WEBSOCKET])
def test_a_foundry_world_and_a_campaign_play_one_fight_through_a_kill_and_restart(tmp_path, transport):
    with bridged(tmp_path, transport) as (server, world, clients):
        world.do("chat", user="Ayla", content="I light a torch.")
        world.do("drain")
        command(clients["gm"], "PostNarration", text="The torch gutters.", speaker="Warden")
        until("the GM's line in the world's chat",
              lambda: any(m["content"] == "The torch gutters." for m in world.do("state")["chat"]))

        goblin = world.do("add_npc", name="Goblin", hp=6)["actor"]
        started = world.do("combat_start", combatants=[{"actor": "Ayla", "initiative": 20},
                                                       {"actor": goblin, "initiative": 10}])
        world.do("drain")
        until("the encounter begun at Ayla's turn", lambda: at(clients, 1, "ayla"))
        gob = next(c["id"] for c in started["combatants"] if c["actor"] == goblin)
        ayla = next(c["actor"] for c in started["combatants"] if c["actor"] != goblin)
        world.do("hp", actor=ayla, value=15)  # hurt in the VTT: the encounter's fighter follows
        world.do("drain")
        until("Ayla's HP from the VTT in the encounter", lambda: encounter(clients)["fighters"]["ayla"]["hp"] == 15)
        fight = campaign(clients)["encounter"]["address"]
        hurt = clients["op"].post(f"/api/v1/actors/{fight}/commands", json={"type": "Adjust", "data": {
            "cid": "ayla", "damage": 4, "conditions": {"frightened": 1}}})
        assert hurt.status_code == 200, hurt.text  # hurt in Everturn: the VTT's actor follows
        until("Ayla's HP from Everturn in the VTT", lambda: world.do("state")["actors"][ayla]["hp"] == 11)
        until("frightened from Everturn in the VTT",
              lambda: world.do("state")["actors"][ayla]["conditions"].get("frightened") == 1)
        world.do("next_turn")
        world.do("drain")
        until("the goblin's turn in Everturn", lambda: at(clients, 1, gob))
        world.do("next_turn")
        world.do("drain")
        until("round 2, Ayla's turn, in Everturn", lambda: at(clients, 2, "ayla"))

        advanced = clients["op"].post("/api/v1/admin/clock/advance", json={"seconds": 4 * 3600 + 60}).json()
        assert advanced["settled"]
        until("Everturn's auto-skip carried out in the world", lambda: world_at(world, 2, gob))
        assert at(clients, 2, gob)

        world.do("close")  # the GM's tab is closed: what Everturn says meanwhile waits for the world
        command(clients["gm"], "PostNarration", text="The water rises while you are away.")
        server.kill()
        server.start()  # the queue outlives the server
        world.do("open")
        until("what was said while the world was closed, in its chat",
              lambda: any(m["content"] == "The water rises while you are away." for m in world.do("state")["chat"]))

        server.kill()
        world.do("chat", user="Ayla", content="Is anyone there?")  # the hook fires while the server is down
        world.do("next_turn")                                      # round 3, Ayla
        server.start()
        world.do("drain")
        until("round 3, Ayla's turn, in Everturn after the restart", lambda: at(clients, 3, "ayla"))
        command(clients["gm"], "PostNarration", text="Something stirs below.")
        until("the GM's line after the restart in the world's chat",
              lambda: any(m["content"] == "Something stirs below." for m in world.do("state")["chat"]))
        world.do("end_combat")
        world.do("drain")
        until("the encounter ended", lambda: campaign(clients)["encounter"] is None)

        posts = Counter(p["text"] for p in campaign(clients)["posts"])
        assert posts["I light a torch."] == 1 and posts["Is anyone there?"] == 1, posts
        assert posts["The torch gutters."] == 1 and posts["Something stirs below."] == 1, posts
        chat = Counter(m["content"] for m in world.do("state")["chat"])
        doubled = {text: n for text, n in chat.items() if n > 1}
        assert not doubled, doubled  # nothing came back to the world twice, nothing it sent came back at all
        assert chat["I light a torch."] == 1 and chat["The torch gutters."] == 1
        assert chat["The water rises while you are away."] == 1
        skipped = [p for p in campaign(clients)["posts"] if p.get("reason") == "auto_skip"]
        assert len(skipped) == 1
        state = world.do("state")
        assert state["combat"] is None and state["bridge"]["outbox"] == 0
        spoken = {"websocket": "websocket", "long-poll": "long-poll", "auto": "websocket",
                  NO_WEBSOCKET: "long-poll"}[transport]  # auto speaks the one it took
        assert state["bridge"]["transport"] == spoken
