"""Memory back to the system after a crowd of websockets leaves (``server.memory``)."""
from __future__ import annotations

import trio

from server.memory import Trimmer

from .conftest import WAIT, WsClient, bearer, http_client, operator_token


async def test_a_trim_comes_once_enough_websockets_closed_since_the_peak():
    calls = []
    trimmer = Trimmer(drop=500, trim=lambda pad: calls.append(pad) or 1)
    for count in (100, 1200, 900, 701):  # 499 closed since the peak of 1,200: not yet
        assert not await trimmer.observe(count)
    assert await trimmer.observe(700)
    assert calls == [0] and trimmer.trims == 1
    assert not await trimmer.observe(300)  # 400 closed since the trim
    assert await trimmer.observe(200)
    assert trimmer.trims == 2


async def test_without_malloc_trim_nothing_is_attempted():
    trimmer = Trimmer(drop=1, trim=None)
    await trimmer.observe(5)
    assert not await trimmer.observe(0)
    assert trimmer.trims == 0


async def test_the_server_trims_after_its_websockets_close(launch):
    running = await launch(sample_interval_s=0.01, trim_after_closed=3)
    clients = [await WsClient.open(running, operator_token(running)) for _ in range(3)]
    async with http_client(running) as http:
        async def figures() -> dict:
            return (await http.get("/api/v1/admin/runtime", headers=bearer(operator_token(running)))).json()

        with trio.fail_after(WAIT):
            while (await figures())["websocket_clients"] < 3:
                await trio.sleep(0.01)
        assert (await figures())["memory_trims"] == 0
        for client in clients:
            await client.close()
        with trio.fail_after(WAIT):
            while (await figures())["memory_trims"] < 1:
                await trio.sleep(0.01)
