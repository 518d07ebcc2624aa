"""Websocket connections moved to the shard that owns their campaign.

A player's or GM's token is scoped to one campaign, whose shard serves everything that
connection will ask for. When its ``hello`` reaches another shard (every shard accepts on
the one public port), that shard gives the connection away: the socket's file descriptor
goes to the owner over a Unix ``SOCK_SEQPACKET`` socket (``SCM_RIGHTS``), with the hello
and any whole messages received behind it; the owner goes on from the next frame, and the
client sees nothing but its welcome. Only a connection at a frame boundary with nothing
queued to send moves (``EdgeSocket.release``); any other, and an operator's, stays where it
is and reaches other shards' actors through ``server.shards.relay``.
"""
from __future__ import annotations

import array
import logging
import socket as stdlib_socket
from collections.abc import Awaitable, Callable
from typing import Any

import orjson
import trio

from server.edge import Closed, EdgeSocket

from .peers import Peers

log = logging.getLogger("everturn.shards")
MAX_PAYLOAD = 48 * 1024  # a hello and what came behind it; a connection with more stays and relays
_FD_SPACE = stdlib_socket.CMSG_SPACE(array.array("i").itemsize)



class HandedOver(Closed):
    """This process gave the connection to its owner: the session here ends without a word to the client."""


Adopt = Callable[[trio.SocketStream, list[str | bytes]], Awaitable[None]]


class Handoff:
    """This shard's side of moving connections: :meth:`hand_over` sends, :meth:`serve` receives."""

    def __init__(self, peers: Peers) -> None:
        self.peers = peers
        self._links: dict[int, trio.socket.SocketType] = {}
        self._locks: dict[int, trio.Lock] = {}
        self.moved_out = 0
        self.moved_in = 0

    async def hand_over(self, shard: int, socket: Any, first: str) -> bool:
        """Move ``socket`` (after ``first``, the hello it sent) to ``shard``: True once it is the
        other's; False when it cannot move and stays here, unharmed."""
        if not isinstance(socket, EdgeSocket) or len(first) + sum(map(len, socket._messages)) > MAX_PAYLOAD:
            return False
        try:
            link = await self._link(shard)
        except OSError as exc:
            log.warning("shard %d takes no connections now (%s): this one stays here", shard, exc)
            return False
        released = await socket.release()
        if released is None:
            return False
        fd, messages = released
        payload = orjson.dumps([[True, first], *([isinstance(m, str), m if isinstance(m, str) else m.decode("latin-1")]
                                                  for m in messages)])
        try:
            for attempt in (1, 2):  # a link left from before the owner restarted fails once: open it again
                try:
                    async with self._locks[shard]:
                        await link.sendmsg([payload], [(stdlib_socket.SOL_SOCKET, stdlib_socket.SCM_RIGHTS,
                                                        array.array("i", [fd]))])
                    break
                except (OSError, trio.ClosedResourceError) as exc:
                    self._links.pop(shard, None)
                    link.close()
                    if attempt == 2:
                        raise
                    log.info("the link to shard %d broke (%s); opening it again", shard, exc)
                    link = await self._link(shard)
        except (OSError, trio.ClosedResourceError) as exc:  # the owner is gone just now: the client comes again
            log.warning("handing a connection to shard %d failed (%s); it is closed", shard, exc)
            return True
        finally:
            stdlib_socket.close(fd)  # this process's copy; the connection lives on in the owner's
        self.moved_out += 1
        return True

    async def _link(self, shard: int) -> trio.socket.SocketType:
        link = self._links.get(shard)
        if link is None:
            self._locks.setdefault(shard, trio.Lock())
            link = trio.socket.socket(stdlib_socket.AF_UNIX, stdlib_socket.SOCK_SEQPACKET)
            try:
                await link.connect(self.peers.handoff_names[shard])
            except OSError:
                link.close()
                raise
            self._links[shard] = link
        return link

    async def serve(self, adopt: Adopt, sessions: trio.Nursery,
                    task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        """Take the connections siblings hand over, each run by ``adopt`` (stream, messages) in a task of
        ``sessions`` (which outlives this: cancelling it stops taking, not the sessions taken)."""
        listener = trio.socket.from_stdlib_socket(stdlib_socket.socket(fileno=self.peers.handoff_fd))
        async with trio.open_nursery() as links:
            task_status.started()
            with listener:
                while True:
                    link, _ = await listener.accept()
                    links.start_soon(self._receive, link, adopt, sessions)

    async def _receive(self, link: trio.socket.SocketType, adopt: Adopt, nursery: trio.Nursery) -> None:
        with link:
            while True:
                data, ancdata, _, _ = await link.recvmsg(MAX_PAYLOAD * 4 + 1024, _FD_SPACE)
                if not data:
                    return
                fds = array.array("i")
                for level, kind, value in ancdata:
                    if level == stdlib_socket.SOL_SOCKET and kind == stdlib_socket.SCM_RIGHTS:
                        fds.frombytes(value[:len(value) - len(value) % fds.itemsize])
                messages = [text if is_text else text.encode("latin-1") for is_text, text in orjson.loads(data)]
                for fd in fds:
                    stream = trio.SocketStream(trio.socket.from_stdlib_socket(stdlib_socket.socket(fileno=fd)))
                    self.moved_in += 1
                    nursery.start_soon(adopt, stream, messages)

    def close(self) -> None:
        for link in self._links.values():
            link.close()
        self._links.clear()
