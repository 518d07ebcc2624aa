"""The actor runtime: supervised, event-sourced trio actors with durable timers.

    async with open_runtime(store, [CampaignKind()]) as runtime:
        ack = await runtime.ask("campaign/7f3a", PostAction(...))

What a caller needs is here; the modules behind it (``system``: the registry, routing,
supervision and passivation; ``cell``: one running actor; ``mailbox``, ``timers``,
``streams``, ``work``, ``clock``, ``metrics``) are the runtime's own.  The contract a kind
implements (``Behavior``, commands, events, ``Decision``) lives beside it, in
``actors.behavior`` and ``actors.messages``, which import neither trio nor RocksDB.
"""
from .cell import recover
from .clock import Clock, SystemClock, TrioClock, VirtualClock, from_ms, now_ms, to_datetime, to_ms
from .streams import BadSince, Published, Resync, Snapshot, Transient
from .config import RuntimeConfig
from .system import Runtime, open_runtime
from .work import Workers

__all__ = [
    "BadSince", "Clock", "Published", "Resync", "Runtime", "RuntimeConfig", "Snapshot", "SystemClock", "Transient",
    "TrioClock", "VirtualClock", "Workers", "from_ms", "now_ms", "open_runtime", "recover", "to_datetime", "to_ms",
]
