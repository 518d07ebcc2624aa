"""Rephrasing a cited rules answer with the narrator, one sentence at a time, citations kept by construction.

Each extracted sentence is reworded on its own and its ``[n]`` is put back after it, so no
citation can be lost or invented. A rewording is kept only when it passes the narrator's
checks and keeps every number and dice expression of the original (a rule that loses its
-5 is a different rule); otherwise the original sentence stands.
"""
from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from . import clean
from .model import ModelError

if TYPE_CHECKING:
    from .service import Narrator

SYSTEM = ("You explain tabletop role-playing game rules to players. Rewrite the rule sentence you are given in "
          "plain, simple words as one short sentence. Keep every number, dice expression and game term exactly. "
          "Do not add anything. Write only the sentence.")
MAX_TOKENS = 64
DEADLINE_S = 10.0
_NUMBERS = re.compile(r"\d*d\d+|[+-]?\d+")


def numbers(text: str) -> list[str]:
    return sorted(token.lstrip("+") for token in _NUMBERS.findall(text.lower()))


def acceptable(original: str, rewording: str) -> bool:
    """The rewording may replace ``original``: clean prose, every number kept, not padded out."""
    if clean.check(rewording, min_chars=10) is not None:
        return False
    if len(rewording) > 2 * len(original) + 40:
        return False
    return numbers(rewording) == numbers(original)


async def rephrase(narrator: "Narrator", question: str, result: dict[str, Any]) -> str:
    """The answer's sentences reworded (where the narrator did well), each followed by its ``[n]``.

    Raises ``ModelError`` while the narrator is paused: the extract serves, as templates do for campaigns."""
    if narrator.paused():
        raise ModelError(f"the narrator is paused ({narrator.health.paused_by})")
    out = []
    for sentence in result["sentences"]:
        original = sentence["text"]
        text = original
        try:
            generation = await narrator.generate(
                [{"role": "system", "content": SYSTEM},
                 {"role": "user", "content": f"Question: {question}\nRule: {original}"}],
                max_tokens=MAX_TOKENS, deadline_s=DEADLINE_S)
        except Exception:  # noqa: BLE001 - a failed rewording leaves the rule as written
            generation = None
        if generation is not None and generation.finish != "deadline":
            rewording = clean.clean(generation.text, max_chars=400)
            if acceptable(original, rewording):
                text = rewording
        out.append(f"{text} [{sentence['citation']}]")
    return " ".join(out)
