"""Monte Carlo encounter estimates: the compiled ``_combat`` when built, else ``combat_ref``.

``EVERTURN_NO_EXTENSIONS=1`` forces the reference; ``COMPILED`` says which one serves.
``estimate`` turns the integer sums of either into probabilities with 95% intervals.
"""
from __future__ import annotations

import math

from .combat_ref import FOES, PARTY, SimFighter, SimStrike
from .compiled import pick

_serving, COMPILED = pick("._combat", ".combat_ref")
simulate = _serving.simulate

Z95 = 1.959963984540054


def estimate(fighters: tuple[SimFighter, ...], fights: int = 10_000, seed: int = 0,
             max_rounds: int = 20) -> dict[str, object]:
    """Play ``fights`` fights; the party's win probability (Wilson interval), expected rounds,
    knockouts and deaths of characters (mean ± a normal 95% interval)."""
    if not 1 <= fights <= 1_000_000:
        raise ValueError("simulate 1 to 1,000,000 fights")
    wins, rounds, rounds2, knocks, knocks2, deaths, deaths2 = simulate(fighters, fights, seed, max_rounds)
    return {
        "fights": fights,
        "seed": seed,
        "win_probability": round(wins / fights, 4),
        "win_probability_ci95": wilson(wins, fights),
        "expected_rounds": mean_ci(rounds, rounds2, fights),
        "expected_knockouts": mean_ci(knocks, knocks2, fights),
        "expected_deaths": mean_ci(deaths, deaths2, fights),
        "compiled": COMPILED,
    }


def wilson(successes: int, n: int) -> list[float]:
    p = successes / n
    centre = (p + Z95 * Z95 / (2 * n)) / (1 + Z95 * Z95 / n)
    half = Z95 * math.sqrt(p * (1 - p) / n + Z95 * Z95 / (4 * n * n)) / (1 + Z95 * Z95 / n)
    return [round(max(0.0, centre - half), 4), round(min(1.0, centre + half), 4)]


def mean_ci(total: int, squares: int, n: int) -> dict[str, object]:
    mean = total / n
    variance = max(0.0, squares / n - mean * mean) * n / (n - 1) if n > 1 else 0.0
    half = Z95 * math.sqrt(variance / n)
    return {"mean": round(mean, 4), "ci95": [round(mean - half, 4), round(mean + half, 4)]}


__all__ = ["COMPILED", "FOES", "PARTY", "SimFighter", "SimStrike", "estimate", "simulate"]
