"""What actors exchange and store: commands, events, decisions, replies.

Commands are imperative (``PostAction``) and validated at the edge; events are past
tense (``ActionPosted``), versioned and stored forever.  Both are frozen pydantic models.
An event class names its ``version``; when its shape changes, bump the version and
teach ``upcast`` to turn older stored data into the current shape.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Callable, ClassVar, Literal

from pydantic import BaseModel, ConfigDict


class Command(BaseModel):
    """Base of every command an actor accepts."""

    model_config = ConfigDict(frozen=True, extra="forbid")


class Internal(Command):
    """A command only the runtime or another actor sends; the HTTP and websocket edge refuse it."""


class Versioned(BaseModel):
    """Stored forever with its ``version``; ``upcast`` reads what older versions wrote."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    version: ClassVar[int] = 1

    @classmethod
    def upcast(cls, version: int, data: dict[str, Any]) -> dict[str, Any]:
        """Turn data stored under an older ``version`` into this version's shape."""
        return data


class Event(Versioned):
    """Base of every journaled event."""


class State(Versioned):
    """Base of actor state, stored in snapshots."""


class TimerFired(Internal):
    """Delivered by the runtime when a durable timer is due.

    Delivery is at least once: after a crash or restart the same ``id`` may arrive again,
    so an actor records the ids it has acted on (in its state) to stay idempotent.
    """

    name: str
    id: str
    due: datetime
    payload: Any = None


class Woken(Internal):
    """Delivered by the runtime when it starts, to every stored actor of a kind that asks for it
    (``Behavior.wake_on_start``): work that was running when the process stopped resumes."""


class ChildFailed(Internal):
    """Delivered to a parent whose child exceeded its restart intensity."""

    child: str
    error: str


@dataclass(frozen=True, slots=True)
class Schedule:
    """Start (or replace) the named durable timer, due ``at`` or ``after`` from now."""

    name: str
    at: datetime | None = None
    after: timedelta | None = None
    payload: Any = None

    def __post_init__(self) -> None:
        if (self.at is None) == (self.after is None):
            raise ValueError(f"timer {self.name!r}: give exactly one of at= or after=")
        _check_timer_name(self.name)


@dataclass(frozen=True, slots=True)
class Cancel:
    """Cancel the named durable timer (no error if it does not exist)."""

    name: str

    def __post_init__(self) -> None:
        _check_timer_name(self.name)


def _check_timer_name(name: str) -> None:
    """Timer names become storage keys: 1-128 characters of valid UTF-8, no NUL."""
    try:
        encoded = name.encode()
    except (UnicodeEncodeError, AttributeError):
        raise ValueError(f"timer name {name!r} is not valid text") from None
    if not 1 <= len(name) <= 128 or b"\x00" in encoded:
        raise ValueError(f"timer name {name!r}: 1 to 128 characters, no NUL")


@dataclass(frozen=True, slots=True)
class Tell:
    """Send ``command`` to ``address`` once this decision is durable."""

    address: str
    command: Command


@dataclass(frozen=True, slots=True)
class Work:
    """Run ``fn(*args)`` off the loop once this decision is durable, then tell the actor
    ``done(result)``, or ``failed(error)`` if it raised (or its worker process crashed:
    ``WorkerCrashed: the training worker process 4242 crashed (killed by SIGSEGV) ...``).

    ``where``: ``thread`` for code of ours that releases the GIL; ``process`` for native
    code we do not control (torch) and pure-Python crunching, with ``fn`` and ``args``
    picklable (``fn`` a module-level function, imported by the worker, not the server);
    ``loop``: ``fn`` is an async function of a service that manages its own threads (the
    narrator).  ``pool`` names a pool of its own (``RuntimeConfig.thread_pools`` or
    ``process_pools``), else the shared threads or processes.  ``timeout_s`` (process work
    only): a worker that has not answered that many seconds after it took the call is killed
    and the actor told ``failed("WorkerTimeout: the policy worker process 4242 did not answer
    within 30 s ...; it was killed")``; None: no limit.  Nothing of it is stored: an actor
    that must finish its work after a restart journals that it started it and starts it
    again when ``Woken`` or when a durable timer of its own fires."""

    fn: Callable[..., Any]
    args: tuple[Any, ...]
    done: Callable[[Any], Command]
    failed: Callable[[str], Command]
    where: Literal["thread", "process", "loop"] = "thread"
    pool: str | None = None
    timeout_s: float | None = None

    def __post_init__(self) -> None:
        if self.timeout_s is not None and (self.where != "process" or not self.timeout_s > 0):
            # a thread cannot be stopped, and the loop's services keep their own deadlines
            raise ValueError(f"timeout_s is for process work, above 0 (got {self.timeout_s} for {self.where})")


@dataclass(slots=True)
class Decision:
    """What ``decide`` returns when it needs more than a list of events.

    ``timers`` are written atomically with ``events``; ``tells`` are sent, ``work`` starts
    and ``reply`` is returned to an ``ask`` only after the write.  ``after``: the state after
    ``events``, when ``decide`` already folded them through ``evolve`` (the runtime then
    takes it instead of folding them again); it must be exactly what that fold gives.
    """

    events: list[Event] = field(default_factory=list)
    timers: list[Schedule | Cancel] = field(default_factory=list)
    tells: list[Tell] = field(default_factory=list)
    reply: Any = None
    work: list[Work] = field(default_factory=list)
    after: Any = None


@dataclass(frozen=True, slots=True)
class Context:
    """What ``decide`` may know beyond state and command: the actor, the time, the sender.

    ``by`` is whoever the edge authenticated (the server's principal: role, subject, bot
    flag), or None for messages from inside the runtime (timers, other actors).
    """

    address: str
    seq: int
    now: datetime
    by: Any = None


@dataclass(frozen=True, slots=True)
class Ack:
    """Default reply to an ``ask``: the command is durable up to journal sequence ``seq``."""

    seq: int
    events: int
