"""A websocket session's frames for actors another shard owns, sent there and answered back.

An operator's connection (and any connection that could not move: ``server.shards.handoff``)
reaches every actor. A ``subscribe``, ``unsubscribe`` or ``command`` whose topic another
shard owns goes to that shard over one upstream websocket per shard and session, opened on
first use with the session's own token (tokens are on every shard), on the owner's private
loopback port. The owner validates, rate-limits, journals and numbers as it does for any
client; what it answers (acks, errors, snapshots, events with their ``seq``, resyncs) comes
back to the client as it was sent, so ordering, resume with ``since`` and idempotent ids hold
end to end. Its welcome, pongs and heartbeats are this session's own business and stay.

If an upstream breaks (its shard restarted), the client's connection is closed with 1011:
it reconnects and resumes each stream with ``since``, as after any drop.
"""
from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any

import orjson
import trio
from websockets.client import ClientProtocol
from websockets.frames import CloseCode
from websockets.http11 import Response
from websockets.uri import parse_uri

from server.edge import RECEIVE_BYTES, Closed, EdgeSocket, protocol_log

from .peers import Peers

log = logging.getLogger("everturn.shards")
CONNECT_TIMEOUT_S = 10.0
LOCAL_ONLY = frozenset({"welcome", "pong", "heartbeat"})


class UpstreamFailed(Closed):
    """An upstream shard refused or dropped this session's link: the client's connection ends."""


class Relay:
    """One session's upstream links, one per shard it reached."""

    def __init__(self, peers: Peers, max_bytes: int, deliver: Callable[[str], Awaitable[None]]) -> None:
        self.peers, self.max_bytes, self.deliver = peers, max_bytes, deliver
        self.upstreams: dict[int, EdgeSocket] = {}
        self._opening: dict[int, trio.Lock] = {}

    async def forward(self, shard: int, message: dict[str, Any], token: str, nursery: trio.Nursery) -> None:
        """Send ``message`` to ``shard`` (opening the link, and saying hello with ``token``, on first use)."""
        upstream = self.upstreams.get(shard)
        if upstream is None:
            async with self._opening.setdefault(shard, trio.Lock()):
                upstream = self.upstreams.get(shard)
                if upstream is None:
                    upstream = await self._open(shard, token)
                    self.upstreams[shard] = upstream
                    nursery.start_soon(self._pump, shard, upstream)
        await upstream.send_many([orjson.dumps(message).decode()])

    async def _open(self, shard: int, token: str) -> EdgeSocket:
        url = f"ws://127.0.0.1:{self.peers.private_ports[shard]}/ws"
        with trio.move_on_after(CONNECT_TIMEOUT_S):
            try:
                stream = await trio.open_tcp_stream("127.0.0.1", self.peers.private_ports[shard])
            except OSError as exc:
                raise UpstreamFailed(f"shard {shard} is not reachable: {exc}") from None
            protocol = ClientProtocol(parse_uri(url), max_size=self.max_bytes, logger=protocol_log)
            protocol.send_request(protocol.connect())
            upstream = EdgeSocket(stream, protocol, None)  # type: ignore[arg-type]  # frames work either side
            await upstream.accept()  # sends the request
            events: list[Any] = []
            while not events:
                data = await stream.receive_some(RECEIVE_BYTES)
                if not data:
                    raise UpstreamFailed(f"shard {shard} closed the link during its handshake")
                protocol.receive_data(data)
                events = protocol.events_received()
            if not isinstance(events[0], Response) or events[0].status_code != 101:
                raise UpstreamFailed(f"shard {shard} refused the link")
            upstream._take(events[1:])
            hello = {"type": "hello", "token": token, "client": "everturn-relay"}
            await upstream.send_many([orjson.dumps(hello).decode()])
            answer = orjson.loads(await upstream.receive())
            if answer.get("type") != "welcome":
                raise UpstreamFailed(f"shard {shard} refused the session: {answer.get('code')}")
            return upstream
        raise UpstreamFailed(f"shard {shard} did not answer within {CONNECT_TIMEOUT_S:.0f} s")

    async def _pump(self, shard: int, upstream: EdgeSocket) -> None:
        """Everything ``shard`` answers, to the client, but what belongs to the link itself."""
        try:
            while True:
                text = await upstream.receive()
                kind = _type(text)
                if kind not in LOCAL_ONLY:
                    await self.deliver(text if isinstance(text, str) else text.decode())
        except Closed:
            pass
        finally:
            self.upstreams.pop(shard, None)
            with trio.move_on_after(1) as scope:
                scope.shield = True
                await upstream.stream.aclose()
        raise UpstreamFailed(f"shard {shard} dropped the link")

    async def aclose(self) -> None:
        for upstream in list(self.upstreams.values()):
            try:
                await upstream.close(CloseCode.NORMAL_CLOSURE)
            except Closed:
                pass


def _type(text: str | bytes) -> Any:
    """A frame's ``type``, read without parsing the rest when it comes first (the server writes it first)."""
    head = text[:40] if isinstance(text, str) else text[:40].decode("latin-1")
    if head.startswith('{"type":"'):
        return head[9:].partition('"')[0]
    try:
        return orjson.loads(text).get("type")
    except (orjson.JSONDecodeError, AttributeError):
        return None
