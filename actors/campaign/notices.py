"""What a table should hear about when nobody is looking: pure functions from a campaign's events.

``notices(before, event, after, now)`` names each notice an event makes: whose turn it is, an
hour left before an idle turn is skipped, a deadline an hour away, a whisper or a mention, the
GM's narration.  Outbound webhooks (``server.webhooks``) deliver them; a notice that waits for
its time (``not_before``) is checked again then with ``still_due``, so a turn already taken or a
deadline already cleared sends nothing.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from ..messages import Event
from .enforcement import SERVER
from .messages import DeadlineSet, EncounterUpdated, Posted
from .state import GM, Campaign

REMIND_BEFORE_S = 3600.0  # "an hour left" before an idle turn is skipped or a deadline lands
KINDS = ("your_turn", "turn_ending", "deadline", "whisper", "mention", "narration")
TABLE = "table"  # a notice for everyone at the table (a shared channel hears it)


@dataclass(frozen=True)
class Notice:
    kind: str                          # one of KINDS
    to: frozenset[str]                 # player ids, GM, or TABLE
    title: str
    text: str
    not_before: float | None = None    # send no earlier (a reminder)
    key: tuple[Any, ...] = field(default=())  # what ``still_due`` checks when a reminder's time comes
    post: int | None = None            # the post it is about (a permalink)


def notices(before: Campaign, event: Event, after: Campaign, now: float) -> list[Notice]:
    """The notices ``event`` (taking ``before`` to ``after``) makes at ``now``."""
    title = after.title or "Everturn"
    match event:
        case EncounterUpdated(encounter=view) if view.player_id is not None and _turn(before) != _turn(after):
            name = _name(after, view.player_id)
            out = [Notice("your_turn", frozenset({view.player_id, TABLE}), title,
                          f"It is {name}'s turn (round {view.round}).")]
            if view.turn_due is not None and view.turn_due - REMIND_BEFORE_S > now:
                out.append(Notice("turn_ending", frozenset({view.player_id, TABLE}), title,
                                  f"An hour left for {name}'s turn: it is skipped after that.",
                                  not_before=view.turn_due - REMIND_BEFORE_S, key=("turn", *_turn(after))))
            return out
        case DeadlineSet(deadline_id=deadline_id, due=due, consequence=consequence) if due - REMIND_BEFORE_S > now:
            return [Notice("deadline", frozenset({TABLE, GM, *after.players}), title,
                           f"An hour left before: {consequence}", not_before=due - REMIND_BEFORE_S,
                           key=("deadline", deadline_id, due))]
        case Posted(post=post) if post.kind == "whisper":
            return [Notice("whisper", frozenset(post.to), title, f"{_author(after, post.author)} whispers: "
                           f"{_short(post.text)}", post=post.n)]
        case Posted(post=post):
            out = []
            if post.kind == "narration" and post.author != SERVER and post.author not in after.players:
                out.append(Notice("narration", frozenset({TABLE, *after.players}), title,
                                  f"{post.speaker or 'The GM'}: {_short(post.text)}", post=post.n))
            mentioned = mentions(after, post.text) - {post.author}
            if mentioned:
                out.append(Notice("mention", frozenset(mentioned), title,
                                  f"{_author(after, post.author)} mentions you: {_short(post.text)}", post=post.n))
            return out
    return []


def still_due(state: Campaign, key: tuple[Any, ...]) -> bool:
    """Whether a reminder made for ``key`` still says something true (the turn is not over, the deadline stands)."""
    match key:
        case ("turn", n, round_, turn):
            return _turn(state) == (n, round_, turn)
        case ("deadline", deadline_id, due):
            deadline = state.deadlines.get(deadline_id)
            return deadline is not None and deadline.due == due
    return True


def mentions(state: Campaign, text: str) -> set[str]:
    """The players a post names with ``@``: their character's first name or their player id."""
    words = {word.lower() for word in re.findall(r"@([\w-]+)", text)}
    if not words:
        return set()
    return {pid for pid, p in state.players.items()
            if pid.lower() in words or p.character.name.split()[0].lower() in words}


def _turn(state: Campaign) -> tuple[int, int, int] | None:
    view = state.encounter
    if view is None or view.player_id is None:
        return None
    return view.n, view.round, view.turn


def _name(state: Campaign, player_id: str) -> str:
    player = state.players.get(player_id)
    return player.character.name if player is not None else player_id


def _author(state: Campaign, author: str) -> str:
    return _name(state, author) if author in state.players else "The GM"


def _short(text: str, width: int = 300) -> str:
    text = " ".join(text.split())
    return text if len(text) <= width else text[:width - 1] + "…"
