"""A real Everturn server on a loopback port, with HTTP and websocket clients to talk to it.

The server runs in the test's own trio run (real clock: hypercorn needs real sockets);
HTTP goes through ``httpx.AsyncClient``; websockets through the ``websockets`` sync
client, one blocking call at a time in a worker thread (:class:`WsClient`).
"""
from __future__ import annotations

import socket
import uuid
from dataclasses import replace
from functools import partial
from typing import Any, Callable

import httpx
import orjson
import pytest
import trio
from websockets.sync.client import ClientConnection, connect

from actors import RuntimeConfig
from server.app import ServerSettings
from server.serve import Running, run_server

from ..kinds import LedgerKind

WAIT = 10.0  # seconds any single reply may take before a test fails
GENEROUS = ServerSettings(campaign_kinds=frozenset({"ledger"}), rate=1e6, burst=1e6)


async def start_server(nursery: trio.Nursery, data, settings: ServerSettings = GENEROUS, clock: Any = None,
                       kinds: Any = None) -> Running:
    return await nursery.start(partial(run_server, data, kinds or [LedgerKind()], port=0, clock=clock,
                                       settings=settings, config=RuntimeConfig(lag_interval=None)))


@pytest.fixture
async def launch(nursery, tmp_path) -> Callable[..., Any]:
    """``await launch(**settings_overrides, clock=...)``: a server, stopped after the test."""
    started: list[Running] = []

    async def _launch(clock: Any = None, **overrides: Any) -> Running:
        running = await start_server(nursery, tmp_path / f"data{len(started)}", replace(GENEROUS, **overrides), clock)
        started.append(running)
        return running

    yield _launch
    for running in started:
        running.stop.set()


@pytest.fixture
async def game_server(nursery, tmp_path) -> Any:
    """A server with the game's kinds on a virtual clock (``everturn serve --clock virtual``)."""
    from actors import VirtualClock
    from actors.kinds import game_kinds

    running = await start_server(nursery, tmp_path / "game", ServerSettings(rate=1e6, burst=1e6), VirtualClock(),
                                 game_kinds())
    yield running
    running.stop.set()


@pytest.fixture
async def server(launch) -> Running:
    return await launch()


def http_client(running: Running) -> httpx.AsyncClient:
    return httpx.AsyncClient(base_url=running.url, trust_env=False, timeout=WAIT)


@pytest.fixture
async def http(server):
    async with http_client(server) as client:
        yield client


@pytest.fixture
async def open_ws(launch) -> Callable[..., Any]:
    """``await open_ws(running, token, hello=True, **connect_options)``; all closed after the test.

    Closing them before the server stops keeps hypercorn's graceful shutdown short.
    """
    clients: list[WsClient] = []

    async def _open(running: Running, token: str | None, hello: bool = True, **kwargs: Any) -> WsClient:
        client = await (WsClient.open(running, token, **kwargs) if hello else WsClient.connect(running, **kwargs))
        clients.append(client)
        return client

    yield _open
    for client in clients:
        await client.close()


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def operator_token(running: Running) -> str:
    assert running.first_token is not None
    return running.first_token


def assert_error(response: httpx.Response, status: int, code: str) -> dict[str, Any]:
    """The one error shape: ``{"error": {code, message, details}, "request_id"}``; returns the error."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/json")
    body = response.json()
    assert set(body) == {"error", "request_id"}
    assert set(body["error"]) == {"code", "message", "details"}
    assert body["error"]["code"] == code, body
    assert isinstance(body["error"]["message"], str) and body["error"]["message"]
    assert body["request_id"] == response.headers["X-Request-Id"]
    return body["error"]


def command(kind_type: str, **data: Any) -> dict[str, Any]:
    return {"type": kind_type, "data": data}


def ws_url(running: Running) -> str:
    return running.url.replace("http://", "ws://", 1) + "/ws"


class WsClient:
    """A websocket client whose every blocking call runs in a worker thread.

    ``WsClient.open(running, token)`` connects and says hello; ``recv`` returns the next
    frame parsed from JSON, or None after ``timeout`` seconds of silence.
    """

    def __init__(self, conn: ClientConnection) -> None:
        self.conn = conn

    @classmethod
    async def connect(cls, running: Running, *, rcvbuf: int | None = None, max_queue: int | None = 16) -> "WsClient":
        def _connect() -> ClientConnection:
            sock = None
            if rcvbuf is not None:  # a small receive window makes a slow reader felt at once
                sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
                host, port = running.url.removeprefix("http://").rsplit(":", 1)
                sock.connect((host, int(port)))
            return connect(ws_url(running), sock=sock, proxy=None, compression=None, open_timeout=WAIT,
                           ping_interval=None, close_timeout=2, max_queue=max_queue, max_size=None).__enter__()

        return cls(await trio.to_thread.run_sync(_connect))

    @classmethod
    async def open(cls, running: Running, token: str, **kwargs: Any) -> "WsClient":
        client = await cls.connect(running, **kwargs)
        welcome = await client.request({"type": "hello", "token": token, "client": "tests/1"})
        assert welcome["type"] == "welcome", welcome
        return client

    async def send(self, message: Any) -> None:
        """Send ``message``: bytes or str as they are, anything else as JSON text."""
        if not isinstance(message, (bytes, str)):
            message = orjson.dumps(message).decode()
        await trio.to_thread.run_sync(self.conn.send, message)

    async def send_many(self, messages: list[Any]) -> None:
        """Send every message back to back, without waiting for any answer."""
        frames = [orjson.dumps(m).decode() for m in messages]

        def _send() -> None:
            for frame in frames:
                self.conn.send(frame)

        await trio.to_thread.run_sync(_send)

    async def recv(self, timeout: float = WAIT) -> dict[str, Any] | None:
        def _recv() -> Any:
            try:
                return self.conn.recv(timeout=timeout)
            except TimeoutError:
                return None

        frame = await trio.to_thread.run_sync(_recv)
        return None if frame is None else orjson.loads(frame)

    async def expect(self, timeout: float = WAIT, skip: tuple[str, ...] = ("heartbeat",)) -> dict[str, Any]:
        """The next frame (not a heartbeat); fails the test if none comes in ``timeout``."""
        while True:
            message = await self.recv(timeout)
            assert message is not None, f"no frame within {timeout} s"
            if message["type"] not in skip:
                return message

    async def request(self, message: Any, timeout: float = WAIT) -> dict[str, Any]:
        await self.send(message)
        return await self.expect(timeout)

    async def silence(self, timeout: float = 0.3) -> None:
        """Nothing but heartbeats arrives for ``timeout`` seconds."""
        with trio.move_on_after(timeout + 1):
            while True:
                message = await self.recv(timeout)
                if message is None:
                    return
                assert message["type"] == "heartbeat", f"unexpected frame {message}"

    async def command(self, topic: str, type_: str, id_: str | None = None, **data: Any) -> dict[str, Any]:
        """Send one command and return its ack or error (skipping stream frames)."""
        id_ = id_ or uuid.uuid4().hex
        await self.send({"type": "command", "id": id_, "topic": topic, "command": command(type_, **data)})
        while True:
            message = await self.expect()
            if message["type"] in ("ack", "error") and message.get("id") == id_:
                return message

    async def close(self) -> None:
        await trio.to_thread.run_sync(self.conn.close)

    async def __aenter__(self) -> "WsClient":
        return self

    async def __aexit__(self, *exc: Any) -> None:
        await self.close()


async def add(http: httpx.AsyncClient, token: str, address: str, amount: int, **headers: str) -> httpx.Response:
    """POST ``Add(amount)`` to ``address`` over REST; returns the response as it is."""
    return await http.post(f"/api/v1/actors/{address}/commands", json=command("Add", amount=amount),
                           headers={**bearer(token), **headers})
