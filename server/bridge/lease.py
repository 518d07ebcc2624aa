"""Which of a world's connected bridges speaks for it: the emitter, on a lease its heartbeats renew.

Several bridges may be connected for one VTT world (each GM's browser runs the module); only the
emitter's events are taken and only it is given commands to carry out, so nothing happens twice.
Every request a bridge makes renews its lease; one silent for ``LEASE_S`` loses it to the next
bridge that asks.  Held in memory: after a restart the first bridge to come back is elected.
"""
from __future__ import annotations

from dataclasses import dataclass, field

LEASE_S = 10.0


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
        self.seen.setdefault(world, {})[instance] = now
        lease = self.leases.get(world)
        if lease is None or lease.until <= now or lease.instance == instance:
            since = lease.since if lease is not None and lease.instance == instance else now
            self.leases[world] = Lease(instance, token_id, now + self.lease_s, since)
            return True
        return False

    def emitter(self, world: str, now: float) -> Lease | None:
        lease = self.leases.get(world)
        return lease if lease is not None and lease.until > now else None

    def connected(self, world: str, now: float) -> list[str]:
        """The instances heard from within a lease's time."""
        return sorted(i for i, at in self.seen.get(world, {}).items() if now - at < self.lease_s)
