"""Run by ``test_narrator_workers``: a server in this process narrates a post and rewords a rules answer,
then prints (as its last line, JSON) which llama.cpp libraries this process and its narrator worker mapped."""
from __future__ import annotations

import sys
from functools import partial
from pathlib import Path

import orjson
import trio

from actors import Published, RuntimeConfig
from actors.campaign.messages import PostNarrated
from actors.kinds import game_kinds
from actors.narration.service import configured
from server.app import ServerSettings
from server.serve import run_server
from tests.server.conftest import bearer, command, http_client, operator_token

NATIVE = ("libllama", "libggml")


def native_maps(pid: int | str) -> list[str]:
    with open(f"/proc/{pid}/maps") as maps:
        return sorted({line.split()[-1] for line in maps if any(lib in line for lib in NATIVE)})


async def main(data: Path) -> None:
    narrator = configured([], slots=1, threads=2)
    report: dict = {}
    async with trio.open_nursery() as nursery:
        running = await nursery.start(partial(run_server, data, game_kinds(narrator=narrator), port=0,
                                              settings=ServerSettings(rate=1e6, burst=1e6),
                                              config=RuntimeConfig(lag_interval=None), narrator=narrator))
        op = bearer(operator_token(running))
        async with http_client(running) as http:
            gm = (await http.post("/api/v1/admin/tokens", json={"role": "gm", "campaign": "c1"}, headers=op)).json()
            send = partial(http.post, "/api/v1/actors/campaign/c1/commands", headers=bearer(gm["token"]))
            await send(json=command("CreateCampaign", title="Maps"))
            with trio.fail_after(120):
                async with running.runtime.subscribe("campaign/c1") as items:
                    await items.__anext__()
                    await send(json=command("NarrateNpc", npc="Old Bren", hint="the bridge is out"))
                    async for item in items:
                        if isinstance(item, Published) and isinstance(item.event, PostNarrated):
                            report["narrated"] = item.event.meta.completion_tokens or 0
                            break
            asked = await http.post("/api/v1/rules/ask", headers=bearer(gm["token"]), timeout=120,
                                    json={"question": "How does the multiple attack penalty work?", "rephrase": True})
            report["rephrased"] = asked.status_code == 200 and "failed" not in (asked.json().get("rephrase_error") or "")
        report["server_maps"] = native_maps("self")
        report["server_modules"] = sorted(m for m in sys.modules if m.split(".")[0] == "llama_cpp")
        report["worker_maps"] = native_maps(narrator.pool.pids()[0])
        running.stop.set()
    print(orjson.dumps(report).decode())


if __name__ == "__main__":
    trio.run(main, Path(sys.argv[1]))
