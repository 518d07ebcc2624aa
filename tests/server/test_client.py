"""The Python client: hello, subscribe, command acks, and resume after a dropped connection."""
from __future__ import annotations

import random

import pytest
import trio

from server.client import ClientError, EverturnClient, reconnect_delays

from .conftest import ws_url


async def test_the_client_resumes_with_exactly_the_missed_events(server):
    token, _ = server.tokens.create("gm", campaign="c1")

    def story() -> tuple[list[int], list[int], int]:
        with EverturnClient(ws_url(server), token) as watcher, EverturnClient(ws_url(server), token) as writer:
            writer.command("ledger/c1", "Add", {"amount": 1})   # subscriptions need an actor that exists
            watcher.subscribe("ledger/c1")
            assert watcher.next_message(timeout=10)["seq"] == 1
            seen = [1]
            for amount in (2, 3):
                writer.command("ledger/c1", "Add", {"amount": amount})
            while len(seen) < 3:
                seen.append(watcher.next_message(timeout=10)["seq"])
            watcher._socket.close()                       # the connection drops
            for amount in (4, 5):
                writer.command("ledger/c1", "Add", {"amount": amount})
            resumed = []
            while len(resumed) < 2:
                message = watcher.next_message(timeout=10)
                resumed.append(message["seq"])
            writer.command("ledger/c1", "Add", {"amount": 6})
            resumed.append(watcher.next_message(timeout=10)["seq"])
            assert watcher.next_message(timeout=0.2) is None
            return seen, resumed, watcher.reconnects

    seen, resumed, reconnects = await trio.to_thread.run_sync(story)
    assert seen == [1, 2, 3]
    assert resumed == [4, 5, 6]
    assert reconnects == 1
    assert server.runtime.state_of("ledger/c1")[0].history == (1, 2, 3, 4, 5, 6)


async def test_the_client_surfaces_errors_and_idempotent_acks(server):
    token, _ = server.tokens.create("gm", campaign="c1")

    def story():
        with EverturnClient(ws_url(server), token) as client:
            first = client.command("ledger/c1", "Add", {"amount": 2}, id="same")
            again = client.command("ledger/c1", "Add", {"amount": 2}, id="same")
            with pytest.raises(ClientError) as rejected:
                client.command("ledger/c1", "Add", {"amount": 0})
            with pytest.raises(ClientError) as hidden:
                client.command("ledger/c2", "Add", {"amount": 1})
            return first, again, rejected.value.code, hidden.value.code

    first, again, rejected, hidden = await trio.to_thread.run_sync(story)
    assert first["seq"] == again["seq"] == 1
    assert (rejected, hidden) == ("ledger/zero", "not_found")
    assert server.runtime.state_of("ledger/c1")[0].total == 2


async def test_a_bad_token_is_refused_at_connect(server):
    def story():
        client = EverturnClient(ws_url(server), "evt_nope_nope", reconnect=False)
        try:
            with pytest.raises(ClientError) as refused:
                client.connect()
            return refused.value.code
        finally:
            client.close()

    assert await trio.to_thread.run_sync(story) == "auth/invalid"


async def test_a_failed_handshake_while_reconnecting_is_retried(server, monkeypatch):
    """A server still starting (or stopping) can answer the upgrade with a 5xx: try again, don't go deaf."""
    import server.client as module
    from websockets.exceptions import InvalidHandshake

    token, _ = server.tokens.create("gm", campaign="c1")
    real, refused = module.connect, []

    def connect(*args, **kwargs):
        if len(refused) < 2 and module_state["dropped"]:
            refused.append(args[0])
            raise InvalidHandshake("server rejected WebSocket connection: HTTP 503")
        return real(*args, **kwargs)

    module_state = {"dropped": False}
    monkeypatch.setattr(module, "connect", connect)

    def story() -> tuple[int, int]:
        with EverturnClient(ws_url(server), token) as client:
            client.command("ledger/c1", "Add", {"amount": 1})   # subscriptions need an actor that exists
            client.subscribe("ledger/c1")
            assert client.next_message(timeout=10)["type"] == "snapshot"
            module_state["dropped"] = True
            client._socket.close()                          # the connection drops; the next two upgrades fail
            ack = client.command("ledger/c1", "Add", {"amount": 7}, timeout=20)
            event = client.next_message(timeout=10)
            assert client.connected and event["type"] == "event"
            return ack["seq"], client.reconnects

    seq, reconnects = await trio.to_thread.run_sync(story)
    assert (seq, reconnects, len(refused)) == (2, 1, 2)


def test_reconnect_waits_grow_to_a_ceiling_and_are_spread_by_full_jitter():
    delays = reconnect_delays(random.Random(7), first=0.05, last=5.0)
    waits = [next(delays) for _ in range(40)]
    ceilings = [min(5.0, 0.05 * 2**n) for n in range(40)]
    assert all(0.0 <= wait <= ceiling for wait, ceiling in zip(waits, ceilings))
    assert len(set(waits[10:])) == 30 and min(waits[10:]) < 2.5 < max(waits[10:])   # spread, not 5 s each
    again = reconnect_delays(random.Random(7), first=0.05, last=5.0)
    assert [next(again) for _ in range(40)] == waits                                 # seeded: the same run


def test_a_client_that_cannot_reach_its_server_backs_off_with_its_own_jitter():
    """Two clients dropped at once, seeded differently, do not knock on the server together."""

    def attempts(seed: int) -> list[float]:
        client = EverturnClient("ws://127.0.0.1:9/ws", "token", rng=random.Random(seed))
        waited: list[float] = []
        failures = iter(range(6))

        def refused() -> None:
            if next(failures, None) is None:
                return  # the server is back
            raise ConnectionRefusedError("refused")

        class Waits:
            def wait(self, seconds: float) -> bool:
                waited.append(seconds)
                return False

        client._open = refused  # type: ignore[method-assign]
        client._closed = Waits()  # type: ignore[assignment]
        client._reconnect()
        assert client.reconnects == 1
        return waited

    first, second = attempts(1), attempts(2)
    assert len(first) == len(second) == 6
    assert first != second and first == attempts(1)
    assert all(wait <= min(5.0, 0.05 * 2**n) for n, wait in enumerate(first))
