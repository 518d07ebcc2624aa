"""Monte Carlo encounters, the reference: fights played by the tactics policy on both sides.

The rules are those of :mod:`engine_ext.pf2e` for what a quick fight needs: initiative
(d20 + Perception; on a tie creatures act first), three actions a turn, strikes with the
multiple attack penalty (the first strike is the fighter's first one; later ones prefer an
agile weapon), degrees of success with natural 20 and 1, doubled damage on a critical, a
shield raised with the last action after two attacks, characters dying at 0 HP (dying 1,
or 2 from a critical, plus wounded; a recovery check at the start of each turn; dying 4 is
death) while creatures die at 0, and cowardly creatures fleeing at a quarter of their HP.

Policy: every fighter strikes the enemy with the fewest HP still standing (on a tie the
first in the roster), as long as it has actions and such an enemy exists.

Every die comes from the SplitMix64 stream of ``engine_ext.dice`` (rejection sampled),
read in a fixed order, so ``_combat.pyx`` reproduces every fight exactly; integers only.
"""
from __future__ import annotations

from dataclasses import dataclass

from .dice_ref import Stream
from .pf2e import CRITICAL_SUCCESS, RECOVERY, SUCCESS, degree, multiple_attack_penalty

PARTY, FOES = 0, 1
MAX_FIGHTERS = 32
MAX_STRIKES = 4
MAX_TERMS = 4
DEATH = 4


@dataclass(frozen=True, slots=True)
class SimStrike:
    attack: int
    terms: tuple[tuple[int, int], ...]  # (count, sides) of each dice term
    flat: int = 0
    agile: bool = False


@dataclass(frozen=True, slots=True)
class SimFighter:
    side: int                 # PARTY or FOES
    hp: int
    ac: int
    perception: int
    strikes: tuple[SimStrike, ...]
    shield: bool = False      # raises a shield with its last action after two attacks
    cowardly: bool = False    # flees at a quarter of its HP or less
    character: bool = False   # dying rules instead of dying at 0 HP


def check_roster(fighters: tuple[SimFighter, ...]) -> None:
    if not 2 <= len(fighters) <= MAX_FIGHTERS:
        raise ValueError(f"a simulated fight has 2 to {MAX_FIGHTERS} fighters")
    if {f.side for f in fighters} != {PARTY, FOES}:
        raise ValueError("a simulated fight needs fighters on both sides")
    for f in fighters:
        if f.hp < 1 or len(f.strikes) > MAX_STRIKES or any(len(s.terms) > MAX_TERMS for s in f.strikes):
            raise ValueError(f"fighters need HP >= 1, at most {MAX_STRIKES} strikes of {MAX_TERMS} dice terms")
        for s in f.strikes:
            if any(not (1 <= count <= 100 and 2 <= sides <= 1000) for count, sides in s.terms):
                raise ValueError("dice terms roll 1 to 100 dice of 2 to 1000 faces")


def fight(fighters: tuple[SimFighter, ...], stream: Stream, max_rounds: int) -> tuple[int, int, int, int]:
    """One fight: (party won 0/1, rounds played, characters knocked out, characters dead)."""
    n = len(fighters)
    hp = [f.hp for f in fighters]
    dying = [0] * n
    wounded = [0] * n
    dead = [False] * n
    fled = [False] * n
    raised = [False] * n
    knocked = [False] * n
    initiative = [stream.die(20) + f.perception for f in fighters]
    order = sorted(range(n), key=lambda i: (-initiative[i], 0 if fighters[i].side == FOES else 1, i))

    def standing(i: int) -> bool:
        return not dead[i] and not fled[i] and hp[i] > 0

    def side_standing(side: int) -> bool:
        return any(standing(i) for i in range(n) if fighters[i].side == side)

    def hurt(target: int, damage: int, critical: bool) -> None:
        if hp[target] == 0:                               # a dying character hit again
            dying[target] += 2 if critical else 1
        else:
            hp[target] = max(0, hp[target] - damage)
            if hp[target] == 0:
                if fighters[target].character:
                    knocked[target] = True
                    dying[target] = (2 if critical else 1) + wounded[target]
                else:
                    dead[target] = True
        if fighters[target].character and dying[target] >= DEATH:
            dead[target] = True

    rounds = 0
    over = False
    while rounds < max_rounds and not over:
        rounds += 1
        for i in order:
            if dead[i] or fled[i]:
                continue
            me = fighters[i]
            raised[i] = False
            if hp[i] == 0:                                 # dying: the recovery check, no actions
                if dying[i] > 0:
                    face = stream.die(20)
                    dying[i] = max(0, dying[i] + RECOVERY[degree(face, 10 + dying[i], face)])
                    if dying[i] == 0:
                        wounded[i] += 1
                    elif dying[i] >= DEATH:
                        dead[i] = True
                continue
            if me.cowardly and hp[i] * 4 <= me.hp:
                fled[i] = True
                if not side_standing(me.side):
                    over = True
                    break
                continue
            actions, attacks = 3, 0
            while actions > 0 and me.strikes:
                target, least = -1, 0
                for j in range(n):
                    if fighters[j].side != me.side and standing(j) and (target < 0 or hp[j] < least):
                        target, least = j, hp[j]
                if target < 0:
                    break
                if actions == 1 and me.shield and attacks >= 2:
                    raised[i] = True
                    actions -= 1
                    continue
                chosen = me.strikes[0]
                if attacks > 0:
                    chosen = next((s for s in me.strikes if s.agile), chosen)
                face = stream.die(20)
                total = face + chosen.attack + multiple_attack_penalty(attacks, chosen.agile)
                result = degree(total, fighters[target].ac + (2 if raised[target] else 0), face)
                if result >= SUCCESS:
                    damage = chosen.flat
                    for count, sides in chosen.terms:
                        for _ in range(count):
                            damage += stream.die(sides)
                    damage = max(1, damage) * (2 if result == CRITICAL_SUCCESS else 1)
                    hurt(target, damage, result == CRITICAL_SUCCESS)
                attacks += 1
                actions -= 1
                if not side_standing(fighters[target].side):
                    over = True
                    break
            if over:
                break
        if not side_standing(PARTY) or not side_standing(FOES):
            over = True
    won = 1 if side_standing(PARTY) and not side_standing(FOES) else 0
    pcs = [i for i in range(n) if fighters[i].character]
    return won, rounds, sum(knocked[i] for i in pcs), sum(dead[i] for i in pcs)


def simulate(fighters: tuple[SimFighter, ...], fights: int, seed: int, max_rounds: int = 20) -> tuple[int, ...]:
    """``fights`` fights from one stream: (wins, rounds, rounds², knockouts, knockouts², deaths, deaths²)."""
    check_roster(fighters)
    stream = Stream(seed, 0)
    sums = [0] * 7
    for _ in range(fights):
        won, rounds, knockouts, deaths = fight(fighters, stream, max_rounds)
        sums[0] += won
        sums[1] += rounds
        sums[2] += rounds * rounds
        sums[3] += knockouts
        sums[4] += knockouts * knockouts
        sums[5] += deaths
        sums[6] += deaths * deaths
    return tuple(sums)
