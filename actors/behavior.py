"""The contract every actor kind implements: ``decide`` and ``evolve``.

A behaviour is the whole of an actor kind, readable top to bottom: its ``State``, the
``commands`` it accepts, the ``events`` it journals, ``decide`` (command -> events or
``Rejected``) and ``evolve`` (event -> state).  Both are pure and deterministic; the
runtime persists, acknowledges, publishes and schedules.  A kind whose readers may not see
all of it (a strategy game's fog of war) also says what each reader sees: ``projects``,
``project_state`` and ``project_event``; the server applies them on every read path.
"""
from __future__ import annotations

from datetime import datetime, timezone
from typing import Any, ClassVar, Generic, TypeVar

from pydantic import ValidationError

from snapshots import UnknownSchema

from .messages import Cancel, Command, Context, Decision, Event, Schedule, State

S = TypeVar("S", bound=State)


class Behavior(Generic[S]):
    """Subclass per actor kind; set ``kind``, ``State``, ``commands`` and ``events``."""

    kind: ClassVar[str]
    State: ClassVar[type[State]]
    commands: ClassVar[tuple[type[Command], ...]] = ()
    events: ClassVar[tuple[type[Event], ...]] = ()
    snapshot_every: ClassVar[int | None] = None  # None: the runtime's default
    wake_on_start: ClassVar[bool] = False  # True: every stored actor of the kind gets ``Woken`` when the runtime starts
    # modules the kind's process work runs (``Work(where="process")``): the worker processes' forkserver imports
    # them once, so each new worker starts with them loaded; the server itself never imports them
    worker_preload: ClassVar[tuple[str, ...]] = ()
    # the client commands that may bring a new actor of this kind into being (CreateCampaign); any other
    # command, read or subscription naming an actor with nothing stored answers "not found" and activates nothing
    creates: ClassVar[tuple[type[Command], ...]] = ()
    # ``project_event`` reads the state right after the event (a strategy game's view); False: the event
    # alone says what a reader sees (a campaign's whisper), and projected streams keep no state
    projection_reads_state: ClassVar[bool] = True

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        cls._event_types = {ev.__name__: ev for ev in cls.events}

    def initial(self, address: str) -> S:
        """State of an actor that has no events yet."""
        return self.State()  # type: ignore[return-value]

    def decide(self, state: S, command: Command, ctx: Context) -> list[Event] | Decision:
        raise NotImplementedError

    def evolve(self, state: S, event: Event) -> S:
        raise NotImplementedError

    def parent(self, address: str) -> str | None:
        """Address of the actor that supervises ``address`` (None: its kind supervisor)."""
        return None

    def owns(self, address: str, state: S, child: str) -> bool:
        """True when the actor at ``address``, in ``state``, says ``child`` is one of its own.

        Scoped tokens reach a campaign's children through this stored relation, never
        through a name prefix.
        """
        return False

    # -- what a reader may see ---------------------------------------------------------

    def projects(self, viewer: dict[str, Any] | None) -> bool:
        """True when ``viewer`` (a principal as ``ctx.by`` has it) may see less than the whole state.

        The server asks this once per read or subscription; only then does it call the two
        projections below, in place of the state and the events as they are.  Default:
        every reader sees everything.
        """
        return False

    def project_state(self, state: S, viewer: dict[str, Any] | None) -> dict[str, Any]:
        """The state as ``viewer`` may see it, JSON-ready."""
        return state.model_dump(mode="json")

    def project_event(self, state: S | None, event: Event, viewer: dict[str, Any] | None) -> dict[str, Any] | None:
        """``event``'s data as ``viewer`` may see it, or None when it sees the event as it is (then the frame
        every reader shares is sent); ``state`` is the state right after the event (None unless
        ``projection_reads_state``)."""
        return None

    # -- storage form of events and state ------------------------------------------

    def dump_event(self, event: Event) -> dict[str, Any]:
        return {"t": type(event).__name__, "v": type(event).version, "d": event.model_dump(mode="json")}

    def load_event(self, stored: dict[str, Any]) -> Event:
        """Rebuild a journaled event, upcasting older versions; raises ``UnknownSchema``."""
        cls = self._event_types.get(stored["t"])
        if cls is None:
            raise UnknownSchema(f"{self.kind}: unknown event type {stored['t']!r}")
        data, version = stored["d"], stored["v"]
        if version > cls.version:
            raise UnknownSchema(f"{self.kind}: {stored['t']} v{version} is newer than this code (v{cls.version})")
        if version < cls.version:
            data = cls.upcast(version, data)
        return cls.model_validate(data)

    def dump_state(self, state: S) -> dict[str, Any]:
        return {"v": self.State.version, "s": state.model_dump(mode="json")}

    def load_state(self, stored: dict[str, Any]) -> S:
        data, version = stored["s"], stored["v"]
        if version > self.State.version:
            raise UnknownSchema(f"{self.kind}: state v{version} is newer than this code (v{self.State.version})")
        if version < self.State.version:
            data = self.State.upcast(version, data)
        try:
            return self.State.model_validate(data)  # type: ignore[return-value]
        except ValidationError as exc:
            raise UnknownSchema(f"{self.kind}: stored state does not validate: {exc}") from exc

    def replay(self, state: S, events: list[Event]) -> S:
        for event in events:
            state = self.evolve(state, event)
        return state


def planned_timers(before: dict[str, float], after: dict[str, float], fired: str | None) -> list[Schedule | Cancel]:
    """Timer changes that take an actor from one plan (timer name -> due, POSIX seconds) to the next.

    Kinds whose timers follow from their state compute a plan before and after each
    decision: what is new or moved is scheduled, what is gone is cancelled, and ``fired``
    (the timer being handled, no longer stored) is scheduled again if still planned.
    """
    changes: list[Schedule | Cancel] = [
        Schedule(name, at=datetime.fromtimestamp(due, tz=timezone.utc))
        for name, due in sorted((name, due) for name, due in after.items() if name == fired or before.get(name) != due)]
    changes.extend(Cancel(name) for name in sorted(name for name in before if name not in after and name != fired))
    return changes
