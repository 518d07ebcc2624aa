"""Everturn's actors: the contract every kind implements, the kinds, and (``actors.runtime``) the runtime.

    async with open_runtime(store, [CampaignKind()]) as runtime:
        ack = await runtime.ask("campaign/7f3a", PostAction(...))

The contract (``Behavior``, commands, events, ``Decision``, the errors a caller is told) is
imported here at once and needs neither trio nor RocksDB, so the UI, training and exports
that only fold events stay light.  The runtime's names (``Runtime``, ``open_runtime``, the
clocks, ``Workers``, stream items) are loaded from ``actors.runtime`` the first time one is
asked for.
"""
from importlib import import_module
from typing import Any

from .address import parse as parse_address
from .behavior import Behavior
from .errors import (
    ActorCorrupt, ActorCrashed, ActorError, ActorHalted, ActorStopped, AskTimeout, Forbidden, InvalidAddress,
    InvariantViolation, Overloaded, Rejected, StorageDown, UnknownKind, WorkerCrashed, WorkerTimeout,
)
from .messages import (
    Ack, Cancel, ChildFailed, Command, Context, Decision, Event, Internal, Schedule, State, Tell, TimerFired, Woken,
    Work,
)

_RUNTIME = {"BadSince", "Clock", "Published", "Resync", "Runtime", "RuntimeConfig", "Snapshot", "SystemClock",
            "Transient", "TrioClock", "VirtualClock", "Workers", "open_runtime"}


def __getattr__(name: str) -> Any:
    if name in _RUNTIME:
        return getattr(import_module(".runtime", __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [
    "Ack", "ActorCorrupt", "ActorCrashed", "ActorError", "ActorHalted", "ActorStopped", "AskTimeout", "BadSince",
    "Behavior", "Cancel", "ChildFailed", "Clock", "Command", "Context", "Decision", "Event", "Forbidden", "Internal",
    "InvalidAddress", "InvariantViolation", "Overloaded", "Published", "Rejected", "Resync", "Runtime", "RuntimeConfig",
    "Schedule", "Snapshot", "State", "StorageDown", "SystemClock", "Tell", "TimerFired", "Transient", "TrioClock",
    "UnknownKind", "VirtualClock", "Woken", "Work", "WorkerCrashed", "WorkerTimeout", "Workers", "open_runtime",
    "parse_address",
]
