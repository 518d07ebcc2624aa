"""A live server over a journal with a damaged block (issue 19, item 3): that actor answers 503, the others work."""
from __future__ import annotations

import httpx
import pytest

from ..damage import corrupt_value_data, damaged_data
from .conftest import add, assert_error, bearer, http_client, operator_token, start_server


@pytest.fixture
async def running(nursery, tmp_path):
    server = await start_server(nursery, damaged_data(tmp_path / "data"))
    yield server
    server.stop.set()


async def test_an_actor_with_a_damaged_journal_answers_503_and_the_others_carry_on(running):
    token = operator_token(running)
    async with http_client(running) as http:
        for _ in range(2):
            assert_error(await add(http, token, "ledger/a", 1), 503, "storage/corrupt")
        assert_error(await http.get("/api/v1/actors/ledger/a", headers=bearer(token)), 503, "storage/corrupt")
        figures = (await http.get("/api/v1/admin/runtime", headers=bearer(token))).json()
        assert figures["corrupt"] == ["ledger/a"]

        response: httpx.Response = await add(http, token, "ledger/b", 5)
        assert response.status_code == 200 and response.json() == {"address": "ledger/b", "seq": 4, "events": 1}
        assert (await http.get("/health/live")).status_code == 200


async def test_a_journal_value_failing_its_checksum_answers_503_storage_corrupt_on_every_path(nursery, tmp_path):
    server = await start_server(nursery, corrupt_value_data(tmp_path / "data"))
    token = operator_token(server)
    async with http_client(server) as http:
        for read in ("/api/v1/actors/ledger/c", "/api/v1/actors/ledger/c/events"):
            error = assert_error(await http.get(read, headers=bearer(token)), 503, "storage/corrupt")
            assert "ledger/c seq 3" in error["message"]
        for _ in range(2):  # at once, not after an ask timeout: the actor is not restarting in a loop
            assert_error(await add(http, token, "ledger/c", 1), 503, "storage/corrupt")
        page = await http.get("/api/v1/actors/ledger/c/events?limit=1", headers=bearer(token))
        assert [item["seq"] for item in page.json()["items"]] == [1]  # before the damage: readable
        tree = (await http.get("/api/v1/admin/actors", headers=bearer(token))).json()
        assert tree["corrupt"] == ["ledger/c"] and tree["children"][0]["degraded"]
    server.stop.set()
