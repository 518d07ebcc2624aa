"""A hosted strategy game's fog of war, enforced by the server on every read path: a player's
token gets its house's view over REST state, REST events and the websocket (live, and resumed
with ``since``, or after a resync); the operator and the game's GM get everything."""
from __future__ import annotations

from typing import Any

import httpx

from actors import VirtualClock
from actors.kinds import game_kinds
from actors.strategy import fog
from actors.strategy.state import Strategy
from server.app import ServerSettings

from .conftest import bearer, command, http_client, operator_token, start_server

GAME = "strategy/g1"


class Game:
    """Tokens for the GM, ann (house 0), bob (house 1) and cat (not seated), and a game they share."""

    def __init__(self, http: httpx.AsyncClient, running: Any) -> None:
        self.http, self.running = http, running
        self.tokens = {"op": operator_token(running)}

    async def token(self, name: str, **body: Any) -> None:
        response = await self.http.post("/api/v1/admin/tokens", json=body, headers=bearer(self.tokens["op"]))
        assert response.status_code == 201, response.text
        self.tokens[name] = response.json()["token"]

    async def ok(self, who: str, kind: str, **data: Any) -> dict:
        response = await self.http.post(f"/api/v1/actors/{GAME}/commands", json=command(kind, **data),
                                        headers=bearer(self.tokens[who]))
        assert response.status_code == 200, response.text
        return response.json()

    async def get(self, who: str, path: str = "", **params: Any) -> dict:
        response = await self.http.get(f"/api/v1/actors/{GAME}{path}", params=params, headers=bearer(self.tokens[who]))
        assert response.status_code == 200, response.text
        return response.json()

    async def journal(self, who: str, limit: int = 200) -> list[dict]:
        items, cursor = [], None
        while True:
            page = await self.get(who, "/events", limit=limit, **({"cursor": cursor} if cursor else {}))
            items += page["items"]
            cursor = page["next_cursor"]
            if cursor is None:
                return items


async def created(http: httpx.AsyncClient, running: Any) -> Game:
    game = Game(http, running)
    await game.token("gm", role="gm", campaign="g1")
    for name in ("ann", "bob", "cat"):
        await game.token(name, role="player", campaign="g1", character=name)
    await game.ok("gm", "CreateGame", rings=3, houses=3, seed=11, turn_deadline_s=3600)
    await game.ok("ann", "JoinHouse")
    await game.ok("bob", "JoinHouse")
    return game


def hidden_from_ann(state: dict) -> None:
    """What ann, at house 0, must not see of a projected game."""
    assert "board" not in state and "seed" not in state and state["house"] == 0
    assert set(state["submitted"]) <= {"0"}
    seen = state["view"]
    assert "treasury" in seen["houses"][0] and all("treasury" not in h for h in seen["houses"][1:])
    assert all(f["owner"] == 0 or f["system"] in seen["visible"] for f in seen["fleets"])


async def test_a_player_sees_its_house_over_rest_and_an_operator_sees_everything(game_server):
    async with http_client(game_server) as http:
        game = await created(http, game_server)
        await game.ok("bob", "SubmitOrders", turn=1, orders=[{"kind": "set_tax", "amount": 30}])
        full = (await game.get("op"))["state"]
        bob_fleets = {f["system"] for f in full["board"]["fleets"].values() if f["owner"] == 1}
        ann = (await game.get("ann"))["state"]
        hidden_from_ann(ann)
        assert bob_fleets and not bob_fleets & set(ann["view"]["visible"])   # bob's fleets: out of ann's sight
        assert not any(f["owner"] == 1 for f in ann["view"]["fleets"])
        assert ann["ordered"] == [1] and ann["submitted"] == {}               # that bob ordered, not what
        assert full["submitted"] == {"1": [{"kind": "set_tax", "amount": 30}]} and full["seed"] == 11
        assert (await game.get("gm"))["state"] == full                         # the game's GM sees all too
        cat = (await game.get("cat"))["state"]                                 # in the game's scope, no house
        assert cat["house"] is None and cat["view"]["fleets"] == [] and cat["submitted"] == {}

        await game.ok("ann", "SubmitOrders", turn=1, orders=[{"kind": "set_tax", "amount": 40}])  # turn 1 resolves
        events = await game.journal("ann", limit=2)                            # pages rebuild the state they follow
        assert [e["type"] for e in events] == ["GameCreated", "HouseJoined", "HouseJoined", "OrdersSubmitted",
                                                "OrdersSubmitted", "TurnResolved"]
        assert "seed" not in events[0]["data"] and events[0]["data"]["map"]["rings"] == 3
        assert events[3]["data"] == {"house": 1, "turn": 1}                    # bob's: no orders
        assert events[4]["data"]["orders"] == [{"kind": "set_tax", "amount": 40}]
        resolved = events[5]["data"]
        assert resolved["orders"] == {"0": [{"kind": "set_tax", "amount": 40}]} and resolved["view"]["turn"] == 2
        assert not any(f["owner"] == 1 for f in resolved["view"]["fleets"])
        seen = fog.fold(fog.project_state(Strategy(), None), "GameCreated", events[0]["data"])
        for event in events[1:]:
            seen = fog.fold(seen, event["type"], event["data"])
        assert seen == (await game.get("ann"))["state"]                       # the events say all ann may know

        everything = await game.journal("op")
        assert everything[0]["data"]["seed"] == 11 and everything[3]["data"]["orders"]
        assert set(everything[5]["data"]["orders"]) == {"0", "1", "2"} and "view" not in everything[5]["data"]
        spec = (await http.get("/openapi.json")).json()
        assert "fog of war" in spec["paths"]["/api/v1/actors/{kind}/{actor_id}"]["get"]["summary"]


async def test_a_player_follows_its_house_over_the_websocket_beside_an_operator(game_server, open_ws):
    async with http_client(game_server) as http:
        game = await created(http, game_server)
        op = await open_ws(game_server, game.tokens["op"])
        ann = await open_ws(game_server, game.tokens["ann"])
        await op.send({"type": "subscribe", "topic": GAME})                 # the operator's frames come first,
        snapshot = await op.expect()                                          # so a shared frame would be cached
        assert snapshot["type"] == "snapshot" and "board" in snapshot["state"]
        await ann.send({"type": "subscribe", "topic": GAME})
        snapshot = await ann.expect()
        assert snapshot["type"] == "snapshot" and snapshot["seq"] == 3
        hidden_from_ann(snapshot["state"])
        seen = snapshot["state"]

        await game.ok("bob", "SubmitOrders", turn=1, orders=[{"kind": "set_tax", "amount": 30}])
        full = await op.expect()
        assert full["event"]["data"]["orders"] == [{"kind": "set_tax", "amount": 30}]
        frame = await ann.expect()
        assert (frame["type"], frame["seq"], frame["event"]["data"]) == ("event", 4, {"house": 1, "turn": 1})
        seen = fog.fold(seen, frame["event"]["type"], frame["event"]["data"])

        await ann.send({"type": "command", "id": "c1", "topic": GAME,
                        "command": command("SubmitOrders", turn=1, orders=[{"kind": "set_tax", "amount": 40}])})
        got = [await ann.expect() for _ in range(3)]                          # the ack, and the two events
        assert [(f["type"], f["seq"]) for f in got if f["type"] == "ack"] == [("ack", 6)]
        frames = [f for f in got if f["type"] == "event"]
        assert [f["event"]["type"] for f in frames] == ["OrdersSubmitted", "TurnResolved"]
        resolved = frames[1]["event"]["data"]
        assert resolved["orders"] == {"0": [{"kind": "set_tax", "amount": 40}]} and resolved["view"]["turn"] == 2
        assert all("treasury" not in h for h in resolved["view"]["houses"][1:])
        for f in frames:
            seen = fog.fold(seen, f["event"]["type"], f["event"]["data"])
        assert seen == (await game.get("ann"))["state"]                       # redrawn from frames alone
        full = [await op.expect(), await op.expect()]
        assert set(full[1]["event"]["data"]["orders"]) == {"0", "1", "2"}

        again = await open_ws(game_server, game.tokens["ann"])                 # a resumed stream is projected too
        await again.send({"type": "subscribe", "topic": GAME, "since": 3})
        resumed = [await again.expect() for _ in range(3)]
        assert [(f["seq"], f["event"]["data"].get("orders")) for f in resumed] == [
            (4, None), (5, [{"kind": "set_tax", "amount": 40}]), (6, {"0": [{"kind": "set_tax", "amount": 40}]})]
        assert resumed[2]["event"]["data"]["view"] == resolved["view"]
        await again.send({"type": "subscribe", "topic": GAME, "since": 7})
        error = await again.expect()
        assert (error["type"], error["code"]) == ("error", "stream/bad_since")


async def test_a_player_cut_loose_for_lagging_gets_its_house_view_again(nursery, tmp_path, open_ws):
    tight = ServerSettings(rate=1e6, burst=1e6, ws_queue=1)                   # a turn's two events overflow it
    running = await start_server(nursery, tmp_path / "tight", tight, VirtualClock(), game_kinds())
    try:
        async with http_client(running) as http:
            game = Game(http, running)
            await game.token("gm", role="gm", campaign="g1")
            await game.token("ann", role="player", campaign="g1", character="ann")
            await game.ok("gm", "CreateGame", rings=3, houses=3, seed=11, turn_deadline_s=3600)
            await game.ok("ann", "JoinHouse")
            ann = await open_ws(running, game.tokens["ann"])
            await ann.send({"type": "subscribe", "topic": GAME})
            assert (await ann.expect())["type"] == "snapshot"
            await game.ok("ann", "SubmitOrders", turn=1, orders=[{"kind": "set_tax", "amount": 40}])
            resync, snapshot = await ann.expect(), await ann.expect()
            assert resync["type"] == "resync" and (snapshot["type"], snapshot["seq"]) == ("snapshot", 4)
            hidden_from_ann(snapshot["state"])
            assert snapshot["state"]["turn"] == 2 and snapshot["state"] == (await game.get("ann"))["state"]
            await ann.close()
    finally:
        running.stop.set()
