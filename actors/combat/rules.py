"""The rules an encounter keeps: actions and their costs, attacks, damage and dying, the
ticks at the start and end of a turn.  Pure: (state, action, dice) -> events.

The numbers come from :mod:`engine_ext.pf2e`; the dice from the encounter's seeded stream
(``engine_ext.dice``), or from a trusted caller who rolled them itself.  Every face read is
stored in the event, so the journal audits every roll and replay never rolls again.
"""
from __future__ import annotations

from typing import Any

from engine_ext import pf2e
from engine_ext.dice_ref import Stream

from ..dice import parse, roll_expression, seed_of
from ..errors import Rejected
from .messages import (
    ActionsRegained, ActionTaken, ActivityAction, Adjust, Aided, AidAction, Attack, ConditionChanged, ControlChanged,
    Damaged, Delayed, DelayAction, DemoralizeAction, EscapeAction, EscapeSet, FlatChecked, Fled, Guarded, Healed,
    Moved, Resumed, RetchAction,
    PersistentDamageRolled, PersistentSet, RaiseShieldAction, Readied, ReadyAction, RecoverAction, RecoveryRolled,
    StepAction, StrideAction, StrikeAction, TakeCoverAction,
)
from .difficulty import party_level
from .state import Combatant, Encounter, Fighter, Stats

COSTS = {"strike": 1, "stride": 1, "step": 1, "raise_shield": 1, "take_cover": 1, "demoralize": 1, "recover": 1,
         "escape": 1, "aid": 1, "ready": 2, "delay": 0, "retch": 1}
FLAGS = {"off_guard", "unconscious", "prone", "grabbed", "restrained"}  # conditions without a value
AID = {pf2e.CRITICAL_SUCCESS: 2, pf2e.SUCCESS: 1, pf2e.FAILURE: 0, pf2e.CRITICAL_FAILURE: -1}
AID_DC = 15
VALUED = {"frightened", "sickened", "clumsy", "enfeebled", "slowed", "stunned"}
CONDITIONS = FLAGS | VALUED
MARKS = {"doomed", "wounded"}  # kept as fields of their own; the GM may set them too


class Roller:
    """Dice for one decision: the encounter's stream from ``dice_used`` on, or the caller's faces."""

    def __init__(self, address: str, counter: int, supplied: tuple[int, ...] | None = None) -> None:
        self.stream = Stream(seed_of(address), counter)
        self.supplied = list(supplied) if supplied is not None else None
        self.read = 0

    @property
    def counter(self) -> int:
        return self.stream.counter

    def die(self, sides: int) -> int:
        if self.supplied is None:
            return self.stream.die(sides)
        if self.read >= len(self.supplied):
            raise Rejected("combat/bad_dice", f"not enough dice: this action reads at least {self.read + 1}")
        face = self.supplied[self.read]
        self.read += 1
        if not 1 <= face <= sides:
            raise Rejected("combat/bad_dice", f"die {self.read} shows {face}, but a d{sides} shows 1 to {sides}")
        return face

    def expression(self, text: str) -> tuple[tuple[int, ...], int]:
        """Roll a dice expression: (every face, the total)."""
        faces, total = roll_expression(parse(text), self.die)
        return tuple(face for term in faces for face in term), total

    def finish(self) -> None:
        if self.supplied is not None and self.read != len(self.supplied):
            raise Rejected("combat/bad_dice", f"{len(self.supplied)} dice given, this action reads {self.read}")

    @property
    def is_supplied(self) -> bool:
        return self.supplied is not None


def adjusted(stats: Stats, adjustment: str) -> Stats:
    """The elite (+2 everywhere, more HP, a higher level) or weak (the mirror) version of a creature."""
    if adjustment == "normal":
        return stats
    if adjustment == "elite":
        level, hp = pf2e.elite(stats.level, stats.max_hp)
        step = pf2e.ADJUSTMENT
    else:
        level, hp = pf2e.weak(stats.level, stats.max_hp)
        step = -pf2e.ADJUSTMENT
    strikes = tuple(s.model_copy(update={"attack": s.attack + step, "damage": f"{s.damage}{step:+d}"})
                    for s in stats.strikes)
    return stats.model_copy(update={
        "level": level, "max_hp": hp, "ac": stats.ac + step, "fortitude": stats.fortitude + step,
        "reflex": stats.reflex + step, "will": stats.will + step, "perception": stats.perception + step,
        "skills": {k: v + step for k, v in stats.skills.items()}, "strikes": strikes})


def sheet_condition(text: str) -> tuple[str, int] | None:
    """``frightened 2`` -> ("frightened", 2), ``off-guard`` -> ("off_guard", 1); None for a blank."""
    words = text.strip().lower().replace("-", "_").split()
    if not words:
        return None
    if len(words) > 1 and words[-1].isdigit():
        return "_".join(words[:-1]), int(words[-1])
    return "_".join(words), 1


def kept_by_rules(text: str) -> bool:
    """Is this sheet condition one the encounter rules track (and write back after a fight)?"""
    parsed = sheet_condition(text)
    return parsed is not None and (parsed[0] in CONDITIONS or parsed[0] in ("dying", "wounded", "dead"))


def conditions_from_text(conditions: tuple[str, ...]) -> dict[str, int]:
    """A character sheet's conditions (``frightened 1``, ``off-guard``) as the rules count them; others are kept
    for the story only."""
    out: dict[str, int] = {}
    for parsed in map(sheet_condition, conditions):
        if parsed is not None and (parsed[0] in CONDITIONS or parsed[0] in MARKS or parsed[0] == "dying"):
            out[parsed[0]] = parsed[1]
    return out


# -- reading the state -------------------------------------------------------------------------

def fighter_of(state: Encounter, cid: str) -> tuple[Combatant, Fighter]:
    combatant = state.combatants.get(cid)
    fighter = state.fighters.get(cid)
    if combatant is None:
        raise Rejected("combat/no_such_combatant", f"no combatant {cid!r} in this encounter")
    if fighter is None or combatant.stats is None:
        raise Rejected("combat/no_stats", f"{combatant.name} has no stat block; the rules cannot run it")
    return combatant, fighter


def statistic(fighter: Fighter, base: int, name: str, extra: list[tuple[str, int]] | None = None) -> int:
    return base + pf2e.stack([*pf2e.condition_modifiers(fighter.conditions, name), *(extra or [])])


def armor_class(combatant: Combatant, fighter: Fighter) -> int:
    guard = [("circumstance", 2)] if fighter.shield_raised or fighter.cover else []
    return statistic(fighter, combatant.stats.ac, "ac", guard)


# -- actions -----------------------------------------------------------------------------------

def act(state: Encounter, cid: str, action: Any, roller: Roller, reaction: bool = False) -> list[Any]:
    """The events of ``cid`` taking ``action`` now (as its reaction: for no action); Rejected if the rules forbid it."""
    combatant, fighter = fighter_of(state, cid)
    cost = 0 if reaction else action.cost if isinstance(action, ActivityAction) else COSTS[action.kind]
    if fighter.out:
        raise Rejected("combat/cannot_act", f"{combatant.name} cannot act (at 0 HP)")
    if cost > fighter.actions:
        raise Rejected("combat/no_actions", f"{combatant.name} has {fighter.actions} action(s) left this turn; "
                       f"{action.kind} costs {cost}", {"actions": fighter.actions, "cost": cost})
    match action:
        case StrikeAction():
            return strike(state, combatant, fighter, action, roller, cost)
        case StrideAction(zone=zone) | StepAction(zone=zone):
            if zone == fighter.zone:
                raise Rejected("combat/same_zone", f"{combatant.name} is already in {zone}")
            return [taken(cid, action.kind, cost, roller), Moved(cid=cid, zone=zone),
                    *([Guarded(cid=cid, shield=fighter.shield_raised, cover=False)] if fighter.cover else [])]
        case RaiseShieldAction():
            return [taken(cid, action.kind, cost, roller), Guarded(cid=cid, shield=True, cover=fighter.cover)]
        case TakeCoverAction():
            return [taken(cid, action.kind, cost, roller), Guarded(cid=cid, shield=fighter.shield_raised, cover=True)]
        case DemoralizeAction():
            return demoralize(state, combatant, fighter, action, roller, cost)
        case RecoverAction(damage_type=damage_type):
            if damage_type not in fighter.persistent:
                raise Rejected("combat/no_persistent_damage", f"{combatant.name} takes no persistent {damage_type}")
            flat = roller.die(20)
            ended = pf2e.degree(flat, pf2e.PERSISTENT_DC, flat) >= pf2e.SUCCESS
            return [taken(cid, action.kind, cost, roller),
                    FlatChecked(cid=cid, damage_type=damage_type, flat=flat, ended=ended, dice_used=roller.counter)]
        case EscapeAction():
            return escape(combatant, fighter, roller, cost)
        case RetchAction():
            sickened = fighter.conditions.get("sickened", 0)
            if not sickened:
                raise Rejected("combat/not_sickened", f"{combatant.name} is not sickened")
            modifier = check(fighter, combatant.stats.fortitude, "fortitude")
            d20 = roller.die(20)
            result = pf2e.degree(d20 + modifier, fighter.sickened_dc, d20)
            attack = Attack(d20=d20, modifier=modifier, total=d20 + modifier, dc=fighter.sickened_dc,
                            degree=pf2e.DEGREES[result])
            drop = {pf2e.CRITICAL_SUCCESS: 2, pf2e.SUCCESS: 1}.get(result, 0)
            return [taken(cid, action.kind, cost, roller, attack=attack),
                    *([ConditionChanged(cid=cid, name="sickened", value=max(0, sickened - drop))] if drop else [])]
        case AidAction():
            if not reaction:  # the preparation: the check comes as a reaction on the ally's turn
                ally, _ = fighter_of(state, action.ally)
                aid_check_possible(combatant, ally, action)
                return [taken(cid, action.kind, cost, roller, target=ally.cid, name=action.skill),
                        Readied(cid=cid, action=action.model_dump(mode="json"), trigger=f"{ally.name} acts")]
            if state.current != action.ally:
                raise Rejected("combat/not_their_turn", "the aid comes on the ally's turn")
            return aid(state, combatant, fighter, action, roller, cost)
        case DelayAction():
            if reaction or fighter.actions != fighter.started_with or fighter.attacks:
                raise Rejected("combat/too_late_to_delay", f"{combatant.name} has acted this turn; delay before acting")
            return [*end_of_turn(state, cid, roller),
                    Delayed(cid=cid, actions=fighter.actions, round=state.round)]
        case ReadyAction(then=then, trigger=trigger):
            return [taken(cid, action.kind, cost, roller, text=trigger),
                    Readied(cid=cid, action=then.model_dump(mode="json"), trigger=trigger)]
        case ActivityAction():
            return [taken(cid, action.kind, cost, roller, name=action.name, text=action.text)]
    raise AssertionError(f"unhandled action {action!r}")


def taken(cid: str, kind: str, cost: int, roller: Roller, **fields: Any) -> ActionTaken:
    return ActionTaken(cid=cid, kind=kind, cost=cost, dice_used=roller.counter, supplied=roller.is_supplied, **fields)


def strike(state: Encounter, combatant: Combatant, fighter: Fighter, action: StrikeAction,
           roller: Roller, cost: int = 1) -> list[Any]:
    strikes = combatant.stats.strikes
    if not strikes:
        raise Rejected("combat/no_strikes", f"{combatant.name} has no strikes")
    chosen = next((s for s in strikes if s.name == action.strike), None) if action.strike else strikes[0]
    if chosen is None:
        raise Rejected("combat/no_such_strike", f"{combatant.name} has no strike {action.strike!r}; "
                       f"one of {', '.join(s.name for s in strikes)}")
    target, defender = fighter_of(state, action.target)
    if defender.dead:
        raise Rejected("combat/target_dead", f"{target.name} is dead")
    if not chosen.ranged and defender.zone != fighter.zone:
        raise Rejected("combat/out_of_reach", f"{target.name} is in {defender.zone}, {combatant.name} in "
                       f"{fighter.zone}: stride there or use a ranged strike")
    penalty = pf2e.multiple_attack_penalty(fighter.attacks, chosen.agile)
    modifier = check(fighter, chosen.attack, "ranged" if chosen.ranged else "melee", [("untyped", penalty)])
    dc = armor_class(target, defender)
    d20 = roller.die(20)
    result = pf2e.degree(d20 + modifier, dc, d20)
    faces: tuple[int, ...] = ()
    damage = 0
    if result >= pf2e.SUCCESS:
        faces, rolled = roller.expression(chosen.damage)
        bonus = 0 if chosen.ranged else pf2e.stack(pf2e.condition_modifiers(fighter.conditions, "damage"))
        damage = max(1, rolled + bonus) * (2 if result == pf2e.CRITICAL_SUCCESS else 1)
    attack = Attack(d20=d20, modifier=modifier, total=d20 + modifier, dc=dc, degree=pf2e.DEGREES[result],
                    map=penalty, damage_dice=faces, damage=damage)
    events: list[Any] = [taken(combatant.cid, "strike", cost, roller, target=target.cid, name=chosen.name,
                               attack=attack)]
    if damage:
        events.append(damaged(target, defender, damage, result == pf2e.CRITICAL_SUCCESS))
    return events


def check(fighter: Fighter, base: int, name: str, extra: list[tuple[str, int]] | None = None) -> int:
    """A check's modifier: the statistic, its conditions, and an ally's Aid (spent by this check)."""
    return statistic(fighter, base, name, [*(extra or []), *([("circumstance", fighter.aid)] if fighter.aid else [])])


def escape(combatant: Combatant, fighter: Fighter, roller: Roller, cost: int) -> list[Any]:
    held = [name for name in ("restrained", "grabbed") if fighter.conditions.get(name)]
    if not held:
        raise Rejected("combat/not_held", f"{combatant.name} is neither grabbed nor restrained")
    skills = combatant.stats.skills
    base = max(skills.get("athletics", 0), skills.get("acrobatics", 0))
    penalty = pf2e.multiple_attack_penalty(fighter.attacks, False)
    modifier = check(fighter, base, "skill", [("untyped", penalty)])
    d20 = roller.die(20)
    result = pf2e.degree(d20 + modifier, fighter.escape_dc, d20)
    attack = Attack(d20=d20, modifier=modifier, total=d20 + modifier, dc=fighter.escape_dc,
                    degree=pf2e.DEGREES[result], map=penalty)
    events: list[Any] = [taken(combatant.cid, "escape", cost, roller, attack=attack)]
    if result >= pf2e.SUCCESS:
        events += [ConditionChanged(cid=combatant.cid, name=name, value=0) for name in held]
    return events


def aid_check_possible(combatant: Combatant, ally: Combatant, action: AidAction) -> None:
    if ally.cid == combatant.cid or (ally.player_id is None) != (combatant.player_id is None):
        raise Rejected("combat/not_an_ally", f"{combatant.name} can only aid an ally, not {ally.name}")
    if action.skill is not None and action.skill not in combatant.stats.skills:
        raise Rejected("combat/unknown_skill", f"{combatant.name} has no skill {action.skill!r}")
    if action.skill is None and not combatant.stats.strikes:
        raise Rejected("combat/no_strikes", f"{combatant.name} names no skill and has no strike to aid with")


def aid(state: Encounter, combatant: Combatant, fighter: Fighter, action: AidAction, roller: Roller,
        cost: int) -> list[Any]:
    ally, _ = fighter_of(state, action.ally)
    aid_check_possible(combatant, ally, action)
    base = combatant.stats.skills[action.skill] if action.skill else combatant.stats.strikes[0].attack
    modifier = check(fighter, base, "skill")
    d20 = roller.die(20)
    result = pf2e.degree(d20 + modifier, AID_DC, d20)
    attack = Attack(d20=d20, modifier=modifier, total=d20 + modifier, dc=AID_DC, degree=pf2e.DEGREES[result])
    return [taken(combatant.cid, "aid", cost, roller, target=ally.cid, name=action.skill, attack=attack),
            Aided(cid=ally.cid, bonus=AID[result])]


def demoralize(state: Encounter, combatant: Combatant, fighter: Fighter, action: DemoralizeAction,
               roller: Roller, cost: int = 1) -> list[Any]:
    target, defender = fighter_of(state, action.target)
    if defender.out:
        raise Rejected("combat/target_out", f"{target.name} is beyond frightening")
    if combatant.cid in defender.demoralized_by:
        raise Rejected("combat/immune", f"{target.name} has already shrugged off {combatant.name}'s threats")
    modifier = check(fighter, combatant.stats.skills.get("intimidation", 0), "skill")
    dc = 10 + statistic(defender, target.stats.will, "will")
    d20 = roller.die(20)
    result = pf2e.degree(d20 + modifier, dc, d20)
    attack = Attack(d20=d20, modifier=modifier, total=d20 + modifier, dc=dc, degree=pf2e.DEGREES[result])
    events: list[Any] = [taken(combatant.cid, "demoralize", cost, roller, target=target.cid, attack=attack)]
    value = {pf2e.SUCCESS: 1, pf2e.CRITICAL_SUCCESS: 2}.get(result, 0)
    if value > defender.conditions.get("frightened", 0):
        events.append(ConditionChanged(cid=target.cid, name="frightened", value=value))
    return events


def damaged(combatant: Combatant, fighter: Fighter, amount: int, critical: bool) -> Damaged:
    """Damage taken: HP down; at 0 a creature dies, a character is dying (worse if already)."""
    hp = max(0, fighter.hp - amount)
    dying, dead = fighter.dying, fighter.dead
    if hp == 0 and not dead:
        if combatant.player_id is None:
            dead = True
        else:
            dying = (pf2e.dying_after_damage(dying, critical) if dying
                     else pf2e.dying_at_zero(critical, fighter.wounded))
            dead = dying >= pf2e.death_threshold(fighter.doomed)
    return Damaged(cid=combatant.cid, amount=amount, critical=critical, hp=hp, dying=dying, dead=dead)


def adjust(state: Encounter, command: Adjust) -> list[Any]:
    """The GM's changes, checked: known conditions with sane values, readable persistent dice."""
    combatant, fighter = fighter_of(state, command.cid)
    if fighter.dead:
        raise Rejected("combat/target_dead", f"{combatant.name} is dead")
    for name, value in command.conditions.items():
        if name not in CONDITIONS | MARKS:
            raise Rejected("combat/unknown_condition",
                           f"no condition {name!r}; one of {', '.join(sorted(CONDITIONS | MARKS))}")
        top = 1 if name in FLAGS else 3 if name in MARKS else 10
        if not 0 <= value <= top:
            raise Rejected("combat/bad_condition_value", f"{name} takes 0 to {top}")
    for damage_type, dice in command.persistent.items():
        if dice:
            try:
                parse(dice)
            except ValueError as exc:
                raise Rejected("combat/bad_dice", f"persistent {damage_type}: {exc}") from exc
    events: list[Any] = []
    if command.damage:
        hurt = damaged(combatant, fighter, command.damage, command.critical)
        events.append(hurt)
        fighter = after_damage(fighter, hurt)
    if command.escape_dc is not None and command.escape_dc != fighter.escape_dc:
        events.append(EscapeSet(cid=combatant.cid, dc=command.escape_dc))
    if command.sickened_dc is not None and command.sickened_dc != fighter.sickened_dc:
        events.append(EscapeSet(cid=combatant.cid, dc=command.sickened_dc, what="sickened"))
    if command.heal and not fighter.dead:
        hp = min(combatant.stats.max_hp, fighter.hp + command.heal)
        events.append(Healed(cid=combatant.cid, amount=command.heal, hp=hp,
                             wounded=fighter.wounded + 1 if fighter.dying else fighter.wounded))
    now = {**fighter.conditions, "doomed": fighter.doomed, "wounded": fighter.wounded}
    events += [ConditionChanged(cid=combatant.cid, name=name, value=value)
               for name, value in sorted(command.conditions.items()) if now.get(name, 0) != value]
    events += [PersistentSet(cid=combatant.cid, damage_type=damage_type, dice=dice)
               for damage_type, dice in sorted(command.persistent.items())
               if fighter.persistent.get(damage_type, "") != dice]
    return events


# -- the built-in tactics -------------------------------------------------------------------------

def plays_itself(state: Encounter, cid: str) -> bool:
    """A creature with a stat block that no agent has taken over: the server plays its turns."""
    fighter = state.fighters.get(cid)
    return fighter is not None and state.combatants[cid].player_id is None and not fighter.agent


def tactics(state: Encounter, cid: str, roller: Roller, replay: Any) -> list[Any]:
    """A creature's whole turn: flee if cowardly and down to a quarter of its HP; else strike the
    weakest enemy it can reach (striding to it when none is in reach), and with the last action
    after two attacks raise its shield if it has one."""
    combatant = state.combatants[cid]
    stats = combatant.stats
    events: list[Any] = []
    while True:
        fighter = state.fighters[cid]
        if fighter.out or fighter.actions <= 0:
            return events
        if stats.tactics == "cowardly" and fighter.hp * 4 <= stats.max_hp:
            return [*events, Fled(cid=cid)]
        enemies = sorted((f.hp, other) for other, f in state.fighters.items()
                         if not f.out and other not in state.removed  # out of the initiative: out of the fight
                         and (state.combatants[other].player_id is None) != (combatant.player_id is None))
        if not enemies or not stats.strikes:
            return events
        if fighter.actions == 1 and stats.shield and fighter.attacks >= 2:
            action: Any = RaiseShieldAction()
        else:
            action = choose_strike(state, combatant, fighter, [other for _, other in enemies])
        step = act(state, cid, action, roller)
        state = replay(state, step)
        events += step
        if outcome(state) is not None:
            return events


def choose_strike(state: Encounter, combatant: Combatant, fighter: Fighter, targets: list[str]) -> Any:
    """The weakest target in reach (the first strike, later an agile one), else stride toward the weakest."""
    strikes = combatant.stats.strikes
    melee = [s for s in strikes if not s.ranged]
    ranged = [s for s in strikes if s.ranged]
    for target in targets:
        near = state.fighters[target].zone == fighter.zone
        usable = (melee or ranged) if near else ranged
        if usable:
            chosen = usable[0]
            if fighter.attacks > 0:
                chosen = next((s for s in usable if s.agile), chosen)
            return StrikeAction(target=target, strike=chosen.name)
    return StrideAction(zone=state.fighters[targets[0]].zone)


# -- the start and the end of a turn -------------------------------------------------------------

def start_of_turn(state: Encounter, cid: str, roller: Roller) -> list[Any]:
    """Regain actions (slowed, stunned), or, dying, roll the recovery check."""
    if cid not in state.fighters:
        return []
    fighter = state.fighters[cid]
    if fighter.dead:
        return []
    if fighter.dying:
        return [recovery_check(cid, fighter, roller)]
    actions, stunned = pf2e.actions_at_start(fighter.conditions.get("slowed", 0), fighter.conditions.get("stunned", 0))
    return [ActionsRegained(cid=cid, actions=0 if fighter.out else actions, stunned=stunned)]


def recovery_check(cid: str, fighter: Fighter, roller: Roller) -> RecoveryRolled:
    """A dying combatant's flat check against DC 10 + dying: dying moves by its degree; at 0 stable
    (wounded one more), at the death threshold dead."""
    face = roller.die(20)
    result, dying = pf2e.recovery_check(face, fighter.dying)
    wounded = fighter.wounded + 1 if dying == 0 else fighter.wounded
    return RecoveryRolled(cid=cid, roll=face, dc=10 + fighter.dying, degree=pf2e.DEGREES[result], dying=dying,
                          wounded=wounded, dead=dying >= pf2e.death_threshold(fighter.doomed), dice_used=roller.counter)


def end_of_turn(state: Encounter, cid: str, roller: Roller) -> list[Any]:
    """Frightened drops by 1; persistent damage hurts, then a DC 15 flat check may end it."""
    if cid not in state.fighters:
        return []
    combatant, fighter = state.combatants[cid], state.fighters[cid]
    if fighter.dead or fighter.resumed:  # back from a delay: these ticks came when it delayed
        return []
    events: list[Any] = []
    if fighter.conditions.get("frightened", 0) > 0:
        events.append(ConditionChanged(cid=cid, name="frightened", value=fighter.conditions["frightened"] - 1))
    for damage_type, dice in sorted(fighter.persistent.items()):
        faces, amount = roller.expression(dice)
        amount = max(1, amount)
        flat = roller.die(20)
        ended = pf2e.degree(flat, pf2e.PERSISTENT_DC, flat) >= pf2e.SUCCESS
        events.append(PersistentDamageRolled(cid=cid, damage_type=damage_type, damage_dice=faces, amount=amount,
                                             flat=flat, ended=ended, dice_used=roller.counter))
        hurt = damaged(combatant, fighter, amount, False)
        events.append(hurt)
        fighter = after_damage(fighter, hurt)
        if fighter.dead:
            break
    return events


# -- evolving a fighter ---------------------------------------------------------------------------

def after_damage(fighter: Fighter, event: Damaged) -> Fighter:
    conditions = dict(fighter.conditions)
    if event.hp == 0:
        conditions["unconscious"] = 1
    return fighter.model_copy(update={"hp": event.hp, "dying": event.dying, "dead": event.dead,
                                      "conditions": conditions})


def evolve_fighter(fighter: Fighter, event: Any) -> Fighter:
    match event:
        case ActionTaken():
            update: dict[str, Any] = {"actions": fighter.actions - event.cost}
            if event.kind in ("strike", "escape"):  # the attack trait: the multiple attack penalty grows
                update["attacks"] = fighter.attacks + 1
            if event.attack is not None and event.kind != "aid":
                update["aid"] = 0                   # an ally's Aid helps one check
            if event.cost == 0 and event.kind != "activity":
                update["reaction"] = False          # taken as a reaction (React)
                update["readied"] = None
            return fighter.model_copy(update=update)
        case FlatChecked(damage_type=damage_type, ended=ended):
            if not ended:
                return fighter
            return fighter.model_copy(update={"persistent": {k: v for k, v in fighter.persistent.items()
                                                             if k != damage_type}})
        case Delayed(actions=actions, round=round_):
            return fighter.model_copy(update={"delayed": actions, "delayed_round": round_, "actions": 0})
        case Resumed(actions=actions):
            return fighter.model_copy(update={"delayed": None, "delayed_round": 0, "actions": actions,
                                              "started_with": actions, "resumed": True})
        case Readied(action=action):
            return fighter.model_copy(update={"readied": action})
        case Aided(bonus=bonus):
            return fighter.model_copy(update={"aid": bonus})
        case EscapeSet(dc=dc, what=what):
            return fighter.model_copy(update={"sickened_dc" if what == "sickened" else "escape_dc": dc})
        case ActionsRegained():
            conditions = {k: v for k, v in fighter.conditions.items() if k != "stunned"}
            if event.stunned > 0:
                conditions["stunned"] = event.stunned
            return fighter.model_copy(update={"actions": event.actions, "reaction": True, "attacks": 0,
                                              "shield_raised": False, "conditions": conditions, "readied": None,
                                              "started_with": event.actions, "delayed": None, "delayed_round": 0,
                                              "resumed": False})
        case Damaged():
            return after_damage(fighter, event)
        case ConditionChanged(name=name, value=value) if name in MARKS:
            return fighter.model_copy(update={name: value})
        case ConditionChanged(name=name, value=value):
            conditions = {k: v for k, v in fighter.conditions.items() if k != name}
            if value > 0:
                conditions[name] = value
            return fighter.model_copy(update={"conditions": conditions})
        case Moved(zone=zone):
            return fighter.model_copy(update={"zone": zone})
        case Guarded(shield=shield, cover=cover):
            return fighter.model_copy(update={"shield_raised": shield, "cover": cover})
        case RecoveryRolled():
            return fighter.model_copy(update={"dying": event.dying, "wounded": event.wounded, "dead": event.dead})
        case Healed(hp=hp, wounded=wounded):
            conditions = fighter.conditions
            if hp > 0:
                conditions = {k: v for k, v in conditions.items() if k != "unconscious"}
            return fighter.model_copy(update={"hp": hp, "wounded": wounded, "dying": 0 if hp > 0 else fighter.dying,
                                              "conditions": conditions})
        case PersistentSet(damage_type=damage_type, dice=dice):
            persistent = {k: v for k, v in fighter.persistent.items() if k != damage_type}
            if dice:
                persistent[damage_type] = dice
            return fighter.model_copy(update={"persistent": persistent})
        case Fled():
            return fighter.model_copy(update={"fled": True, "actions": 0})
        case ControlChanged(agent=agent):
            return fighter.model_copy(update={"agent": agent})
        case PersistentDamageRolled(damage_type=damage_type, ended=ended):
            if not ended:
                return fighter
            return fighter.model_copy(update={"persistent": {k: v for k, v in fighter.persistent.items()
                                                             if k != damage_type}})
    raise AssertionError(f"not a fighter event: {event!r}")


def outcome(state: Encounter) -> str | None:
    """``victory`` when no creature with stats can fight on, ``defeat`` when no character can."""
    sides: dict[bool, list[Fighter]] = {True: [], False: []}
    for cid, fighter in state.fighters.items():
        if cid not in state.removed:  # out of the initiative: neither wins nor loses the fight
            sides[state.combatants[cid].player_id is not None].append(fighter)
    if not sides[True] or not sides[False]:
        return None  # a fight the rules don't run on both sides ends the usual way
    if all(f.out for f in sides[False]):
        return "victory"
    if all(f.out for f in sides[True]):
        return "defeat"
    return None


def aftermath(state: Encounter, roller: Roller) -> list[Any]:
    """The fight is over; a character still dying goes on rolling recovery checks (PF2e's dying
    rules, one check after another) until stable (dying 0: unconscious, wounded one more) or dead.
    Never left dying for good."""
    events: list[Any] = []
    for cid in sorted(state.fighters):
        if state.combatants[cid].player_id is None:
            continue
        for _ in range(2 * pf2e.death_threshold(0) + 8):  # each check moves dying by at least 1
            fighter = state.fighters[cid]
            if fighter.dead or not fighter.dying:
                break
            rolled = recovery_check(cid, fighter, roller)
            events.append(rolled)
            state = state.model_copy(update={"fighters": {**state.fighters, cid: evolve_fighter(fighter, rolled)}})
    return events


def victory_xp(state: Encounter) -> int:
    """XP each character earns for the creatures with stat blocks, by their level against the party's
    (one more than 4 levels above counts as +4)."""
    levels = [c.stats.level for c in state.combatants.values() if c.player_id is not None and c.stats is not None]
    if not levels:
        return 0
    party = party_level(levels)
    total = 0
    for c in state.combatants.values():
        if c.player_id is None and c.stats is not None:
            xp = pf2e.creature_xp(c.stats.level, party)
            total += pf2e.CREATURE_XP[4] if xp is None else xp
    return total


def character_marks(state: Encounter) -> tuple[tuple[str, int, tuple[str, ...]], ...]:
    """What each character takes out of the fight: (player_id, HP, conditions as the sheet writes them).

    The sheet keeps the conditions the rules track, written ``frightened 1`` or ``off-guard``,
    plus ``dying N``, ``wounded N`` and ``dead``; the story-only ones from before the fight
    stay."""
    out = []
    for cid, fighter in state.fighters.items():
        combatant = state.combatants[cid]
        if combatant.player_id is None:
            continue
        words = [name.replace("_", "-") if name in FLAGS else f"{name} {value}"
                 for name, value in sorted(fighter.conditions.items())]
        words += [f"dying {fighter.dying}"] * bool(fighter.dying) + [f"wounded {fighter.wounded}"] * bool(
            fighter.wounded) + ["dead"] * fighter.dead
        out.append((combatant.player_id, fighter.hp, tuple(words)))
    return tuple(out)

