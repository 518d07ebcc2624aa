"""A scoped token reaches exactly its campaign and what the campaign says is its own.

Built from one table of (token, address, expected) over REST reads, REST commands and
websocket subscribes, with prefix-like and look-alike ids (``g``, ``g.one``, ``g1``,
``G``, ``g/..``) and an actor of another kind that bears the campaign's id.  Missing and
forbidden answer alike, and neither activates anything.
"""
from __future__ import annotations

from typing import Any

import trio

from actors.campaign.messages import CreateCampaign
from actors.strategy.messages import CreateGame

from .conftest import assert_error, bearer, command, http_client, operator_token
from .test_campaigns import character
from .test_ws import subscribe

OK, MISSING = 200, 404

# (token, address, expected status of a read, of a PostAction, of a subscribe)
READS: list[tuple[str, str, int]] = [
    ("gm_g", "campaign/g", OK),
    ("gm_g", "campaign/g.one", MISSING),     # exists (stored before dotted ids were refused): not g's
    ("gm_g", "campaign/g1", MISSING),
    ("gm_g", "campaign/G", MISSING),
    ("gm_g", "campaign/g.new1", MISSING),    # a name prefix is no relation, existing or not
    ("gm_g", "combat/g.1", OK),              # g started encounter 1: g says it is its own
    ("gm_g", "combat/g.2", MISSING),         # never started
    ("gm_g", "combat/g.01", MISSING),        # a look-alike of encounter 1
    ("gm_g", "combat/g1.1", MISSING),        # g1's encounter
    ("gm_g", "combat/g", MISSING),
    ("gm_g", "strategy/g", MISSING),         # a game bearing the campaign's id
    ("gm_g", "train/g", MISSING),            # a kind no campaign token reaches
    ("player_g", "campaign/g", OK),
    ("player_g", "campaign/g.one", MISSING),
    ("player_g", "combat/g.1", OK),
    ("player_g", "strategy/g", MISSING),
    ("gm_g1", "campaign/g1", OK),
    ("gm_g1", "campaign/g", MISSING),
    ("gm_g1", "combat/g1.1", OK),
    ("gm_g1", "combat/g.1", MISSING),
    ("gm_G", "campaign/G", OK),
    ("gm_G", "campaign/g", MISSING),
    ("gm_G", "combat/g.1", MISSING),
    ("operator", "campaign/g.one", OK),
    ("operator", "strategy/g", OK),
    ("operator", "campaign/nobody", MISSING),  # operators too: nothing there, nothing made
]
ODD_PATHS = ["campaign/g/..", "campaign/g%2F..", "campaign/g/../g1", "campaign/..", "campaign/g%00"]


class World:
    """Campaigns g, g1, G (each with encounter 1), g.one and strategy/g stored as old data."""

    def __init__(self, http: Any, running: Any) -> None:
        self.http, self.running = http, running
        self.tokens: dict[str, dict[str, str]] = {"operator": bearer(operator_token(running))}

    async def token(self, name: str, **body: Any) -> None:
        response = await self.http.post("/api/v1/admin/tokens", json=body, headers=self.tokens["operator"])
        assert response.status_code == 201, response.text
        self.tokens[name] = bearer(response.json()["token"])

    async def send(self, who: str, address: str, kind: str, **data: Any) -> Any:
        return await self.http.post(f"/api/v1/actors/{address}/commands", json=command(kind, **data),
                                    headers=self.tokens[who])

    async def ok(self, who: str, address: str, kind: str, **data: Any) -> None:
        response = await self.send(who, address, kind, **data)
        assert response.status_code == 200, response.text

    @classmethod
    async def build(cls, http: Any, running: Any) -> "World":
        world = cls(http, running)
        for cid in ("g", "g1", "G"):
            await world.token(f"gm_{cid}", role="gm", campaign=cid)
            await world.ok(f"gm_{cid}", f"campaign/{cid}", "CreateCampaign", title=f"Campaign {cid}")
            await world.token(f"player_{cid}", role="player", campaign=cid, character="ayla")
            await world.ok(f"player_{cid}", f"campaign/{cid}", "JoinCampaign", character=character("Ayla"))
            await world.ok(f"gm_{cid}", f"campaign/{cid}", "StartEncounter", npcs=[{"name": "Goblin", "initiative": 1}],
                           initiative={"ayla": 19})
        # Old data: ids stored before the server refused them (straight to the runtime, past the edge).
        runtime = running.runtime
        await runtime.ask("campaign/g.one", CreateCampaign(title="stored before dots were refused"))
        await runtime.ask("strategy/g", CreateGame(seed=7))
        return world


async def test_the_scoping_table_over_rest_reads_commands_and_subscribes(game_server, open_ws):
    async with http_client(game_server) as http:
        world = await World.build(http, game_server)
        runtime = game_server.runtime
        missing = assert_error(await http.get("/api/v1/actors/campaign/nobody", headers=world.tokens["gm_g"]),
                               404, "not_found")
        for who, address, expected in READS:
            read = await http.get(f"/api/v1/actors/{address}", headers=world.tokens[who])
            assert read.status_code == expected, (who, address, read.text)
            journal = await http.get(f"/api/v1/actors/{address}/events", headers=world.tokens[who])
            assert journal.status_code == expected, (who, address, journal.text)
            if expected == MISSING:          # nothing tells "forbidden" from "missing"
                for answer in (read, journal):
                    error = assert_error(answer, 404, "not_found")
                    assert error["message"].replace(address, "X") == missing["message"].replace("campaign/nobody", "X")

        # Commands: PostAction where a player could write, EndTurn-like probes elsewhere.
        intruder = command("PostAction", text="intruder")
        for who, address, expected in [("player_g", "campaign/g", OK), ("player_g", "campaign/g.one", MISSING),
                                       ("player_g", "campaign/g1", MISSING), ("player_g", "campaign/G", MISSING),
                                       ("gm_g", "campaign/g.one", MISSING), ("gm_g1", "campaign/g", MISSING),
                                       ("player_G", "campaign/g", MISSING), ("player_g", "campaign/g.s1", MISSING)]:
            response = await http.post(f"/api/v1/actors/{address}/commands", json=intruder, headers=world.tokens[who])
            assert response.status_code == expected, (who, address, response.text)
            if expected == MISSING:
                assert_error(response, 404, "not_found")
        posts = runtime.state_of("campaign/g.one")[0].posts
        assert all(post.text != "intruder" for post in posts)

        # Creating: a GM of g makes nothing beside g; nobody makes a dotted id or a game bearing a campaign's id.
        assert_error(await world.send("gm_g", "campaign/g.new1", "CreateCampaign", title="mine too?"), 404, "not_found")
        assert_error(await world.send("gm_g", "strategy/g", "CreateGame"), 404, "not_found")
        assert_error(await world.send("operator", "campaign/g.new1", "CreateCampaign", title="dotted"), 422,
                     "actor/invalid_id")
        assert_error(await world.send("operator", "strategy/g1", "CreateGame"), 422, "actor/id_taken")
        await world.ok("operator", "strategy/h", "CreateGame")
        assert_error(await world.send("operator", "campaign/h", "CreateCampaign", title="h"), 422, "actor/id_taken")
        dotted = await http.post("/api/v1/admin/tokens", json={"role": "gm", "campaign": "g.one"},
                                 headers=world.tokens["operator"])
        assert_error(dotted, 422, "token/invalid")

        for path in ODD_PATHS:
            for who in ("gm_g", "player_g"):
                response = await http.get(f"/api/v1/actors/{path}", headers=world.tokens[who])
                assert response.status_code in (400, 404), (path, response.text)

        # The same table over the websocket.
        clients = {who: await open_ws(game_server, world.tokens[who]["Authorization"].split()[1])
                   for who in {who for who, _, _ in READS}}
        for who, address, expected in READS:
            answer = await clients[who].request(subscribe(address))
            if expected == OK:
                assert answer["type"] == "snapshot" and answer["topic"] == address, (who, address, answer)
            else:
                assert (answer["type"], answer["code"]) == ("error", "not_found"), (who, address, answer)
            await clients[who].request({"type": "unsubscribe", "topic": address})
        for topic in ("campaign/g/..", "campaign/../g", "g", "campaign/g.one/x", ""):
            answer = await clients["gm_g"].request(subscribe(topic))
            assert answer["type"] == "error" and answer["code"] in ("not_found", "runtime/invalid_address"), answer
        ack = await clients["player_g"].command("campaign/g.one", "PostAction", text="intruder")
        assert (ack["type"], ack["code"]) == ("error", "not_found")

        # Nothing refused was brought into memory.
        refused = {address for _, address, expected in READS if expected == MISSING}
        assert not {address for address in refused if not runtime.store.actor_known(address)} & set(runtime.cells)


async def test_a_flood_of_subscriptions_to_missing_actors_activates_nothing(game_server, open_ws):
    op = operator_token(game_server)
    gm, _ = game_server.tokens.create("gm", campaign="A")
    runtime = game_server.runtime
    before = runtime.figures()["active"]
    for token in (op, gm):
        client = await open_ws(game_server, token)
        topics = [f"campaign/A.s{n}" for n in range(3000)]
        await client.send_many([subscribe(topic) | {"id": topic} for topic in topics])
        answers = [await client.expect() for _ in topics]
        assert {(a["type"], a["code"]) for a in answers} == {("error", "not_found")}
        assert sorted(a["topic"] for a in answers) == sorted(topics)
    await trio.testing.wait_all_tasks_blocked()
    assert runtime.figures()["active"] == before == 0
    assert not any(address.startswith("campaign/A.") for address in runtime.cells)


async def test_subscriptions_are_limited_per_connection_and_per_token(launch, open_ws):
    server = await launch(ws_subscriptions_per_connection=3, ws_subscriptions_per_token=5)
    token = operator_token(server)
    async with http_client(server) as http:
        for n in range(1, 8):
            response = await http.post(f"/api/v1/actors/ledger/c{n}/commands", json=command("Add", amount=1),
                                       headers=bearer(token))
            assert response.status_code == 200
    first, second = await open_ws(server, token), await open_ws(server, token)
    for n in (1, 2, 3):
        assert (await first.request(subscribe(f"ledger/c{n}")))["type"] == "snapshot"
    assert (await first.request(subscribe("ledger/c1")))["type"] == "snapshot"    # again: a replacement, not a 4th
    full = await first.request(subscribe("ledger/c4"))
    assert (full["type"], full["code"], full["details"]) == (
        "error", "ws/too_many_subscriptions", {"limit": 3, "per": "connection"})
    for n in (4, 5):
        assert (await second.request(subscribe(f"ledger/c{n}")))["type"] == "snapshot"
    full = await second.request(subscribe("ledger/c6"))
    assert (full["code"], full["details"]) == ("ws/too_many_subscriptions", {"limit": 5, "per": "token"})
    await first.request({"type": "unsubscribe", "topic": "ledger/c1"})
    assert (await second.request(subscribe("ledger/c6")))["type"] == "snapshot"
    await first.close()                                        # a closed connection gives its room back
    third = await open_ws(server, token)
    with trio.fail_after(10):       # the server sees the close a moment later; until then the token is full
        while (answer := await third.request(subscribe("ledger/c7")))["type"] != "snapshot":
            assert answer["code"] == "ws/too_many_subscriptions"
    assert (await third.request(subscribe("ledger/c1")))["type"] == "snapshot"   # the token's 5th
    full = await third.request(subscribe("ledger/c2"))
    assert (full["code"], full["details"]) == ("ws/too_many_subscriptions", {"limit": 5, "per": "token"})
