"""The actor runtime: supervised, event-sourced trio actors with durable timers.

    async with open_runtime(store, [CampaignBehavior()]) as runtime:
        ack = await runtime.ask("campaign/7f3a", PostAction(...))
"""
from .address import parse as parse_address
from .behavior import Behavior
from .clock import Clock, SystemClock, TrioClock, VirtualClock
from .errors import (
    ActorCorrupt, ActorCrashed, ActorError, ActorHalted, ActorStopped, AskTimeout, Forbidden, InvalidAddress,
    InvariantViolation, Overloaded, Rejected, StorageDown, UnknownKind, WorkerCrashed, WorkerTimeout,
)
from .messages import (
    Ack, Cancel, ChildFailed, Command, Context, Decision, Event, Internal, Schedule, State, Tell, TimerFired, Woken,
    Work,
)
from .runtime import Runtime, RuntimeConfig, open_runtime
from .streams import BadSince, Published, Resync, Snapshot, Transient
from .work import Workers

__all__ = [
    "Ack", "ActorCorrupt", "ActorCrashed", "BadSince", "Published", "Resync", "Snapshot", "Transient", "ActorError",
    "ActorHalted", "ActorStopped", "AskTimeout", "Behavior", "Cancel", "ChildFailed",
    "Clock", "Command", "Context", "Decision", "Event", "Forbidden", "Internal", "InvalidAddress", "InvariantViolation", "Overloaded",
    "Rejected", "Runtime", "RuntimeConfig", "Schedule", "State", "StorageDown", "SystemClock", "Tell", "TimerFired",
    "TrioClock", "UnknownKind", "VirtualClock", "Woken", "Work", "WorkerCrashed", "WorkerTimeout", "Workers", "open_runtime",
    "parse_address",
]
