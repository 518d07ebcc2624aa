"""A native crash in the narrator costs one request: real worker processes, real signals, a real server."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
from functools import partial
from pathlib import Path

import orjson
import trio
import trio.testing

from actors.narration.service import configured

from .conftest import bearer, command, http_client, operator_token
from .test_narrator_api import NARRATION_WAIT, narrated_server

QUESTION = "How does the multiple attack penalty work?"


async def tokens_for(http, op, **claims) -> str:
    return (await http.post("/api/v1/admin/tokens", json=claims, headers=op)).json()["token"]


async def settled(ws, n: int) -> dict:
    """Follow the websocket until post ``n`` is settled; the ``PostNarrated`` event's data."""
    with trio.fail_after(NARRATION_WAIT):
        while True:
            frame = await ws.expect(timeout=NARRATION_WAIT)
            if frame["type"] == "event" and frame["event"]["type"] == "PostNarrated" and frame["event"]["data"]["n"] == n:
                return frame["event"]["data"]


async def test_a_worker_segfault_mid_narration_costs_one_post_and_the_server_plays_on(nursery, tmp_path, open_ws):
    narrator = configured([], slots=1, threads=2)
    running = await narrated_server(nursery, tmp_path / "data", narrator)
    op = bearer(operator_token(running))
    async with http_client(running) as http:
        gm1 = bearer(await tokens_for(http, op, role="gm", campaign="c1"))
        gm2 = bearer(await tokens_for(http, op, role="gm", campaign="c2"))
        player = await tokens_for(http, op, role="player", campaign="c1", character="ayla")
        for campaign, gm in (("c1", gm1), ("c2", gm2)):
            created = await http.post(f"/api/v1/actors/campaign/{campaign}/commands", headers=gm,
                                      json=command("CreateCampaign", title=f"Table {campaign}"))
            assert created.status_code == 200, created.text
        ws = await open_ws(running, player)
        assert (await ws.request({"type": "subscribe", "topic": "campaign/c1"}))["type"] == "snapshot"
        before = (await http.get("/api/v1/admin/narrator", headers=op)).json()
        victim = before["workers"][0]["pid"]
        assert before["workers"][0]["state"] == "ready" and victim != os.getpid()

        asked = await http.post("/api/v1/actors/campaign/c1/commands", headers=gm1,
                                json=command("NarrateNpc", npc="Old Bren", hint="tell them all about the flood"))
        assert asked.status_code == 200, asked.text
        n = (await ws.expect())["event"]["data"]["post"]["n"]
        with trio.fail_after(NARRATION_WAIT):  # the worker is writing: its tokens reach the table
            while (frame := await ws.expect(timeout=NARRATION_WAIT))["type"] != "narration":
                pass
        os.kill(victim, signal.SIGSEGV)
        post = await settled(ws, n)
        assert post["meta"]["outcome"] == "worker_crashed" and post["meta"]["model"] == "template"
        assert post["text"] == "Old Bren: tell them all about the flood" and "SIGSEGV" in post["meta"]["error"]

        # the server never noticed: ready, and every other campaign takes commands
        assert (await http.get("/health/ready")).status_code == 200
        other = await http.post("/api/v1/actors/campaign/c2/commands", headers=gm2,
                                json=command("PostNarration", text="Meanwhile, at the other table..."))
        assert other.status_code == 200, other.text

        # a new worker serves the next narration (one crash does not pause the narrator)
        again = await http.post("/api/v1/actors/campaign/c1/commands", headers=gm1,
                                json=command("NarrateNpc", npc="Old Bren", hint="the ford is safe"))
        assert again.status_code == 200
        n2 = (await ws.expect())["event"]["data"]["post"]["n"]
        post2 = await settled(ws, n2)
        assert post2["meta"]["outcome"] in ("narrated", "rejected") and post2["meta"]["completion_tokens"] > 0

        journal = (await http.get("/api/v1/actors/campaign/c1/events?limit=200", headers=gm1)).json()
        settlements = [e["data"]["n"] for e in journal["items"] if e["type"] == "PostNarrated"]
        assert settlements == [n, n2]  # each post settled exactly once
        after = (await http.get("/api/v1/admin/narrator", headers=op)).json()
        assert after["worker_crashes"] == 1 and "SIGSEGV" in after["last_worker_crash"]
        assert after["workers"][0]["pid"] not in (None, victim) and after["health"]["state"] == "ready"
        assert after["outcomes"]["worker_crashed"] == 1
        metrics = (await http.get("/metrics")).text
        assert "everturn_narrator_worker_crashes_total 1" in metrics
        assert 'everturn_narrator_calls_total{outcome="worker_crashed"} 1' in metrics
        assert "everturn_narrator_workers_ready 1" in metrics
    running.stop.set()


async def test_a_players_rules_answer_survives_its_rewording_worker_crashing(nursery, tmp_path):
    narrator = configured([], slots=1, threads=2)
    running = await narrated_server(nursery, tmp_path / "data", narrator)
    op = bearer(operator_token(running))
    async with http_client(running) as http:
        player = bearer(await tokens_for(http, op, role="player", campaign="c1", character="ayla"))
        plain = await http.post("/api/v1/rules/ask", json={"question": QUESTION}, headers=player)
        assert plain.status_code == 200, plain.text
        answers: list = []

        async def ask() -> None:
            answers.append(await http.post("/api/v1/rules/ask", json={"question": QUESTION, "rephrase": True},
                                           headers=player, timeout=NARRATION_WAIT))

        async with trio.open_nursery() as asking:
            for crashes in (1, 2):  # the worker that takes the rewording dies under it, twice in a row
                asking.start_soon(ask)
                with trio.fail_after(NARRATION_WAIT):
                    while narrator.status()["busy"] == 0:
                        await trio.testing.wait_all_tasks_blocked(cushion=0.01)
                os.kill(narrator.pool.pids()[0], signal.SIGSEGV)
                with trio.fail_after(NARRATION_WAIT):
                    while len(answers) < crashes:
                        await trio.testing.wait_all_tasks_blocked(cushion=0.01)
        await ask()  # crashes in a row opened the pause window: the extract serves without asking a worker
        for answer in answers:
            assert answer.status_code == 200, answer.text
            body = answer.json()
            assert body["sentences"] and body["sentences"][0]["citation"] == plain.json()["sentences"][0]["citation"]
            assert body["rephrased"] is False and body["answer"] == plain.json()["answer"]
        assert "paused" in answers[-1].json()["rephrase_error"]
        assert (await http.get("/health/ready")).status_code == 200
        status = narrator.status()
        assert status["worker_crashes"] == 2 and status["health"]["state"] == "paused"
        assert status["health"]["consecutive_crashes"] == 2
    running.stop.set()


async def test_a_worker_that_overstays_the_deadline_is_killed_and_replaced():
    narrator = configured([], slots=1, threads=1)
    async with narrator.serving():
        first = narrator.pool.pids()[0]
        seen: list[str] = []
        os.kill(first, signal.SIGSTOP)  # hung in native code, as far as the server can tell
        try:
            with trio.fail_after(30):
                result = await narrator.generate([("user", "Say hello.")], max_tokens=8, deadline_s=1,
                                                 on_token=seen.append)
        except Exception as exc:  # noqa: BLE001 - checked below
            result = exc
        assert type(result).__name__ == "WorkerTimeout" and "restarted" in str(result) and not seen
        with trio.fail_after(30):
            generation = await narrator.generate([("user", "Say hello.")], max_tokens=8, deadline_s=20)
        assert generation.completion_tokens > 0
        status = narrator.status()
        assert status["worker_restarts"] == 1 and status["worker_crashes"] == 0
        assert narrator.pool.pids() != [first]


def test_the_server_process_never_loads_llama_cpp(tmp_path):
    """A server that narrated and reworded: llama.cpp was mapped only into its worker processes."""
    run = subprocess.run([sys.executable, "-m", "tests.server.narrating_server", str(tmp_path / "data")],
                         capture_output=True, timeout=300,
                         cwd=Path(__file__).resolve().parents[2])
    assert run.returncode == 0, run.stderr.decode()[-3000:]
    report = orjson.loads(run.stdout.splitlines()[-1])
    assert report["narrated"] > 0 and report["rephrased"]  # the model did serve it
    assert report["server_maps"] == [] and not report["server_modules"]
    assert any("libllama" in lib for lib in report["worker_maps"])  # where it does run


async def test_a_worker_that_cannot_even_be_started_is_a_crash_not_the_servers_end(monkeypatch):
    import actors.narration.processes as processes

    narrator = configured([], slots=1, threads=1)
    monkeypatch.setattr(processes.sys, "executable", "/nonexistent/python")  # as EMFILE or ENOMEM would fail
    async with narrator.serving():  # it starts, and raises nothing into its caller's nursery
        status = narrator.status()
        assert narrator.pool.pids() == [] and status["worker_crashes"] == 1
        assert status["workers"][0]["state"] == "restarting" and "could not be started" in status["last_worker_crash"]
