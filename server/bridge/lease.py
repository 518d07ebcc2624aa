"""Which of a world's connected bridges speaks for it: the emitter, on a lease its heartbeats renew.

Several bridges may be connected for one VTT world (each GM's browser runs the module); only the
emitter's events are taken and only it is given commands to carry out, so nothing happens twice.
Every request a bridge makes renews its lease (a waiting long-poll and an attached websocket
renew it while they last); one silent for ``LEASE_S`` loses it to the next bridge that asks, one
that says it leaves (a closed websocket) at once.  Held in memory: after a restart the first
bridge to come back is elected.
"""
from __future__ import annotations

from dataclasses import dataclass, field

LEASE_S = 10.0
FORGET_S = 3600.0  # an instance not heard from for this long leaves the listing


@dataclass
class Lease:
    instance: str       # the bridge's instance id (one per connected module)
    token_id: str
    until: float
    since: float


@dataclass
class Emitters:
    lease_s: float = LEASE_S
    leases: dict[str, Lease] = field(default_factory=dict)  # world -> the emitter's lease
    seen: dict[str, dict[str, float]] = field(default_factory=dict)  # world -> instance -> last heard (monotonic)

    def heartbeat(self, world: str, instance: str, token_id: str, now: float) -> bool:
        """``instance`` was heard from at ``now``; True when it is (or has just become) the world's emitter."""
        heard = self.seen.setdefault(world, {})
        heard[instance] = now
        if len(heard) > 1:
            for gone in [i for i, at in heard.items() if now - at > FORGET_S]:
                del heard[gone]
        lease = self.leases.get(world)
        if lease is None or lease.until <= now or lease.instance == instance:
            since = lease.since if lease is not None and lease.instance == instance else now
            self.leases[world] = Lease(instance, token_id, now + self.lease_s, since)
            return True
        return False

    def release(self, world: str, instance: str) -> bool:
        """``instance`` left (its websocket closed): its lease, if it held it, is free at once. True if it did."""
        self.seen.get(world, {}).pop(instance, None)
        lease = self.leases.get(world)
        if lease is not None and lease.instance == instance:
            del self.leases[world]
            return True
        return False

    def emitter(self, world: str, now: float) -> Lease | None:
        lease = self.leases.get(world)
        return lease if lease is not None and lease.until > now else None

    def connected(self, world: str, now: float) -> list[str]:
        """The instances heard from within a lease's time."""
        return sorted(i for i, at in self.seen.get(world, {}).items() if now - at < self.lease_s)
