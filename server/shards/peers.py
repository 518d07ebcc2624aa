"""One shard process's view of its siblings: who it is, who owns what, how to reach them.

The supervisor (``server.shards.supervisor``) binds every socket before it starts the
shards and hands each process all of them: the public listener they all accept on, and per
shard a private loopback listener (HTTP and ``/ws``: what another shard forwards to it) and
a Unix socket that takes websocket connections handed over (``server.shards.handoff``).
It tells each process who it is in the ``EVERTURN_SHARD`` environment variable (JSON).
"""
from __future__ import annotations

import json
import os
from dataclasses import dataclass

from snapshots.layout import shard_of

ENVIRONMENT = "EVERTURN_SHARD"
SYSTEM_SHARD = 0  # keeps the rulebooks (and indexes them); every shard keeps its campaigns and every token
BACKUP_TARGET = "x-everturn-backup-target"  # where a shard writes its part of a shard set's backup (merge.backup_set)
FORWARDED = "x-everturn-forwarded"  # a request one shard sent another: answer for yourself only


@dataclass(frozen=True)
class Peers:
    index: int                 # this process's shard
    count: int
    public_fd: int             # the listener every shard accepts clients on
    private_fd: int            # this shard's own loopback listener
    private_ports: tuple[int, ...]   # every shard's (127.0.0.1)
    handoff_fd: int            # this shard's handoff listener (a Unix SOCK_SEQPACKET socket)
    handoff_names: tuple[str, ...]   # every shard's (abstract Unix addresses)

    def owner(self, address: str) -> int:
        return shard_of(address, self.count)

    def owns(self, address: str) -> bool:
        return self.owner(address) == self.index

    def url(self, shard: int) -> str:
        return f"http://127.0.0.1:{self.private_ports[shard]}"

    def others(self) -> list[int]:
        return [shard for shard in range(self.count) if shard != self.index]

    def to_env(self) -> str:
        return json.dumps({"index": self.index, "count": self.count, "public_fd": self.public_fd,
                           "private_fd": self.private_fd, "private_ports": list(self.private_ports),
                           "handoff_fd": self.handoff_fd, "handoff_names": list(self.handoff_names)})

    @classmethod
    def from_env(cls) -> Peers | None:
        """This process's place among the shards; None when it was not started as one."""
        raw = os.environ.get(ENVIRONMENT)
        if not raw:
            return None
        value = json.loads(raw)
        return cls(value["index"], value["count"], value["public_fd"], value["private_fd"],
                   tuple(value["private_ports"]), value["handoff_fd"], tuple(value["handoff_names"]))
