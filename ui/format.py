"""Pure helpers that turn server data into what the pages show (tested without a browser)."""
from __future__ import annotations

from datetime import datetime
from typing import Any

from actors.campaign.status import span  # the one wording of a duration, as the API's texts use it

STATUS_COLORS = {"active": "positive", "following": "info", "inactive": "grey", "overdue": "warning",
                 "stale": "negative", "abandoned": "negative", "never_acted": "grey"}
URGENCY_COLORS = {"critical": "negative", "high": "warning", "normal": "primary", "low": "grey"}


def countdown(due: float | None, now: float) -> str:
    """Time left until ``due`` (POSIX seconds), or how long ago it passed; seconds always (it must visibly tick)."""
    if due is None:
        return "—"
    left = due - now
    return f"in {span(left, seconds=True)}" if left >= 0 else f"overdue by {span(-left, seconds=True)}"


def timestamp(value: str | float | None) -> float | None:
    """An ISO-8601 time (as the API writes them) or POSIX seconds → POSIX seconds."""
    if value is None or isinstance(value, (int, float)):
        return value
    return datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp()


def clock_time(at: float) -> str:
    return datetime.fromtimestamp(at).strftime("%Y-%m-%d %H:%M")


def hp_bar(current: int, maximum: int) -> tuple[float, str, str]:
    """(fraction, label, color) of hit points for an HP bar."""
    fraction = 0.0 if maximum <= 0 else max(0.0, min(1.0, current / maximum))
    color = "positive" if fraction > 0.5 else "warning" if fraction > 0.25 else "negative"
    return fraction, f"{current} / {maximum} HP", color


def post_author(post: Any, state: Any) -> str:
    """Who a post is by, as the table sees it: a character's name, the GM, or the server."""
    if post.kind == "action":
        player = state.players.get(post.author)
        return player.character.name if player else post.author
    if post.kind == "narration":
        return "GM" if not post.reason else "The story (server)"
    return "Server"


def narrator_line(post: Any) -> str | None:
    """How the server's narrator made a post: "narrating…", "narrated by smollm2 · 812 ms", "template: timeout"."""
    if post.pending:
        return "narrating…"
    meta = post.meta
    if meta is None or meta.outcome is None:
        return None
    if meta.outcome == "narrated":
        timing = f" · {meta.latency_ms:.0f} ms" if meta.latency_ms is not None else ""
        return f"narrated by {meta.model}{timing}"
    return f"template: {meta.outcome.replace('_', ' ')}"


def roll_line(roll: Any, state: Any) -> str:
    """``Ayla: 1d20+9 = 23 [14] (Stealth)``."""
    who = "GM" if roll.by == "gm" else post_author_name(roll.by, state)
    faces = " ".join("[" + ", ".join(str(f) for f in term) + "]" for term in roll.faces)
    reason = f" ({roll.reason})" if roll.reason else ""
    return f"{who}: {roll.expression} = {roll.total} {faces}{reason}"


def post_author_name(player_id: str, state: Any) -> str:
    player = state.players.get(player_id)
    return player.character.name if player else player_id


def matches(actor: dict[str, Any], text: str, status: str | None) -> bool:
    """The console's filter: ``text`` in the address or last error, and the status if given."""
    if status and actor.get("status") != status:
        return False
    needle = text.strip().lower()
    return not needle or needle in actor["address"].lower() or needle in str(actor.get("last_error") or "").lower()
