"""``combat/{campaign}.{n}``: turns in initiative order, CAS skips, the idle-turn timer.

Every change of turn is reported to the campaign (``CombatUpdate``), which keeps the post
log and the GM status; the campaign tells the encounter when players act, leave or return.
"""
from __future__ import annotations

from typing import Any, Union

from pydantic import TypeAdapter

from ..behavior import Behavior, planned_timers
from ..campaign.messages import CombatUpdate
from ..errors import Forbidden, Rejected
from ..messages import Command, Context, Decision, Event, Tell, TimerFired
from ..roles import is_gm
from . import log, rules
from .messages import (
    Act, ActionsRegained, ActionTaken, Adjust, AidAction, Aided, BeginEncounter, CombatantRemoved, CombatantRestored,
    ConditionChanged, Control, ControlChanged, Damaged, Delayed, EncounterBegun, EncounterEnded, EndTurn, EscapeSet,
    FlatChecked, Fled, Guarded, Healed, Moved, PersistentDamageRolled, PersistentSet, PlayerActed, React, Readied,
    ReadyAction, RecoveryRolled, RemoveCombatant, RestoreCombatant, Resume, Resumed, ResumeQueued, SetTurnLimit,
    SkipTurn, StopEncounter, TurnEnded, TurnLimitSet, TurnStarted,
)
from .state import Encounter, Fighter

_THEN = ReadyAction.model_fields["then"].annotation
READIED = TypeAdapter(Union[_THEN, AidAction])  # a readied action (or a prepared aid), as stored
EPSILON = 0.001  # timers fire on whole milliseconds
SKIP_REASON = {"skipped": "skip", "auto_skipped": "auto_skip"}  # post reasons in the campaign log
PLAYED = (Act, React, Resume, EndTurn, SkipTurn, Adjust, Control)  # what a player or the GM sends to play the fight


class CombatKind(Behavior[Encounter]):
    kind = "combat"
    State = Encounter
    commands = (Act, React, Resume, Adjust, EndTurn, SkipTurn, Control, BeginEncounter, StopEncounter, RemoveCombatant,
                RestoreCombatant, PlayerActed, SetTurnLimit, TimerFired)
    events = (EncounterBegun, TurnStarted, TurnEnded, CombatantRemoved, CombatantRestored, TurnLimitSet,
              EncounterEnded, ActionTaken, ActionsRegained, Damaged, ConditionChanged, Moved, Guarded, RecoveryRolled,
              PersistentDamageRolled, Fled, ControlChanged, Healed, PersistentSet, FlatChecked, Readied, Aided,
              EscapeSet, Delayed, ResumeQueued, Resumed)

    def parent(self, address: str) -> str | None:
        return f"campaign/{address.split('/', 1)[1].rsplit('.', 1)[0]}"

    def decide(self, state: Encounter, command: Command, ctx: Context) -> Decision:
        now = ctx.now.timestamp()
        if isinstance(command, BeginEncounter):
            if state.begun:
                return Decision()  # a repeated tell: the encounter already runs
            roller = self.roller(ctx, state)
            combatants, rolls = [], {}
            for combatant in command.combatants:  # initiative: d20 + Perception (or a skill), in roster order
                if combatant.initiative is None:
                    rolls[combatant.cid] = roller.die(20)
                    combatant = combatant.model_copy(
                        update={"initiative": rolls[combatant.cid] + combatant.initiative_modifier})
                combatants.append(combatant)
            events: list[Event] = [EncounterBegun(campaign=command.campaign, n=command.n,
                                                  combatants=tuple(combatants), turn_idle_s=command.turn_idle_s,
                                                  max_rounds=command.max_rounds, at=now, initiative_rolls=rolls,
                                                  dice_used=roller.counter)]
            events += self._next_turn(self.replay(state, events), now, self.roller(ctx, state))
        elif not state.begun:
            raise Rejected("combat/not_begun", "this encounter has not begun; start it from its campaign")
        elif state.ended:
            if isinstance(command, PLAYED):
                raise Rejected("combat/ended", "this encounter is over", {"reason": state.end_reason})
            return Decision()
        else:
            events = self._handle(state, command, ctx, now)
        after = self.replay(state, events)
        if after.ended and not state.ended:  # the dying go on with their recovery checks (docs/combat.md)
            settled = rules.aftermath(after, self.roller(ctx, after))
            events, after = [*events, *settled], self.replay(after, settled)
        fired = command.name if isinstance(command, TimerFired) else None
        by = ctx.by or {}
        player = by.get("character") if not is_gm(by) and isinstance(command, PLAYED) else None
        return Decision(events=events, timers=planned_timers(plan(state), plan(after), fired),
                        tells=report(after, events, now, active=(player,) if player else ()))

    @staticmethod
    def roller(ctx: Context, state: Encounter, supplied: tuple[int, ...] | None = None) -> rules.Roller:
        return rules.Roller(ctx.address, state.dice_used, supplied)

    def _handle(self, state: Encounter, command: Command, ctx: Context, now: float) -> list[Event]:
        by = ctx.by or {}
        match command:
            case Act(round=round_, turn=turn, action=action, dice=dice):
                self._may_act(state, by)
                self._same_turn(state, round_, turn)
                if dice is not None and not (is_gm(by) or by.get("role") == "bridge"):
                    raise Forbidden("combat/dice_not_trusted", "only a GM or a bridge submits its own dice")
                roller = self.roller(ctx, state, dice)
                events = rules.act(state, state.current or "", action, roller)
                roller.finish()
                after = self.replay(state, events)
                if action.kind == "delay":  # its turn ends here (the end-of-turn ticks already happened)
                    ended = TurnEnded(round=state.round, turn=state.turn, cid=state.current or "", how="delayed",
                                      at=now)
                    return [*events, ended, *self._next_turn(self.evolve(after, ended), now, roller)]
                ending = rules.outcome(after)
                if ending is not None:
                    events.append(EncounterEnded(reason=ending, at=now))
                return events
            case Adjust():
                if not is_gm(by):
                    raise Forbidden("combat/gm_only", "only the GM (or an operator) adjusts a combatant")
                events = rules.adjust(state, command)
                ending = rules.outcome(self.replay(state, events))
                if ending is not None:
                    events.append(EncounterEnded(reason=ending, at=now))
                return events
            case React(cid=cid, dice=dice):
                combatant, fighter = rules.fighter_of(state, cid)
                if not is_gm(by) and (combatant.player_id is None or by.get("character") != combatant.player_id):
                    raise Forbidden("combat/not_yours", "a player reacts for their own character (the GM for anyone)")
                if dice is not None and not (is_gm(by) or by.get("role") == "bridge"):
                    raise Forbidden("combat/dice_not_trusted", "only a GM or a bridge submits its own dice")
                if state.current == cid:
                    raise Rejected("combat/own_turn", f"it is {combatant.name}'s turn: act, don't react")
                if fighter.readied is None:
                    raise Rejected("combat/nothing_readied", f"{combatant.name} has readied nothing")
                if not fighter.reaction:
                    raise Rejected("combat/no_reaction", f"{combatant.name} has used its reaction this round")
                roller = self.roller(ctx, state, dice)
                events = rules.act(state, cid, READIED.validate_python(fighter.readied), roller, reaction=True)
                roller.finish()
                ending = rules.outcome(self.replay(state, events))
                if ending is not None:
                    events.append(EncounterEnded(reason=ending, at=now))
                return events
            case Resume(cid=cid):
                combatant, fighter = rules.fighter_of(state, cid)
                if not is_gm(by) and (combatant.player_id is None or by.get("character") != combatant.player_id):
                    raise Forbidden("combat/not_yours", "a player returns their own character (the GM anyone)")
                if fighter.delayed is None or fighter.delayed_round != state.round:
                    raise Rejected("combat/not_delaying", f"{combatant.name} is not delaying")
                if state.current is None or state.resuming is not None:
                    raise Rejected("combat/cannot_resume_now", "return at the end of another's turn, one at a time")
                return [ResumeQueued(cid=cid)]
            case Control(cid=cid, agent=agent):
                if not is_gm(by):
                    raise Forbidden("combat/gm_only", "only the GM (or an operator) hands a creature to an agent")
                _, fighter = rules.fighter_of(state, cid)
                if state.combatants[cid].player_id is not None:
                    raise Rejected("combat/not_a_creature", "players run their own characters")
                if fighter.agent == agent:
                    return []
                events: list[Event] = [ControlChanged(cid=cid, agent=agent)]
                if not agent and state.current == cid:  # back to the tactics, on its own turn: it plays now
                    after = self.replay(state, events)
                    roller = self.roller(ctx, after)
                    played = rules.tactics(after, cid, roller, self.replay)
                    events += played
                    events += self._end_turn(self.replay(after, played), now, "tactics", roller)
                return events
            case EndTurn(round=round_, turn=turn):
                self._may_act(state, by)
                self._same_turn(state, round_, turn)
                return self._end_turn(state, now, "ended", self.roller(ctx, state), command.action)
            case SkipTurn(round=round_, turn=turn):
                if not is_gm(by):
                    raise Forbidden("combat/gm_only", "only the GM (or an operator) skips a turn")
                self._same_turn(state, round_, turn)
                return self._end_turn(state, now, "skipped", self.roller(ctx, state))
            case TimerFired():
                due = state.turn_due()
                if due is None or due > now + EPSILON:
                    return []
                return self._end_turn(state, now, "auto_skipped", self.roller(ctx, state))
            case PlayerActed(player_id=player_id, text=text):
                current = state.combatants.get(state.current or "")
                if current is None or current.player_id != player_id:
                    return []  # not their turn (any more): the post stands, the turn is someone else's
                return self._end_turn(state, now, "ended", self.roller(ctx, state), text or None, reported=True)
            case RemoveCombatant(player_id=player_id):
                cid = player_cid(state, player_id)
                if cid is None or cid in state.removed:
                    return []
                events: list[Event] = [CombatantRemoved(cid=cid)]
                if state.current == cid:
                    events.insert(0, TurnEnded(round=state.round, turn=state.turn, cid=cid, how="left", at=now))
                    events += self._next_turn(self.replay(state, events), now, self.roller(ctx, state))
                return events
            case RestoreCombatant(player_id=player_id):
                cid = player_cid(state, player_id)
                if cid is None or cid not in state.removed:
                    return []
                events = [CombatantRestored(cid=cid)]
                if state.current is None:  # nobody could act: the fight resumes with them
                    events += self._next_turn(self.replay(state, events), now, self.roller(ctx, state))
                return events
            case SetTurnLimit(turn_idle_s=limit):
                return [TurnLimitSet(turn_idle_s=limit)] if limit != state.turn_idle_s else []
            case StopEncounter(reason=reason):
                return [EncounterEnded(reason=reason, at=now)]
        raise AssertionError(f"unhandled command {command!r}")

    @staticmethod
    def _may_act(state: Encounter, by: dict[str, Any]) -> None:
        current = state.combatants.get(state.current or "")
        if not is_gm(by) and (current is None or current.player_id is None
                              or by.get("character") != current.player_id):
            raise Forbidden("combat/not_your_turn", "only the combatant whose turn it is (or the GM) acts now")

    @staticmethod
    def _same_turn(state: Encounter, round_: int, turn: int) -> None:
        if (round_, turn) != (state.round, state.turn) or state.current is None:
            raise Rejected("combat/turn_moved", f"round {round_} turn {turn} is over; it is now round "
                           f"{state.round} turn {state.turn}", {"round": state.round, "turn": state.turn,
                                                                "current": state.current})

    def _end_turn(self, state: Encounter, now: float, how: str, roller: rules.Roller, action: str | None = None,
                  reported: bool = False) -> list[Event]:
        """End-of-turn ticks, the turn's end, then the next turn (or the fight's end)."""
        events: list[Event] = rules.end_of_turn(state, state.current or "", roller)
        events.append(TurnEnded(round=state.round, turn=state.turn, cid=state.current or "", how=how, at=now,
                                action=None if reported else action))
        after = self.replay(state, events)
        ending = rules.outcome(after)
        if ending is not None:
            return [*events, EncounterEnded(reason=ending, at=now)]
        return [*events, *self._next_turn(after, now, roller)]

    def _next_turn(self, state: Encounter, now: float, roller: rules.Roller) -> list[Event]:
        """Whoever acts next: the next in order who has not had a turn this round, else a new round.

        The turn starts with its ticks (actions regained, or a dying combatant's recovery
        check); a combatant who cannot act then ends its turn at once.
        """
        events: list[Event] = []
        for _ in range(len(state.combatants) * (state.max_rounds + 1) + 1):
            if state.paused:  # no character left in the fight: nobody plays on against absent players
                return events
            order = state.order()
            back = state.fighters.get(state.resuming or "")
            if back is not None and not back.out and state.had_turn:
                before = state.combatants[state.had_turn[-1]]  # it takes the place right after this one
                started = TurnStarted(round=state.round, turn=state.turn + 1, cid=state.resuming, at=now)
                resumed = Resumed(cid=started.cid, actions=back.delayed or 0, initiative=before.initiative,
                                  tiebreak=before.tiebreak + 1)
                state = self.replay(state, [started, resumed])
                return [*events, started, resumed]
            if not order:
                return events  # nobody can act until someone returns
            waiting = [c for c in order if c.cid not in state.had_turn]
            if waiting:
                started = TurnStarted(round=state.round, turn=state.turn + 1, cid=waiting[0].cid, at=now)
            elif state.round >= state.max_rounds:
                return [*events, EncounterEnded(reason="max_rounds", at=now)]
            else:  # a new round: who delayed through the last one is back in its place
                order = state.model_copy(update={"round": state.round + 1}).order()
                started = TurnStarted(round=state.round + 1, turn=1, cid=order[0].cid, at=now)
            state = self.evolve(state, started)
            ticks = rules.start_of_turn(state, started.cid, roller)
            state = self.replay(state, ticks)
            events += [started, *ticks]
            fighter = state.fighters.get(started.cid)
            how = "out"
            if fighter is None or (fighter.actions > 0 and not fighter.out):
                if not rules.plays_itself(state, started.cid):
                    return events
                played = rules.tactics(state, started.cid, roller, self.replay)
                state = self.replay(state, played)
                events += played
                how = "tactics"
            closing = [*rules.end_of_turn(state, started.cid, roller),
                       TurnEnded(round=state.round, turn=state.turn, cid=started.cid, how=how, at=now)]
            state = self.replay(state, closing)
            events += closing
            ending = rules.outcome(state)
            if ending is not None:
                return [*events, EncounterEnded(reason=ending, at=now)]
        raise AssertionError("no turn could start")

    def evolve(self, state: Encounter, event: Event) -> Encounter:
        match event:
            case EncounterBegun():
                fighters = {c.cid: Fighter(hp=c.stats.max_hp if c.hp is None else min(c.hp, c.stats.max_hp),
                                           zone=c.zone, agent=c.agent, reaction=True,
                                           conditions={k: v for k, v in c.conditions.items()
                                                       if k not in ("dying", "wounded", "doomed")},
                                           dying=c.conditions.get("dying", 0), wounded=c.conditions.get("wounded", 0),
                                           doomed=c.conditions.get("doomed", 0))
                            for c in event.combatants if c.stats is not None}
                return state.model_copy(update={
                    "begun": True, "campaign": event.campaign, "n": event.n, "turn_idle_s": event.turn_idle_s,
                    "max_rounds": event.max_rounds, "round": 1, "turn": 0,
                    "combatants": {c.cid: c for c in event.combatants}, "fighters": fighters,
                    "dice_used": event.dice_used})
            case ActionTaken() | ActionsRegained() | Damaged() | ConditionChanged() | Moved() | Guarded() | \
                    RecoveryRolled() | PersistentDamageRolled() | Fled() | ControlChanged() | Healed() | \
                    PersistentSet() | FlatChecked() | Readied() | Aided() | EscapeSet() | Delayed() | Resumed():
                fighters = {**state.fighters, event.cid: rules.evolve_fighter(state.fighters[event.cid], event)}
                if isinstance(event, Resumed):
                    combatant = state.combatants[event.cid].model_copy(
                        update={"initiative": event.initiative, "tiebreak": event.tiebreak})
                    state = state.model_copy(update={"combatants": {**state.combatants, event.cid: combatant}})
                if isinstance(event, ActionTaken) and event.kind == "demoralize" and event.target in fighters:
                    target = fighters[event.target]
                    fighters[event.target] = target.model_copy(
                        update={"demoralized_by": (*target.demoralized_by, event.cid)})
                dice_used = getattr(event, "dice_used", None)
                update = {"fighters": fighters}
                if dice_used is not None and not getattr(event, "supplied", False):
                    update["dice_used"] = dice_used
                return state.model_copy(update=update)
            case TurnStarted():
                had = state.had_turn if event.round == state.round else ()
                return state.model_copy(update={"round": event.round, "turn": event.turn, "current": event.cid,
                                                "turn_started_at": event.at, "had_turn": (*had, event.cid),
                                                "resuming": None})
            case ResumeQueued(cid=cid):
                return state.model_copy(update={"resuming": cid})
            case TurnEnded():
                update: dict[str, Any] = {"current": None}
                if event.cid in state.fighters:  # the multiple attack penalty resets at the end of the turn
                    update["fighters"] = {**state.fighters, event.cid: state.fighters[event.cid].model_copy(
                        update={"attacks": 0, "actions": 0})}
                if event.how == "auto_skipped":
                    update["auto_skips"] = state.auto_skips + 1
                return state.model_copy(update=update)
            case CombatantRemoved(cid=cid):
                return state.model_copy(update={"removed": (*state.removed, cid)})
            case CombatantRestored(cid=cid):
                return state.model_copy(update={"removed": tuple(c for c in state.removed if c != cid)})
            case TurnLimitSet(turn_idle_s=limit):
                return state.model_copy(update={"turn_idle_s": limit})
            case EncounterEnded():
                return state.model_copy(update={"ended": True, "current": None, "end_reason": event.reason})
        raise AssertionError(f"unknown event {event!r}")


def plan(state: Encounter) -> dict[str, float]:
    due = state.turn_due()
    return {} if due is None else {"turn": due}


def player_cid(state: Encounter, player_id: str) -> str | None:
    return next((c.cid for c in state.combatants.values() if c.player_id == player_id), None)


def report(after: Encounter, events: list[Event], now: float, active: tuple[str, ...] = ()) -> list[Tell]:
    """What the campaign hears: the turn now, who played (``active``: players whose own command this
    was: activity, like a post), what was said and skipped, and the end."""
    if not events or not after.begun:
        return []
    acted: list[tuple[str, str]] = []
    skipped: list[tuple[str, str]] = []
    for event in events:
        if isinstance(event, TurnEnded):
            combatant = after.combatants[event.cid]
            if event.how == "ended" and event.action and combatant.player_id is not None:
                acted.append((combatant.player_id, event.action))
            elif event.how in ("skipped", "auto_skipped"):
                skipped.append((SKIP_REASON[event.how], combatant.name))  # the campaign words it
    current = after.combatants.get(after.current or "")
    update = CombatUpdate(
        n=after.n, round=after.round, turn=after.turn, current=after.current,
        name=current.name if current else None, player_id=current.player_id if current else None,
        turn_started_at=after.turn_started_at, turn_due=after.turn_due(), ended=after.ended,
        reason=next((e.reason for e in events if isinstance(e, EncounterEnded)), None),
        acted=tuple(acted), skipped=tuple(skipped), active=active, paused=after.paused, at=now,
        xp=rules.victory_xp(after) if after.ended else 0,
        characters=rules.character_marks(after) if after.ended else (),
        summary=log.summary(after) if after.ended else None)
    return [Tell(f"campaign/{after.campaign}", update)]
