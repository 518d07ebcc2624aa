"""The combat log: an encounter's events as lines a player reads, and one paragraph for the feed.

Pure functions of the state and the events (no I/O, no clock): the encounter page folds the
journal through :func:`lines`, the campaign posts :func:`summary` when a fight ends.  Every
line names combatants (never their cids) and carries the rolls the events hold: the die,
the modifier, the total, the DC or AC and the degree.  An event these functions do not know
(a newer kind, or one with nothing worth reading) gives no line; they never raise on one.
"""
from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from .messages import (
    ActionTaken, Aided, Attack, CombatantRemoved, CombatantRestored, ConditionChanged, ControlChanged, Damaged,
    Delayed, EncounterBegun, EncounterEnded, EscapeSet, FlatChecked, Fled, Healed, Moved, PersistentDamageRolled,
    PersistentSet, Readied, RecoveryRolled, Resumed, TurnEnded, TurnLimitSet, TurnStarted,
)
from .rules import FLAGS, outcome
from .state import Encounter

__all__ = ["damage_dealt", "describe", "ending_text", "lines", "summary"]

STRIKE_DEGREES = {"critical_success": "critical hit", "success": "hit", "failure": "miss",
                  "critical_failure": "critical miss"}
ENDINGS = {"victory": "victory", "defeat": "the party has fallen", "gm": "the GM ended it",
           "nobody_left": "nobody was left to fight", "ended": "it ended"}
WHY = {"victory": "every foe is down or fled", "defeat": "no character could fight on"}


def ending_text(reason: str | None, rounds: int | None = None) -> str:
    """Why an encounter ended, for a person: ``victory``, ``the party has fallen``, ``10 rounds passed``,
    ``the GM ended it``, ``it broke off: <error>``; an unknown reason is shown as it is written.

    ``rounds``: the encounter's round limit, for ``max_rounds``."""
    if not reason:
        return "it ended"
    if reason == "max_rounds":
        return f"{rounds} round{'s' if rounds != 1 else ''} passed" if rounds else "the rounds ran out"
    if reason.startswith("failed"):
        detail = reason.partition(":")[2].strip()
        return f"it broke off: {detail}" if detail else "it broke off"
    return ENDINGS.get(reason, reason.replace("_", " "))


def describe(state: Encounter, event: Any) -> str | None:
    """One line for ``event`` applied to ``state`` (the state just before it), or None when it
    is not worth reading (actions regained, a queued return) or not known."""
    try:
        return _describe(state, event)
    except Exception:  # noqa: BLE001 - a log line is never worth a failed page or a failed post
        return None


def lines(state: Encounter, events: Iterable[Any], evolve: Callable[[Encounter, Any], Encounter]) -> list[str]:
    """The log lines of ``events`` from ``state`` on (``Encounter()`` for the whole journal), in order.

    Folds each event with ``evolve`` (the encounter's own: ``CombatKind().evolve``, which reports
    with this module, so it is given, not imported); an event it cannot apply leaves the state as
    it was."""
    out = []
    for event in events:
        line = describe(state, event)
        if line is not None:
            out.append(line)
        try:
            state = evolve(state, event)
        except Exception:  # noqa: BLE001 - an unknown or impossible event: log what can be logged
            pass
    return out


def summary(state: Encounter, events: Iterable[Any] = (), reason: str | None = None) -> str:
    """One paragraph on a finished (or running) encounter: the outcome and why, the rounds, who
    fell, died, fled or left, and the damage each combatant dealt.

    ``state`` is the encounter's final state.  ``events``: its journal (or any part of it), for
    the damage dealt and the reason; without them the paragraph gives the HP each lost instead.
    ``reason`` overrides the one read from the events or the state."""
    events = list(events)
    reason = (reason or next((e.reason for e in reversed(events) if isinstance(e, EncounterEnded)), None)
              or state.end_reason or (guess_reason(state) if state.ended else None))
    title = f"Encounter {state.n}" if state.n else "The encounter"
    rounds = f"{state.round} round{'s' if state.round != 1 else ''}"
    if state.ended:
        why = WHY.get(reason or "")
        parts = [f"{title} is over after {rounds}: {ending_text(reason, state.max_rounds)}"
                 + (f" ({why})." if why else ".")]
    else:
        parts = [f"{title} goes on, round {state.round}."]
    fates = [fate for fate in (fate_of(state, cid) for cid in state.combatants) if fate]
    if fates:
        parts.append(sentence(fates) + ".")
    dealt = damage_dealt(events)
    if dealt:
        parts.append("Damage dealt: " + ", ".join(f"{name(state, cid)} {amount}" for cid, amount in dealt.items())
                     + ".")
    elif not events:
        lost = {cid: start_hp(state, cid) - f.hp for cid, f in state.fighters.items() if start_hp(state, cid) > f.hp}
        if lost:
            parts.append("HP lost: " + ", ".join(f"{name(state, cid)} {amount}" for cid, amount in lost.items()) + ".")
    return " ".join(parts)


def damage_dealt(events: Iterable[Any]) -> dict[str, int]:
    """Damage each combatant dealt with its strikes (cid -> total), in the order they first hit."""
    dealt: dict[str, int] = {}
    for event in events:
        if isinstance(event, ActionTaken) and event.attack is not None and event.attack.damage:
            dealt[event.cid] = dealt.get(event.cid, 0) + event.attack.damage
    return dealt


def guess_reason(state: Encounter) -> str | None:
    """Why a finished encounter ended, read from its state when no event says so."""
    try:
        found = outcome(state)
    except Exception:  # noqa: BLE001
        found = None
    if found:
        return found
    if state.round >= state.max_rounds:
        return "max_rounds"
    return None


def fate_of(state: Encounter, cid: str) -> str | None:
    """``Bram fell (dying 2)``, ``Goblin died``, ``Goblin fled``; None for who stands."""
    who = name(state, cid)
    fighter = state.fighters.get(cid)
    if fighter is not None:
        if fighter.dead:
            return f"{who} died"
        if fighter.fled:
            return f"{who} fled"
        if fighter.hp <= 0:
            if fighter.dying:
                return f"{who} fell (dying {fighter.dying})"
            return f"{who} fell (unconscious, stable)"
    if cid in state.removed:
        return f"{who} left the fight"
    return None


# -- one event -------------------------------------------------------------------------------

def _describe(state: Encounter, event: Any) -> str | None:
    match event:
        case EncounterBegun():
            order = sorted(event.combatants, key=lambda c: (-(c.initiative or 0), c.player_id is not None, c.name))
            rolled = event.initiative_rolls
            return f"Encounter {event.n} begins. Initiative: " + ", ".join(
                f"{c.name} {c.initiative}" + (f" (d20 {rolled[c.cid]}{c.initiative_modifier:+d})"
                                              if c.cid in rolled else "") for c in order)
        case TurnStarted():
            return f"Round {event.round} — {name(state, event.cid)}'s turn"
        case TurnEnded():
            who = name(state, event.cid)
            if event.how == "skipped":
                return f"The GM skips {who}'s turn."
            if event.how == "auto_skipped":
                return f"{who}'s turn passes: nobody acted in time."
            if event.action:
                return f"{who}: “{event.action}”"
            return None
        case ActionTaken():
            return action_line(state, event)
        case Damaged():
            return damaged_line(state, event)
        case Healed():
            who = name(state, event.cid)
            fighter = state.fighters.get(event.cid)
            line = f"{who} is healed {event.amount} HP ({event.hp}{max_hp_of(state, event.cid)} HP)"
            if fighter is not None and fighter.dying and event.hp > 0:
                line += f", no longer dying (wounded {event.wounded})"
            return line + "."
        case ConditionChanged():
            return condition_line(state, event)
        case RecoveryRolled():
            who = name(state, event.cid)
            result = ("dies" if event.dead else f"stable at 0 HP, wounded {event.wounded}" if event.dying == 0
                      else f"dying {event.dying}")
            return (f"{who} rolls a recovery check: {event.roll} vs DC {event.dc}, {degree(event.degree)} — "
                    f"{result}.")
        case PersistentDamageRolled():
            dice = f" (rolled {faces(event.damage_dice)})" if event.damage_dice else ""
            return (f"{name(state, event.cid)} takes {event.amount} persistent {event.damage_type} damage{dice}; "
                    f"flat check {event.flat} vs DC 15: " + ("it ends." if event.ended else "it goes on."))
        case FlatChecked():
            return (f"{name(state, event.cid)}'s flat check against the persistent {event.damage_type}: "
                    f"{event.flat} vs DC 15, " + ("it ends." if event.ended else "it goes on."))
        case PersistentSet():
            who = name(state, event.cid)
            if not event.dice:
                return f"{who}'s persistent {event.damage_type} damage ends."
            return f"{who} takes persistent {event.damage_type} damage ({event.dice}) at the end of each turn."
        case Fled():
            return f"{name(state, event.cid)} flees the fight."
        case Moved():
            return f"{name(state, event.cid)} moves to {event.zone}."
        case Readied():
            if event.action.get("kind") == "aid":
                return None  # the aid action's own line says it
            what = event.action.get("kind", "an action").replace("_", " ")
            target = event.action.get("target")
            on = f" against {name(state, target)}" if target else ""
            when = f" (when {event.trigger})" if event.trigger else ""
            return f"{name(state, event.cid)} readies a {what}{on}{when}."
        case Aided():
            return f"{name(state, event.cid)}'s next check gets {event.bonus:+d}."
        case Delayed():
            return f"{name(state, event.cid)} delays, keeping {event.actions} action(s)."
        case Resumed():
            return f"{name(state, event.cid)} returns from the delay with {event.actions} action(s)."
        case ControlChanged():
            who = name(state, event.cid)
            return (f"The GM hands {who} to an agent." if event.agent
                    else f"{who} fights by the built-in tactics again.")
        case EscapeSet():
            what = "to shake off sickened" if event.what == "sickened" else "to escape"
            return f"{name(state, event.cid)} needs DC {event.dc} {what}."
        case CombatantRemoved():
            return f"{name(state, event.cid)} leaves the initiative (their player went quiet)."
        case CombatantRestored():
            return f"{name(state, event.cid)} is back in the initiative."
        case TurnLimitSet():
            return f"A turn now waits {hours(event.turn_idle_s)} before it passes."
        case EncounterEnded():
            rounds = f" after {state.round} round{'s' if state.round != 1 else ''}" if state.round else ""
            why = WHY.get(event.reason)
            return (f"Encounter over{rounds}: {ending_text(event.reason, state.max_rounds)}"
                    + (f" ({why})." if why else "."))
    return None


def action_line(state: Encounter, event: ActionTaken) -> str | None:
    who = name(state, event.cid)
    target = name(state, event.target) if event.target else None
    attack = event.attack
    reaction = " as a reaction" if event.cost == 0 and event.kind != "activity" else ""
    match event.kind:
        case "strike":
            weapon = f" with {event.name}" if event.name else ""
            line = f"{who} strikes {target}{weapon}{reaction}"
            if attack is None:
                return line + "."
            result = STRIKE_DEGREES.get(attack.degree, degree(attack.degree))
            if attack.damage:
                kind = damage_type(state, event.cid, event.name)
                result += f", {attack.damage} {kind + ' ' if kind else ''}damage"
                if attack.damage_dice:
                    result += f" (rolled {faces(attack.damage_dice)}" + (", doubled" if attack.degree ==
                                                                          "critical_success" else "") + ")"
            return f"{line} ({roll(attack, 'AC')}): {result}."
        case "demoralize":
            return f"{who} tries to demoralize {target}" + (f" ({roll(attack, 'Will DC')}): {degree(attack.degree)}."
                                                           if attack else ".")
        case "escape":
            return f"{who} tries to escape" + (f" ({roll(attack)}): {degree(attack.degree)}." if attack else ".")
        case "retch":
            return f"{who} retches" + (f" (Fortitude {roll(attack)}): {degree(attack.degree)}." if attack else ".")
        case "aid":
            skill = f" with {event.name}" if event.name else ""
            if attack is None:
                return f"{who} gets ready to aid {target}{skill}."
            return f"{who} aids {target}{skill}{reaction} ({roll(attack)}): {degree(attack.degree)}."
        case "recover":
            return f"{who} works at the persistent damage."
        case "raise_shield":
            return f"{who} raises a shield{reaction}."
        case "take_cover":
            return f"{who} takes cover."
        case "activity":
            cost = f" ({event.cost} action{'s' if event.cost != 1 else ''})"
            text = f": {event.text}" if event.text else ""
            return f"{who} — {event.name or 'an activity'}{cost}{text}"
        case "stride" | "step" | "ready":
            return None  # Moved and Readied say where and what
    if attack is not None:
        return f"{who}: {event.kind.replace('_', ' ')} ({roll(attack)}): {degree(attack.degree)}."
    return f"{who}: {event.kind.replace('_', ' ')}."


def damaged_line(state: Encounter, event: Damaged) -> str:
    """What the damage did (the strike's own line says how much it was)."""
    who = name(state, event.cid)
    before = state.fighters.get(event.cid)
    if event.dead:
        return f"{who} dies."
    if event.hp <= 0:
        if before is not None and before.dying and event.dying:
            return f"{who} takes {event.amount} damage while down: dying {event.dying}."
        if event.dying:
            return f"{who} falls unconscious: dying {event.dying}."
        return f"{who} is at 0 HP."
    return f"{who} is down to {event.hp}{max_hp_of(state, event.cid)} HP."


def condition_line(state: Encounter, event: ConditionChanged) -> str:
    who = name(state, event.cid)
    label = event.name.replace("_", "-")
    if event.value <= 0:
        return f"{who} is no longer {label}."
    return f"{who} is {label}." if event.name in FLAGS else f"{who} is {label} {event.value}."


# -- words -----------------------------------------------------------------------------------

def name(state: Encounter, cid: str | None) -> str:
    combatant = state.combatants.get(cid or "")
    return combatant.name if combatant is not None else (cid or "someone")


def max_hp_of(state: Encounter, cid: str) -> str:
    combatant = state.combatants.get(cid)
    return f"/{combatant.stats.max_hp}" if combatant is not None and combatant.stats is not None else ""


def start_hp(state: Encounter, cid: str) -> int:
    combatant = state.combatants[cid]
    top = combatant.stats.max_hp if combatant.stats is not None else 0
    return top if combatant.hp is None else min(combatant.hp, top)


def damage_type(state: Encounter, cid: str, strike: str | None) -> str:
    combatant = state.combatants.get(cid)
    if combatant is None or combatant.stats is None or not combatant.stats.strikes:
        return ""
    chosen = next((s for s in combatant.stats.strikes if s.name == strike), combatant.stats.strikes[0])
    return "" if chosen.damage_type == "physical" else chosen.damage_type


def roll(attack: Attack, against: str = "DC") -> str:
    """``d20 14 +7 = 21 vs AC 16`` (with the multiple attack penalty when it applied)."""
    penalty = f", MAP {attack.map}" if attack.map else ""
    return f"d20 {attack.d20} {attack.modifier:+d} = {attack.total} vs {against} {attack.dc}{penalty}"


def degree(value: str) -> str:
    return value.replace("_", " ")


def faces(dice: tuple[int, ...]) -> str:
    return " + ".join(str(face) for face in dice)


def hours(seconds: float) -> str:
    if seconds >= 3600 and seconds % 3600 == 0:
        return f"{int(seconds // 3600)} h"
    if seconds >= 60:
        return f"{seconds / 60:.0f} min"
    return f"{seconds:.0f} s"


def sentence(parts: list[str]) -> str:
    text = parts[0] if len(parts) == 1 else ", ".join(parts[:-1]) + " and " + parts[-1]
    return text[0].upper() + text[1:]

