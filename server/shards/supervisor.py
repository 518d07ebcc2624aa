"""``everturn serve --shards N``: N shard processes behind one port, started and kept running here.

The supervisor binds every socket once and hands all of them to every shard (inherited file
descriptors, named in ``EVERTURN_SHARD``: ``server.shards.peers``): the public listener, on
which every shard accepts (the kernel gives each new connection to one of them), and per
shard a private loopback listener and a handoff socket. Because the supervisor holds them, a
shard that dies (a crash, an OOM kill) is started again on the same sockets while the others
go on serving; clients of the dead one reconnect and resume. It gives the shards one secret
(``EVERTURN_SHARD_SECRET``) that marks what they send each other, makes the first operator
token (on every shard) for a new data directory, and on SIGINT/SIGTERM stops them all, each
draining its actors as a lone server does.
"""
from __future__ import annotations

import logging
import os
import secrets
import signal
import socket
import sys
from dataclasses import dataclass, field

import httpx
import trio

from snapshots import Store
from snapshots.layout import Layout

from ..auth import Tokens, create_everywhere
from .peers import ENVIRONMENT, Peers

log = logging.getLogger("everturn.shards")
SECRET_ENVIRONMENT = "EVERTURN_SHARD_SECRET"
BACKLOG = 2048
START_TIMEOUT_S = 300.0  # a shard loads its narrator's models before it listens
STOP_TIMEOUT_S = 60.0
RESTART_DELAYS_S = (0.5, 1.0, 2.0, 5.0, 10.0, 30.0)
STABLE_AFTER_S = 60.0  # a shard that ran this long starts its restart delays over


@dataclass
class Sockets:
    public: socket.socket
    private: list[socket.socket]
    handoff: list[socket.socket]
    names: list[str]

    @classmethod
    def bind(cls, host: str, port: int, count: int) -> Sockets:
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        public = socket.socket(family, socket.SOCK_STREAM)
        public.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        public.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        public.bind((host, port))
        public.listen(BACKLOG)
        private, handoff, names = [], [], []
        tag = f"everturn-{os.getpid()}-{secrets.token_hex(4)}"
        for index in range(count):
            own = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            own.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            own.bind(("127.0.0.1", 0))
            own.listen(BACKLOG)
            private.append(own)
            name = f"\0{tag}-{index}"  # abstract: no file to clean up, gone with the last holder
            link = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
            link.bind(name)
            link.listen(64)
            handoff.append(link)
            names.append(name)
        for sock in (public, *private, *handoff):
            sock.set_inheritable(True)
        return cls(public, private, handoff, names)

    def peers(self, index: int) -> Peers:
        return Peers(index, len(self.private), self.public.fileno(), self.private[index].fileno(),
                     tuple(s.getsockname()[1] for s in self.private), self.handoff[index].fileno(), tuple(self.names))

    def fds(self) -> tuple[int, ...]:
        return tuple(sock.fileno() for sock in (self.public, *self.private, *self.handoff))

    def url(self) -> str:
        host, port = self.public.getsockname()[:2]
        return f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"

    def close(self) -> None:
        for sock in (self.public, *self.private, *self.handoff):
            sock.close()


def first_token(layout: Layout) -> str | None:
    """A new data directory's first operator token, on every shard (shown once); None when tokens exist."""
    stores = [Store.open(path) for path in layout.dirs()]
    try:
        if any(Tokens(store).any() for store in stores):
            return None
        return create_everywhere(stores, "operator")[0]
    finally:
        for store in stores:
            store.close()


@dataclass
class Supervisor:
    layout: Layout
    command: list[str]  # a shard's command line (``everturn serve ...`` for one shard of this layout)
    sockets: Sockets
    secret: str = field(default_factory=lambda: secrets.token_urlsafe(32))
    stopping: bool = False
    processes: dict[int, trio.Process] = field(default_factory=dict)
    restarts: int = 0

    def environment(self, index: int) -> dict[str, str]:
        return {**os.environ, ENVIRONMENT: self.sockets.peers(index).to_env(), SECRET_ENVIRONMENT: self.secret}

    async def run(self, task_status: trio.TaskStatus[str] = trio.TASK_STATUS_IGNORED) -> None:
        """Start every shard, report the public URL once all answer, keep them running until :meth:`stop`."""
        async with trio.open_nursery() as nursery:
            for index in range(self.layout.count):
                await self._spawn(index)
            await self._wait_live()
            task_status.started(self.sockets.url())
            for index in range(self.layout.count):
                nursery.start_soon(self._keep, index)

    async def _spawn(self, index: int) -> None:
        self.processes[index] = await trio.lowlevel.open_process(
            self.command, env=self.environment(index), pass_fds=self.sockets.fds())

    async def _wait_live(self) -> None:
        ports = [sock.getsockname()[1] for sock in self.sockets.private]
        async with httpx.AsyncClient(timeout=2) as client:
            with trio.fail_after(START_TIMEOUT_S):
                for index, port in enumerate(ports):
                    while True:
                        if self.processes[index].returncode is not None:
                            raise RuntimeError(f"shard {index} exited with code {self.processes[index].returncode} "
                                               "as it started (its log is above)")
                        try:
                            if (await client.get(f"http://127.0.0.1:{port}/health/live")).status_code == 200:
                                break
                        except httpx.HTTPError:
                            pass
                        await trio.sleep(0.1)

    async def _keep(self, index: int) -> None:
        """Start shard ``index`` again whenever it ends while the server is not stopping."""
        failures = 0
        while True:
            started = trio.current_time()
            code = await self.processes[index].wait()
            if self.stopping:
                return
            failures = 0 if trio.current_time() - started > STABLE_AFTER_S else failures + 1
            delay = RESTART_DELAYS_S[min(failures, len(RESTART_DELAYS_S) - 1)]
            print(f"everturn: shard {index} exited (code {code}); starting it again in {delay:g} s; the other shards "
                  "go on", file=sys.stderr, flush=True)
            await trio.sleep(delay)
            if self.stopping:
                return
            self.restarts += 1
            await self._spawn(index)

    async def stop(self) -> None:
        """SIGTERM to every shard (each drains its actors), then wait; SIGKILL past :data:`STOP_TIMEOUT_S`."""
        self.stopping = True
        for process in self.processes.values():
            if process.returncode is None:
                process.send_signal(signal.SIGTERM)
        with trio.move_on_after(STOP_TIMEOUT_S):
            for process in self.processes.values():
                await process.wait()
        for index, process in self.processes.items():
            if process.returncode is None:
                print(f"everturn: shard {index} did not stop within {STOP_TIMEOUT_S:g} s; killed", file=sys.stderr,
                      flush=True)
                process.kill()
                await process.wait()

