"""The numbers of PF2e Remaster encounters, as pure integer functions (ORC-licensed mechanics,
our own words, no proper nouns).

Both the encounter actor and the Monte Carlo simulation take their rules from here, so
there is one place to read what a degree of success, the multiple attack penalty, a
recovery check or an XP budget is.  No I/O, no randomness: rolls come in as numbers.
"""
from __future__ import annotations

from collections.abc import Iterable, Mapping

# -- degrees of success ----------------------------------------------------------------

CRITICAL_FAILURE, FAILURE, SUCCESS, CRITICAL_SUCCESS = 0, 1, 2, 3
DEGREES = ("critical_failure", "failure", "success", "critical_success")


def degree(total: int, dc: int, natural: int | None = None) -> int:
    """Beat the DC by 10: critical success; meet it: success; miss by 10: critical failure.

    A natural 20 then raises the result one step and a natural 1 lowers it one step, across
    the critical boundaries too (a natural 20 that misses by 10 is a failure, not a critical
    failure).  ``natural`` is the d20's face, or None for a result with no die.
    """
    if total >= dc + 10:
        result = CRITICAL_SUCCESS
    elif total >= dc:
        result = SUCCESS
    elif total <= dc - 10:
        result = CRITICAL_FAILURE
    else:
        result = FAILURE
    if natural == 20:
        result = min(CRITICAL_SUCCESS, result + 1)
    elif natural == 1:
        result = max(CRITICAL_FAILURE, result - 1)
    return result


# -- the multiple attack penalty ---------------------------------------------------------

def multiple_attack_penalty(attacks_before: int, agile: bool = False) -> int:
    """The penalty on an attack after ``attacks_before`` attacks this turn: 0, -5, -10 (agile: 0, -4, -8)."""
    if attacks_before <= 0:
        return 0
    if attacks_before == 1:
        return -4 if agile else -5
    return -8 if agile else -10


# -- stacking ------------------------------------------------------------------------------

TYPED = ("circumstance", "status", "item")


def stack(modifiers: Iterable[tuple[str, int]]) -> int:
    """The total of typed and untyped modifiers.

    Of each type (circumstance, status, item) only the best bonus and the worst penalty
    count; untyped penalties all count (untyped bonuses too).
    """
    best: dict[str, int] = {}
    worst: dict[str, int] = {}
    untyped = 0
    for kind, value in modifiers:
        if kind not in TYPED:
            if kind != "untyped":
                raise ValueError(f"unknown modifier type {kind!r}; one of {', '.join((*TYPED, 'untyped'))}")
            untyped += value
        elif value > 0:
            best[kind] = max(best.get(kind, 0), value)
        elif value < 0:
            worst[kind] = min(worst.get(kind, 0), value)
    return sum(best.values()) + sum(worst.values()) + untyped


# -- conditions ------------------------------------------------------------------------------

# What each statistic is: conditions hit checks by the ability behind them.
STATISTICS = ("ac", "fortitude", "reflex", "will", "perception", "melee", "ranged", "skill", "dex_skill",
              "str_skill", "damage", "dc")
DEXTERITY_BASED = {"ac", "reflex", "ranged", "dex_skill"}
STRENGTH_BASED = {"melee", "str_skill", "damage"}
CHECKS_AND_DCS = set(STATISTICS) - {"damage"}


def condition_modifiers(conditions: Mapping[str, int], statistic: str) -> list[tuple[str, int]]:
    """The modifiers ``conditions`` ({name: value}; 1 for those without a value) put on ``statistic``.

    Off-guard: -2 circumstance to AC.  Prone: off-guard, and -2 circumstance to attack rolls.
    Unconscious: off-guard, and -4 status to AC, Perception and Reflex."""
    if statistic not in STATISTICS:
        raise ValueError(f"unknown statistic {statistic!r}")
    out: list[tuple[str, int]] = []
    if statistic in CHECKS_AND_DCS:
        for name in ("frightened", "sickened"):
            if conditions.get(name, 0) > 0:
                out.append(("status", -conditions[name]))
    if statistic in DEXTERITY_BASED and conditions.get("clumsy", 0) > 0:
        out.append(("status", -conditions["clumsy"]))
    if statistic in STRENGTH_BASED and conditions.get("enfeebled", 0) > 0:
        out.append(("status", -conditions["enfeebled"]))
    unconscious = conditions.get("unconscious", 0) > 0
    prone = conditions.get("prone", 0) > 0
    if statistic == "ac" and (conditions.get("off_guard", 0) > 0 or unconscious or prone):
        out.append(("circumstance", -2))
    if prone and statistic in ("melee", "ranged"):
        out.append(("circumstance", -2))
    if unconscious and statistic in ("ac", "perception", "reflex"):
        out.append(("status", -4))
    return out


def actions_at_start(slowed: int, stunned: int) -> tuple[int, int]:
    """(actions regained, stunned left) at the start of a turn.

    You regain 3 actions.  Stunned X takes X of them (at most 3) and drops by the number
    taken; slowed X takes X, but actions already lost to stunned count toward it.
    """
    lost_to_stun = min(max(stunned, 0), 3)
    lost_to_slow = max(0, slowed - lost_to_stun)
    return max(0, 3 - lost_to_stun - lost_to_slow), stunned - lost_to_stun


# -- dying -----------------------------------------------------------------------------------

def dying_at_zero(critical: bool, wounded: int) -> int:
    """Knocked to 0 HP: dying 1, or 2 by a critical hit or your own critical failure, plus wounded."""
    return (2 if critical else 1) + wounded


def dying_after_damage(dying: int, critical: bool) -> int:
    """Damage taken while dying: +1, or +2 from a critical hit."""
    return dying + (2 if critical else 1)


def death_threshold(doomed: int) -> int:
    """Dying this high is death: 4, less doomed."""
    return 4 - doomed


RECOVERY = {CRITICAL_SUCCESS: -2, SUCCESS: -1, FAILURE: 1, CRITICAL_FAILURE: 2}


def recovery_check(roll: int, dying: int) -> tuple[int, int]:
    """A recovery check at the start of a dying creature's turn: a flat d20 against 10 + dying.

    Returns (degree, dying after it): critical success -2, success -1, failure +1, critical
    failure +2 (a flat check: the natural 20 and 1 shift it like any check).
    """
    result = degree(roll, 10 + dying, roll)
    return result, max(0, dying + RECOVERY[result])


PERSISTENT_DC = 15
PERSISTENT_DC_HELPED = 10


# -- elite and weak --------------------------------------------------------------------------

def elite(level: int, hp: int) -> tuple[int, int]:
    """(level, HP) of the elite version: level +1 (+2 from -1 or 0); HP by the starting level."""
    new_level = level + 2 if level in (-1, 0) else level + 1
    if level <= 1:
        extra = 10
    elif level <= 4:
        extra = 15
    elif level <= 19:
        extra = 20
    else:
        extra = 30
    return new_level, hp + extra


def weak(level: int, hp: int) -> tuple[int, int]:
    """(level, HP) of the weak version: level -1 (a level 1 creature becomes -1); HP by the starting level."""
    if level < 1:
        raise ValueError(f"a level {level} creature has no weak version (weak needs level 1 or more)")
    new_level = -1 if level == 1 else level - 1
    if level <= 2:
        loss = 10
    elif level <= 5:
        loss = 15
    elif level <= 20:
        loss = 20
    else:
        loss = 30
    return new_level, max(1, hp - loss)


ADJUSTMENT = 2  # elite: +2 to AC, attacks, DCs, saves, Perception, skills and damage; weak: -2


# -- encounter budgets -------------------------------------------------------------------------

THREATS = ("trivial", "low", "moderate", "severe", "extreme")
BUDGET = {"trivial": 40, "low": 60, "moderate": 80, "severe": 120, "extreme": 160}  # for four characters
PER_CHARACTER = {"trivial": 10, "low": 15, "moderate": 20, "severe": 30, "extreme": 40}
CREATURE_XP = {-4: 10, -3: 15, -2: 20, -1: 30, 0: 40, 1: 60, 2: 80, 3: 120, 4: 160}
SIMPLE_HAZARD_XP = {-4: 2, -3: 3, -2: 4, -1: 6, 0: 8, 1: 12, 2: 16, 3: 24, 4: 32}
XP_PER_LEVEL = 1000


def budget(threat: str, party_size: int) -> int:
    """The XP budget of a threat for ``party_size`` characters (the four-character budget, adjusted)."""
    if party_size < 1:
        raise ValueError("a party has at least one character")
    return BUDGET[threat] + (party_size - 4) * PER_CHARACTER[threat]


def creature_xp(creature_level: int, party_level: int) -> int | None:
    """XP of one creature: 0 more than 4 levels below the party, None more than 4 above (off the table)."""
    difference = creature_level - party_level
    if difference < -4:
        return 0
    return CREATURE_XP.get(difference)


def hazard_xp(hazard_level: int, party_level: int, complex_: bool) -> int | None:
    """A complex hazard is worth what a creature of its level is; a simple one a fifth of that."""
    if complex_:
        return creature_xp(hazard_level, party_level)
    difference = hazard_level - party_level
    if difference < -4:
        return 0
    return SIMPLE_HAZARD_XP.get(difference)


def threat(xp: int, party_size: int) -> str | None:
    """The least threat whose budget covers ``xp`` (None: beyond extreme)."""
    for name in THREATS:
        if xp <= budget(name, party_size):
            return name
    return None
