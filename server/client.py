"""A small Python client for the websocket protocol (docs/protocol.md).

Synchronous, with one reader thread, so the same class serves scripts, bots, the NiceGUI
app and trio code (through ``trio.to_thread``).  It says hello, keeps every subscription's
last sequence number, and after a dropped connection reconnects, says hello again,
resubscribes with ``since`` and re-sends unacknowledged commands under their original
ids (ids are idempotent, so nothing is applied twice).  Stream messages arrive in order,
without duplicates, from :meth:`next_message`.

    with EverturnClient("ws://127.0.0.1:8800/ws", token) as client:
        client.subscribe("campaign/7f3a")
        ack = client.command("campaign/7f3a", "PostAction", {"text": "I open the door"})
        message = client.next_message(timeout=5)
"""
from __future__ import annotations

import itertools
import logging
import queue
import random
import threading
from concurrent.futures import Future
from concurrent.futures import TimeoutError as FutureTimeout
from typing import Any, Iterator

import orjson
from websockets.exceptions import ConnectionClosed, WebSocketException
from websockets.sync.client import ClientConnection, connect

log = logging.getLogger(__name__)

RECONNECT_FIRST_S = 0.05
RECONNECT_LAST_S = 5.0


def reconnect_delays(rng: random.Random, first: float = RECONNECT_FIRST_S, last: float = RECONNECT_LAST_S) -> Iterator[float]:
    """Seconds to wait before each next attempt: exponential backoff with full jitter.

    Attempt ``n`` waits a uniform draw from ``[0, min(last, first * 2**n)]``, so clients that lost
    the same server at the same moment spread their returns instead of knocking together.
    """
    ceiling = first
    while True:
        yield rng.uniform(0.0, ceiling)
        ceiling = min(ceiling * 2, last)


class ClientError(Exception):
    """The server answered a request with ``error {code, message}``."""

    def __init__(self, code: str, message: str, details: Any = None) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message
        self.details = details


class EverturnClient:
    def __init__(self, url: str, token: str, *, client: str = "everturn-python", reconnect: bool = True,
                 timeout: float = 10.0, max_frame_bytes: int = 1 << 20, rng: random.Random | None = None) -> None:
        """``rng``: the reconnect backoff's jitter (seed one for a reproducible run)."""
        self.url = url
        self.token = token
        self.client = client
        self.reconnect = reconnect
        self.timeout = timeout
        self.max_frame_bytes = max_frame_bytes
        self.welcome: dict[str, Any] | None = None
        self.last_seq: dict[str, int | None] = {}       # topic -> last seq delivered (None: none yet)
        self.reconnects = 0
        self._rng = rng or random.Random()
        self._messages: queue.Queue[dict[str, Any]] = queue.Queue()
        self._pending: dict[str, tuple[dict[str, Any], Future[dict[str, Any]]]] = {}
        self._ids = itertools.count(1)
        self._lock = threading.RLock()
        self._socket: ClientConnection | None = None
        self._welcomed: Future[dict[str, Any]] = Future()
        self._closing = False
        self._closed = threading.Event()  # set by close(): cuts a reconnect backoff short
        self._reader: threading.Thread | None = None

    # -- lifecycle -------------------------------------------------------------------

    def __enter__(self) -> "EverturnClient":
        self.connect()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def connect(self) -> dict[str, Any]:
        """Open the connection and say hello; returns the welcome (raises ``ClientError``)."""
        self._open()
        self._reader = threading.Thread(target=self._read_forever, name="everturn-client", daemon=True)
        self._reader.start()
        return self._wait_welcome()

    def close(self) -> None:
        self._closing = True
        self._closed.set()
        with self._lock:
            socket = self._socket
        if socket is not None:
            socket.close()
        if self._reader is not None:
            self._reader.join(timeout=self.timeout)
        with self._lock:
            for _, future in self._pending.values():
                if not future.done():
                    future.set_exception(ConnectionError("client closed"))
            self._pending.clear()

    def _open(self) -> None:
        socket = connect(self.url, open_timeout=self.timeout, max_size=self.max_frame_bytes)
        socket.__enter__()  # the connection lives as long as this client, not a with-block; close() ends it
        with self._lock:
            self._socket = socket
            self._welcomed = Future()
        self._send({"type": "hello", "token": self.token, "client": self.client})

    def _wait_welcome(self) -> dict[str, Any]:
        try:
            self.welcome = self._welcomed.result(timeout=self.timeout)
        except FutureTimeout as exc:
            raise TimeoutError("no welcome from the server") from exc
        return self.welcome

    @property
    def connected(self) -> bool:
        """Connected and welcomed (False while a dropped connection is being re-established)."""
        with self._lock:
            return self._socket is not None and self._welcomed.done() and self._welcomed.exception() is None

    # -- requests ------------------------------------------------------------------------

    def subscribe(self, topic: str, since: int | None = None) -> None:
        """Follow ``topic``; with ``since``, resume after that sequence number."""
        with self._lock:
            self.last_seq[topic] = since
        self._send({"type": "subscribe", "topic": topic, **({"since": since} if since is not None else {})})

    def unsubscribe(self, topic: str) -> None:
        with self._lock:
            self.last_seq.pop(topic, None)
        self._send({"type": "unsubscribe", "topic": topic})

    def command(self, topic: str, type_: str, data: dict[str, Any] | None = None, *, id: str | None = None,
                timeout: float | None = None) -> dict[str, Any]:
        """Send a command and wait for its ack ``{id, seq, events}``; raises ``ClientError``."""
        return self.command_async(topic, type_, data, id=id).result(timeout=timeout or self.timeout)

    def command_async(self, topic: str, type_: str, data: dict[str, Any] | None = None, *,
                      id: str | None = None) -> Future[dict[str, Any]]:
        """Send a command now; the future resolves with the ack (commands keep their order)."""
        request_id = id or f"c{next(self._ids)}-{random.getrandbits(32):08x}"
        frame = {"type": "command", "id": request_id, "topic": topic, "command": {"type": type_, "data": data or {}}}
        future: Future[dict[str, Any]] = Future()
        with self._lock:
            self._pending[request_id] = (frame, future)
            self._send(frame)
        return future

    def next_message(self, timeout: float | None = None) -> dict[str, Any] | None:
        """The next snapshot, event, resync or unrequested error; None after ``timeout``."""
        try:
            return self._messages.get(timeout=timeout)
        except queue.Empty:
            return None

    # -- the reader thread -----------------------------------------------------------------

    def _send(self, frame: dict[str, Any]) -> None:
        with self._lock:
            socket = self._socket
            if socket is None:
                return  # sent again on reconnect (commands) or resubscribed (topics)
            try:
                socket.send(orjson.dumps(frame).decode())
            except ConnectionClosed:
                pass      # the reader notices and reconnects

    def _read_forever(self) -> None:
        while not self._closing:
            socket = self._socket
            try:
                for raw in socket:  # type: ignore[union-attr]
                    self._receive(orjson.loads(raw))
            except (ConnectionClosed, OSError):
                pass
            except Exception:  # noqa: BLE001 - a reader that dies silently would leave the client deaf
                log.exception("everturn client: reading the connection failed; reconnecting")
            if self._closing or not self.reconnect:
                break
            self._reconnect()

    def _reconnect(self) -> None:
        with self._lock:
            self._socket = None
        delays = reconnect_delays(self._rng)
        while not self._closing:
            try:
                self._open()
                self.reconnects += 1
                break
            except (OSError, WebSocketException, TimeoutError):  # refused, a failed handshake (a server
                # still starting or stopping answers 5xx), a timeout: try again later
                self._closed.wait(next(delays))
        # hello is on its way; the reader sees the welcome and resumes (see _receive)

    def _resume(self) -> None:
        with self._lock:
            topics = dict(self.last_seq)
            pending = [frame for frame, _ in self._pending.values()]
        for topic, since in topics.items():
            self._send({"type": "subscribe", "topic": topic, **({"since": since} if since is not None else {})})
        for frame in pending:
            self._send(frame)

    def _receive(self, message: dict[str, Any]) -> None:
        kind = message.get("type")
        if kind == "welcome":
            if self._welcomed.done():
                return
            self._welcomed.set_result(message)
            if self.reconnects:
                self._resume()
            return
        if kind in ("ack", "error") and message.get("id") in self._pending:
            with self._lock:
                _, future = self._pending.pop(message["id"])
            if kind == "ack":
                future.set_result(message)
            else:
                future.set_exception(ClientError(message["code"], message["message"], message.get("details")))
            return
        if kind == "error" and not self._welcomed.done() and message.get("code", "").startswith("auth/"):
            self._welcomed.set_exception(ClientError(message["code"], message["message"]))
            return
        topic = message.get("topic")
        with self._lock:
            if kind == "event":
                last = self.last_seq.get(topic)
                if last is not None and message["seq"] <= last:
                    return  # already delivered before a reconnect
                self.last_seq[topic] = message["seq"]
            elif kind == "snapshot":
                self.last_seq[topic] = message["seq"]
        if kind in ("heartbeat", "pong"):
            return
        self._messages.put(message)
