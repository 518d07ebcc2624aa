"""How hard an encounter is: the XP budget (by the tables) and a Monte Carlo estimate.

``budget`` rates creatures and hazards against a party; ``roster`` turns stat blocks into
the simulation's fighters (``engine_ext.combat``).  Pure: the caller runs the simulation
(in a worker thread; the compiled loop releases the GIL).
"""
from __future__ import annotations

from collections import Counter
from typing import Any

from engine_ext import pf2e
from engine_ext.combat import FOES, PARTY, SimFighter, SimStrike

from ..dice import parse
from .state import Stats


def party_level(levels: list[int]) -> int:
    """The party's level: the most common one (the highest of those tied)."""
    if not levels:
        raise ValueError("an encounter needs at least one character")
    counts = Counter(levels)
    top = max(counts.values())
    return max(level for level, count in counts.items() if count == top)


def budget(levels: list[int], creatures: list[int], hazards: list[tuple[int, bool]] = ()) -> dict[str, Any]:
    """XP of each creature and hazard, the total, the threat and what a GM should know."""
    level = party_level(levels)
    size = len(levels)
    warnings: list[str] = []
    items: list[dict[str, Any]] = []
    total = 0
    for creature in creatures:
        xp = pf2e.creature_xp(creature, level)
        if xp is None:
            warnings.append(f"a level {creature} creature is more than 4 levels above the party (level {level}): "
                            f"off the XP table and very likely deadly")
            xp = pf2e.CREATURE_XP[4]
        elif xp == 0:
            warnings.append(f"a level {creature} creature is more than 4 levels below the party: worth no XP")
        items.append({"kind": "creature", "level": creature, "xp": xp})
        total += xp
    for hazard, complex_ in hazards:
        xp = pf2e.hazard_xp(hazard, level, complex_)
        if xp is None:
            warnings.append(f"a level {hazard} hazard is more than 4 levels above the party: off the XP table")
            xp = pf2e.CREATURE_XP[4] if complex_ else pf2e.SIMPLE_HAZARD_XP[4]
        items.append({"kind": "complex hazard" if complex_ else "simple hazard", "level": hazard, "xp": xp})
        total += xp
    threat = pf2e.threat(total, size)
    if threat is None:
        warnings.append(f"{total} XP is beyond an extreme encounter for {size} characters "
                        f"({pf2e.budget('extreme', size)} XP)")
    return {"party_level": level, "party_size": size, "xp": total, "threat": threat or "beyond extreme",
            "budgets": {name: pf2e.budget(name, size) for name in pf2e.THREATS}, "items": items,
            "warnings": warnings}


def sim_strike(stats_strike: Any) -> SimStrike:
    expression = parse(stats_strike.damage)
    if any(sign < 0 for sign, _, _ in expression.dice):
        raise ValueError(f"{stats_strike.name}: the simulation cannot subtract dice ({stats_strike.damage})")
    terms = tuple((count, sides) for _, count, sides in expression.dice)
    if len(terms) > 4:
        raise ValueError(f"{stats_strike.name}: at most 4 dice terms in a simulated strike")
    return SimStrike(stats_strike.attack, terms, expression.flat, stats_strike.agile)


def fighter(stats: Stats, side: int, hp: int | None = None) -> SimFighter:
    return SimFighter(side=side, hp=max(1, stats.max_hp if hp is None else hp), ac=stats.ac,
                      perception=stats.perception, strikes=tuple(sim_strike(s) for s in stats.strikes[:4]),
                      shield=stats.shield, cowardly=stats.tactics == "cowardly", character=side == PARTY)


def roster(party: list[tuple[Stats, int | None]], creatures: list[Stats]) -> tuple[SimFighter, ...]:
    """The party (stat block, current HP) and the creatures as simulated fighters; ValueError if they don't fit."""
    return (*(fighter(stats, PARTY, hp) for stats, hp in party), *(fighter(stats, FOES) for stats in creatures))
