"""Outbound webhooks on a real server with a virtual clock, against a real local HTTP receiver (issue 23):
who hears what, signatures, reminders on the server's clock, retries with backoff, the request-forgery
guard, and deliveries that outlive a restart."""
from __future__ import annotations

import hashlib
import hmac
from typing import Any

import orjson
import pytest
import trio

from actors import VirtualClock
from actors.kinds import game_kinds
from server.app import ServerSettings

from ..receiver import Receiver
from .conftest import assert_error, bearer, http_client, start_server
from .test_campaigns import Table

HERO = {"name": "Ayla", "level": 1, "max_hp": 18, "hp": 18, "ac": 17,
        "saves": {"fortitude": 7, "reflex": 5, "will": 4}, "perception": 4}
HOOKED = ServerSettings(rate=1e6, burst=1e6, webhooks_allow_private=True, webhook_backoff_s=60.0)


async def table_with_player(running: Any, http: Any) -> Table:
    table = Table(http, running)
    await table.token("gm", role="gm", campaign="c1")
    await table.ok("gm", "campaign/c1", "CreateCampaign", title="The Sunken Crown")
    await table.token("ayla", role="player", campaign="c1", character="ayla")
    await table.ok("ayla", "campaign/c1", "JoinCampaign", character=HERO)
    return table


async def hook(http: Any, table: Table, who: str, **body: Any) -> dict[str, Any]:
    made = await http.post("/api/v1/campaigns/c1/webhooks", json=body, headers=table.tokens[who])
    assert made.status_code == 201, made.text
    return made.json()


async def received(receiver: Receiver) -> dict[str, Any]:
    return await trio.to_thread.run_sync(receiver.next)


def signed_by(delivery: dict[str, Any], secret: str) -> bool:
    headers = delivery["headers"]
    expected = hmac.new(secret.encode(), headers["X-Everturn-Timestamp"].encode() + b"." + delivery["body"],
                        hashlib.sha256).hexdigest()
    return hmac.compare_digest(headers["X-Everturn-Signature"], f"sha256={expected}")


async def test_a_players_webhook_hears_their_turn_then_an_hour_left_signed(nursery, tmp_path, receiver):
    running = await start_server(nursery, tmp_path / "data", HOOKED, VirtualClock(), game_kinds())
    async with http_client(running) as http:
        table = await table_with_player(running, http)
        mine = await hook(http, table, "ayla", url=receiver.url)
        assert (mine["scope"], mine["player_id"]) == ("player", "ayla") and mine["secret"]
        await table.ok("gm", "campaign/c1", "StartEncounter", npcs=[{"name": "Goblin", "initiative": 1}],
                       initiative={"ayla": 30})

        turn = await received(receiver)
        assert turn["headers"]["X-Everturn-Event"] == "your_turn" and signed_by(turn, mine["secret"])
        body = orjson.loads(turn["body"])
        assert body["content"] == "**The Sunken Crown**: It is Ayla's turn (round 1)."
        assert body["allowed_mentions"] == {"parse": []} and body["embeds"][0]["title"].startswith("Your turn")

        listing = (await http.get("/api/v1/campaigns/c1/webhooks", headers=table.tokens["ayla"])).json()["items"]
        [waiting] = [d for d in listing[0]["deliveries"] if d["status"] == "waiting"]
        assert waiting["kind"] == "turn_ending"
        await table.advance(3 * 3600 - 60)
        assert await trio.to_thread.run_sync(receiver.quiet)  # not before its time
        await table.advance(120)
        reminder = await received(receiver)
        assert reminder["headers"]["X-Everturn-Event"] == "turn_ending"
        assert "An hour left for Ayla's turn" in orjson.loads(reminder["body"])["content"]
        assert reminder["headers"]["X-Everturn-Delivery"] != turn["headers"]["X-Everturn-Delivery"]


async def test_a_reminder_whose_turn_was_taken_is_not_sent(nursery, tmp_path, receiver):
    running = await start_server(nursery, tmp_path / "data", HOOKED, VirtualClock(), game_kinds())
    async with http_client(running) as http:
        table = await table_with_player(running, http)
        await hook(http, table, "ayla", url=receiver.url, kinds=["turn_ending"])
        await table.ok("gm", "campaign/c1", "StartEncounter", npcs=[{"name": "Goblin", "initiative": 1}],
                       initiative={"ayla": 30})

        async def deliveries() -> list[str]:
            items = (await http.get("/api/v1/campaigns/c1/webhooks", headers=table.tokens["gm"])).json()["items"]
            return [d["status"] for d in items[0]["deliveries"]]

        while await deliveries() != ["waiting"]:  # the encounter reports Ayla's turn to the campaign
            await trio.sleep(0.05)
        await table.ok("gm", "campaign/c1", "EndEncounter")
        await table.advance(4 * 3600)
        assert await trio.to_thread.run_sync(receiver.quiet)
        assert await deliveries() == ["skipped"]


async def test_the_table_hears_no_whisper_the_gm_does_and_a_mention_reaches_its_player(nursery, tmp_path, receiver):
    running = await start_server(nursery, tmp_path / "data", HOOKED, VirtualClock(), game_kinds())
    async with http_client(running) as http:
        table = await table_with_player(running, http)
        await hook(http, table, "gm", url=receiver.url + "/table", kinds=["whisper", "narration"])
        await hook(http, table, "gm", url=receiver.url + "/gm", scope="gm", kinds=["whisper"])
        await hook(http, table, "ayla", url=receiver.url + "/ayla", kinds=["mention"])
        await table.ok("ayla", "campaign/c1", "Whisper", text="I pocket the ring.")
        assert (await received(receiver))["path"] == "/hook/gm"
        await table.ok("gm", "campaign/c1", "PostNarration", text="@Ayla, the warden stares at you.")
        paths = sorted([(await received(receiver))["path"] for _ in range(2)])
        assert paths == ["/hook/ayla", "/hook/table"]
        assert await trio.to_thread.run_sync(receiver.quiet)


async def test_a_failed_delivery_is_retried_with_backoff_and_its_status_shown(nursery, tmp_path, receiver):
    running = await start_server(nursery, tmp_path / "data", HOOKED, VirtualClock(), game_kinds())
    async with http_client(running) as http:
        table = await table_with_player(running, http)
        receiver.answers += [503, 500, 302]
        await hook(http, table, "gm", url=receiver.url, kinds=["narration"])
        await table.ok("gm", "campaign/c1", "PostNarration", text="The bells ring.")
        tries = [await received(receiver)]

        async def last() -> dict[str, Any]:
            items = (await http.get("/api/v1/campaigns/c1/webhooks", headers=table.tokens["gm"])).json()["items"]
            return items[0]["deliveries"][0] if items[0]["deliveries"] else {}

        async def settled(attempts: int) -> dict[str, Any]:
            while (await last()).get("attempts") != attempts:
                await trio.sleep(0.05)  # the try's record is written once its answer came
            return await last()

        assert ((await settled(1))["status"], (await last())["http_status"]) == ("retrying", 503)
        await table.advance(59)
        assert await trio.to_thread.run_sync(receiver.quiet)  # the first retry waits the backoff
        await table.advance(1)
        tries.append(await received(receiver))
        assert ((await settled(2))["status"], (await last())["retry_at"] - (await last())["at"]) == ("retrying", 120)
        await table.advance(120)
        tries.append(await received(receiver))
        failed = await settled(3)
        assert (failed["status"], failed["http_status"]) == ("failed", 302) and "redirect" in failed["error"]
        assert len({t["headers"]["X-Everturn-Delivery"] for t in tries}) == 1  # one delivery, tried three times


@pytest.mark.parametrize("url, why", [
    ("http://127.0.0.1:9/hook", "https://"),
    ("https://127.0.0.1:9/hook", "private, loopback"),
    ("https://localhost/hook", "private, loopback"),
    ("https://user:pw@example.invalid/hook", "user name or password"),
    ("ftp://example.com/hook", "https://"),
])
async def test_a_webhook_may_not_call_private_addresses_unless_the_operator_allows_it(nursery, tmp_path, url, why):
    running = await start_server(nursery, tmp_path / "data", ServerSettings(rate=1e6, burst=1e6), VirtualClock(),
                                 game_kinds())
    async with http_client(running) as http:
        table = await table_with_player(running, http)
        refused = await http.post("/api/v1/campaigns/c1/webhooks", json={"url": url}, headers=table.tokens["gm"])
        assert why in assert_error(refused, 422, "webhook/refused_target")["message"]


async def test_a_player_hooks_only_their_own_notices(nursery, tmp_path, receiver):
    running = await start_server(nursery, tmp_path / "data", HOOKED, VirtualClock(), game_kinds())
    async with http_client(running) as http:
        table = await table_with_player(running, http)
        refused = await http.post("/api/v1/campaigns/c1/webhooks", json={"url": receiver.url, "scope": "table"},
                                  headers=table.tokens["ayla"])
        assert_error(refused, 403, "webhook/own_only")
        gms = await hook(http, table, "gm", url=receiver.url)
        listing = (await http.get("/api/v1/campaigns/c1/webhooks", headers=table.tokens["ayla"])).json()
        assert listing["items"] == []
        assert_error(await http.delete(f"/api/v1/campaigns/c1/webhooks/{gms['hook_id']}",
                                       headers=table.tokens["ayla"]), 404, "not_found")
        assert "secret" not in str(listing)


async def test_a_waiting_delivery_outlives_a_restart(tmp_path, receiver):
    data = tmp_path / "data"
    async with trio.open_nursery() as nursery:
        running = await start_server(nursery, data, HOOKED, VirtualClock(), game_kinds())
        async with http_client(running) as http:
            table = await table_with_player(running, http)
            await hook(http, table, "ayla", url=receiver.url, kinds=["deadline"])
            await table.ok("gm", "campaign/c1", "SetDeadline", deadline_id="ritual", in_hours=3,
                           consequence="The dead walk.")
            listing = (await http.get("/api/v1/campaigns/c1/webhooks", headers=table.tokens["gm"])).json()
            assert [d["status"] for d in listing["items"][0]["deliveries"]] == ["waiting"]
        running.stop.set()
    async with trio.open_nursery() as nursery:
        running = await start_server(nursery, data, HOOKED, VirtualClock(), game_kinds())
        operator, _ = running.tokens.create("operator")
        async with http_client(running) as http:
            response = await http.post("/api/v1/admin/clock/advance", json={"seconds": 2 * 3600 + 60},
                                       headers=bearer(operator))
            assert response.status_code == 200, response.text
            reminder = await received(receiver)
            assert orjson.loads(reminder["body"])["content"].endswith("An hour left before: The dead walk.")
        running.stop.set()
