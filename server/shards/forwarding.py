"""One shard's HTTP client to its siblings: a request sent on to one of them, or to all.

What a shard sends another carries ``x-everturn-forwarded: <secret>`` (``server.shards.peers``)
and the client's address and request id; the receiver answers for itself alone
(``server.shards.routing`` decides what goes where).
"""
from __future__ import annotations

import hmac
import logging
from collections.abc import Callable

import httpx
import trio
from quart import Response, request

from .peers import FORWARDED, SYSTEM_SHARD, Peers

logging.getLogger("httpx").setLevel(logging.WARNING)  # a line per forwarded request otherwise
HOP_BY_HOP = frozenset({"connection", "keep-alive", "transfer-encoding", "upgrade", "host", "content-length",
                        "te", "trailer", "proxy-authorization", "proxy-authenticate", "date", "server"})
FORWARD_TIMEOUT_S = 60.0  # a clock advance waits up to ServerSettings.advance_wait for its timers

class Shards:
    """What routing needs of this shard: its peers, the shared secret, one HTTP client for them all."""

    def __init__(self, peers: Peers, secret: str) -> None:
        self.peers, self.secret = peers, secret
        self._client: httpx.AsyncClient | None = None
        self.forwarded = 0

    @property
    def client(self) -> httpx.AsyncClient:
        if self._client is None:
            self._client = httpx.AsyncClient(timeout=FORWARD_TIMEOUT_S,
                                             limits=httpx.Limits(max_keepalive_connections=64))
        return self._client

    def internal(self) -> bool:
        """The request came from a sibling shard (and says so with the secret)."""
        return hmac.compare_digest(request.headers.get(FORWARDED, ""), self.secret)

    def client_address(self) -> str:
        """The address of the client behind this request (a forwarded one's, as its first shard saw it)."""
        if self.internal():
            return request.headers.get("x-forwarded-for", "unknown")
        return request.remote_addr or "unknown"

    async def send(self, shard: int, method: str | None = None, path: str | None = None,
                   body: bytes | None = None, extra: dict[str, str] | None = None) -> httpx.Response:
        """This request (or ``method`` ``path`` ``body``, with ``extra`` headers) as ``shard`` answers it for itself."""
        headers = [(name, value) for name, value in request.headers.items() if name.lower() not in HOP_BY_HOP]
        headers += [(FORWARDED, self.secret), ("x-forwarded-for", self.client_address()), *(extra or {}).items()]
        for name, value in (("x-forwarded-host", request.host), ("x-forwarded-proto", request.scheme)):
            if name not in request.headers:  # the URL the client reached (a proxy's, if one said so, is kept)
                headers.append((name, value))
        request_id = getattr(request, "everturn_id", None)
        if request_id:
            headers = [(n, v) for n, v in headers if n.lower() != "x-request-id"] + [("x-request-id", request_id)]
        target = path if path is not None else request.full_path if request.query_string else request.path
        content = body if body is not None else await request.get_data()
        self.forwarded += 1
        return await self.client.request(method or request.method, self.peers.url(shard) + target, content=content,
                                         headers=headers)

    async def send_all(self, path: str | None = None, paths: list[str] | None = None,
                       extra: Callable[[int], dict[str, str]] | None = None) -> list[httpx.Response]:
        """This request (to ``path``, or to ``paths[shard]``, with ``extra(shard)`` headers) as every shard
        answers it for itself, in shard order."""
        answers: list[httpx.Response | None] = [None] * self.peers.count
        body = await request.get_data()

        async def one(shard: int) -> None:
            answers[shard] = await self.send(shard, path=paths[shard] if paths else path, body=body,
                                             extra=extra(shard) if extra else None)

        async with trio.open_nursery() as nursery:
            for shard in range(self.peers.count):
                nursery.start_soon(one, shard)
        return answers  # type: ignore[return-value]

    async def to_system(self) -> Response | None:
        """This request as the system shard (0: rulebooks) answers it; None on the system shard itself."""
        return None if self.peers.index == SYSTEM_SHARD else relayed(await self.send(SYSTEM_SHARD))

    async def aclose(self) -> None:
        if self._client is not None:
            await self._client.aclose()


def relayed(answer: httpx.Response) -> Response:
    headers = [(name, value) for name, value in answer.headers.items() if name.lower() not in HOP_BY_HOP]
    return Response(answer.content, status=answer.status_code, headers=headers)



