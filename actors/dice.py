"""Dice expressions (``2d6+1d4+3``, ``d20-1``) rolled on the engine's counter-based dice.

Rolled on a seeded ``engine_ext.dice_ref.Stream``, a roll is a pure function of (seed,
position, expression), so ``decide`` can roll and the journal keeps the faces: replay
never rolls again.  Limits keep one roll small: at most 100 dice and 10 terms, faces
2..1000, a flat modifier within ±1000.
"""
from __future__ import annotations

import hashlib
import re
from collections.abc import Callable
from dataclasses import dataclass


MAX_DICE = 100
MAX_TERMS = 10
MAX_SIDES = 1000
MAX_FLAT = 1000
_TERM = re.compile(r"([+-])(\d*)d(\d+)|([+-])(\d+)")


class DiceError(ValueError):
    """The expression is not one we roll; the message says why."""


@dataclass(frozen=True, slots=True)
class Expression:
    dice: tuple[tuple[int, int, int], ...]  # (sign, count, sides)
    flat: int

    @property
    def count(self) -> int:
        return sum(count for _, count, _ in self.dice)


def parse(text: str) -> Expression:
    """``"2d6+3"`` → Expression; raises :class:`DiceError` with the reason."""
    source = text.replace(" ", "").lower()
    if not source:
        raise DiceError("empty dice expression; write e.g. 1d20+7")
    if source[0] not in "+-":
        source = "+" + source
    dice: list[tuple[int, int, int]] = []
    flat, position, terms = 0, 0, 0
    for match in _TERM.finditer(source):
        if match.start() != position:
            break
        position = match.end()
        terms += 1
        if match.group(3) is not None:
            count, sides = int(match.group(2) or 1), int(match.group(3))
            if not 1 <= count <= MAX_DICE:
                raise DiceError(f"{count}d{sides}: roll 1 to {MAX_DICE} dice at a time")
            if not 2 <= sides <= MAX_SIDES:
                raise DiceError(f"{count}d{sides}: dice have 2 to {MAX_SIDES} faces")
            dice.append((1 if match.group(1) == "+" else -1, count, sides))
        else:
            flat += int(match.group(5)) * (1 if match.group(4) == "+" else -1)
    if position != len(source):
        raise DiceError(f"cannot read {text!r} as dice; write terms like 2d6, d20 or 3 joined by + or -")
    if not dice:
        raise DiceError(f"{text!r} rolls no dice; write e.g. 1d20+7")
    if terms > MAX_TERMS:
        raise DiceError(f"at most {MAX_TERMS} terms in one roll")
    if sum(count for _, count, _ in dice) > MAX_DICE:
        raise DiceError(f"at most {MAX_DICE} dice in one roll")
    if abs(flat) > MAX_FLAT:
        raise DiceError(f"the flat modifier must stay within ±{MAX_FLAT}")
    return Expression(tuple(dice), flat)


def seed_of(name: str) -> int:
    """A stable 64-bit seed for an actor (its address): the same on every machine and run."""
    return int.from_bytes(hashlib.sha256(name.encode()).digest()[:8], "little")


def roll_expression(expression: Expression, die: Callable[[int], int]) -> tuple[tuple[tuple[int, ...], ...], int]:
    """Roll every dice term with ``die(sides)`` (a seeded stream's, or a caller's own faces): (faces per term,
    total)."""
    faces: list[tuple[int, ...]] = []
    total = expression.flat
    for sign, count, sides in expression.dice:
        rolled = tuple(die(sides) for _ in range(count))
        faces.append(rolled)
        total += sign * sum(rolled)
    return tuple(faces), total
