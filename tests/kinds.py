"""A small actor kind for runtime tests: a ledger that adds, rejects, crashes and keeps timers."""
from __future__ import annotations

from datetime import timedelta

from actors import (
    Behavior, Cancel, ChildFailed, Command, Context, Decision, Event, Rejected, Schedule, State, Tell,
    TimerFired,
)


class Add(Command):
    amount: int


class Boom(Command):
    """Crashes ``decide`` while ``times`` is above the number of booms already seen."""

    times: int = 1_000_000


class Remind(Command):
    name: str
    after_s: float
    note: str = ""


class Forget(Command):
    name: str


class Forward(Command):
    to: str
    amount: int


class Added(Event):
    amount: int


class Reminded(Event):
    name: str
    timer_id: str
    note: str


class Ledger(State):
    total: int = 0
    history: tuple[int, ...] = ()
    reminders: tuple[str, ...] = ()
    fired_ids: tuple[str, ...] = ()
    failed_children: tuple[str, ...] = ()


class ChildNoted(Event):
    child: str


BOOMS: dict[str, int] = {}


class LedgerKind(Behavior[Ledger]):
    kind = "ledger"
    State = Ledger
    commands = (Add, Boom, Remind, Forget, Forward, TimerFired, ChildFailed)
    events = (Added, Reminded, ChildNoted)
    creates = (Add, Boom, Remind, Forget, Forward)  # any client command starts a ledger

    def decide(self, state: Ledger, command: Command, ctx: Context):
        match command:
            case Add(amount=amount):
                if amount == 0:
                    raise Rejected("ledger/zero", "adding zero changes nothing")
                return [Added(amount=amount)]
            case Boom(times=times):
                seen = BOOMS.get(ctx.address, 0)
                BOOMS[ctx.address] = seen + 1
                if seen < times:
                    raise RuntimeError(f"boom {seen + 1}")
                return []
            case Remind(name=name, after_s=after_s, note=note):
                return Decision(timers=[Schedule(name, after=timedelta(seconds=after_s), payload=note)])
            case Forget(name=name):
                return Decision(timers=[Cancel(name)])
            case Forward(to=to, amount=amount):
                return Decision(events=[Added(amount=-amount)], tells=[Tell(to, Add(amount=amount))])
            case TimerFired(name=name, id=timer_id, payload=note):
                if timer_id in state.fired_ids:
                    return []
                reminded = Reminded(name=name, timer_id=timer_id, note=note or "")
                if note and note.startswith("every "):   # a repeating timer reschedules itself
                    again = Schedule(name, after=timedelta(seconds=float(note.split()[1])), payload=note)
                    return Decision(events=[reminded], timers=[again])
                return [reminded]
            case ChildFailed(child=child):
                return [ChildNoted(child=child)]
        raise AssertionError(command)

    def evolve(self, state: Ledger, event: Event) -> Ledger:
        match event:
            case Added(amount=amount):
                return state.model_copy(update={"total": state.total + amount, "history": (*state.history, amount)})
            case Reminded(name=name, timer_id=timer_id):
                return state.model_copy(update={"reminders": (*state.reminders, name),
                                                "fired_ids": (*state.fired_ids, timer_id)})
            case ChildNoted(child=child):
                return state.model_copy(update={"failed_children": (*state.failed_children, child)})
        raise AssertionError(event)


class SubLedgerKind(LedgerKind):
    """``sub/<parent-id>.<n>`` is supervised by ``ledger/<parent-id>``."""

    kind = "sub"

    def parent(self, address: str) -> str | None:
        return "ledger/" + address.split("/", 1)[1].split(".", 1)[0]
