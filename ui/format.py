"""Pure helpers that turn server data into what the pages show (tested without a browser)."""
from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any
from zoneinfo import ZoneInfo

from actors.campaign.enforcement import SERVER
from actors.campaign.posts import visible
from actors.campaign.status import span  # the one wording of a duration, as the API's texts use it
from actors.roles import is_gm

STATUS_COLORS = {"active": "positive", "following": "info", "inactive": "grey", "overdue": "warning",
                 "stale": "negative", "abandoned": "negative", "never_acted": "grey"}
URGENCY_COLORS = {"critical": "negative", "high": "warning", "normal": "primary", "low": "grey"}


def countdown(due: float | None, now: float) -> str:
    """Time left until ``due`` (POSIX seconds), or how long ago it passed; seconds always (it must visibly tick)."""
    if due is None:
        return "—"
    left = due - now
    return f"in {span(left, seconds=True)}" if left >= 0 else f"overdue by {span(-left, seconds=True)}"


@dataclass
class ServerClock:
    """The server's time as a page last read it (``GET /api/v1/clock`` or a GM status's ``now``): it runs on
    between reads, unless the server's clock is virtual (then it moves only when an operator advances it)."""

    virtual: bool
    read: tuple[float, float] | None = None  # (the server's time, the monotonic time it was read)

    def set(self, server_now: float) -> None:
        self.read = (server_now, time.monotonic())

    def now(self, unread: float | None = None) -> float:
        """The server's time now; before any read, ``unread`` (default: this machine's time)."""
        if self.read is None:
            return time.time() if unread is None else unread
        if self.virtual:
            return self.read[0]
        return self.read[0] + time.monotonic() - self.read[1]


def timestamp(value: str | float | None) -> float | None:
    """An ISO-8601 time (as the API writes them) or POSIX seconds → POSIX seconds."""
    if value is None or isinstance(value, (int, float)):
        return value
    return datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp()


def clock_time(at: float, zone: str | None = None) -> str:
    """``at`` as a wall-clock time in ``zone`` (a campaign's time zone; None: UTC)."""
    return datetime.fromtimestamp(at, tz=ZoneInfo(zone) if zone else timezone.utc).strftime("%Y-%m-%d %H:%M")


def hp_bar(current: int, maximum: int) -> tuple[float, str, str]:
    """(fraction, label, color) of hit points for an HP bar."""
    fraction = 0.0 if maximum <= 0 else max(0.0, min(1.0, current / maximum))
    color = "positive" if fraction > 0.5 else "warning" if fraction > 0.25 else "negative"
    return fraction, f"{current} / {maximum} HP", color


def post_author(post: Any, state: Any) -> str:
    """Who a post is by, as the table sees it: a character's name, an NPC the GM voices, the GM, or the server."""
    player = state.players.get(post.author)
    if player is not None:
        return player.character.name
    if post.speaker:
        return post.speaker
    if post.author == SERVER:
        return "The story (server)" if post.kind == "narration" else "Server"
    if post.kind == "action":
        return post.author
    return "GM"


KIND_LABELS = {"action": ("in character", "primary"), "narration": ("narration", "secondary"),
               "notice": ("notice", "grey"), "ooc": ("out of character", "blue-grey"), "whisper": ("whisper", "purple")}
COMBAT_REASONS = frozenset({"encounter", "skip", "auto_skip", "encounter_summary", "encounter_over", "victory",
                            "defeat", "encounter_failed"})
FILTERS = {"all": "Everything", "ic": "In character", "ooc": "Out of character and dice", "whispers": "Whispers",
           "combat": "Combat"}


def post_tags(post: Any, state: Any) -> list[tuple[str, str]]:
    """The badges a post shows: its kind (a whisper: to whom), why the server posted it, edited."""
    label, color = KIND_LABELS[post.kind]
    if post.kind == "whisper" and post.to:
        label = "whisper to " + ", ".join("GM" if name == "gm" else post_author_name(name, state) for name in post.to)
    tags = [(label, color)]
    if post.speaker:
        tags.append(("NPC", "teal"))
    if post.reason:
        tags.append((post.reason.replace("_", " "), "grey-6"))
    if post.edited_at is not None and not post.deleted:
        tags.append(("edited", "grey-5"))
    return tags


def shown(post: Any, viewer: dict[str, Any], feed_filter: str = "all") -> bool:
    """Whether the feed shows ``post`` to ``viewer`` under ``feed_filter`` (a key of ``FILTERS``)."""
    if not visible(post, viewer) or (post.kind == "whisper" and not post.author):
        return False  # a whisper for other eyes (the server sends players only its number)
    match feed_filter:
        case "combat" if post.encounter is not None:
            return True
        case "ic":
            return post.kind in ("action", "narration", "notice")
        case "ooc":
            return post.kind == "ooc" or post.roll is not None
        case "whispers":
            return post.kind == "whisper"
        case "combat":
            return post.reason in COMBAT_REASONS
    return True


def may_change(post: Any, viewer: dict[str, Any], state: Any) -> tuple[bool, bool]:
    """(may edit, may delete) ``post``, as the campaign decides (``actors.campaign.posts.own_post``): a player
    their own posts; the GM edits its own and deletes any."""
    if post.deleted or post.pending or not post.author:
        return False, False
    if is_gm(viewer):
        return post.author != SERVER and post.author not in state.players, True
    mine = post.author == viewer.get("character")
    return mine, mine


def new_posts(post_count: int, read_upto: int) -> int:
    """Posts made since this browser last read the campaign (the campaign list's marker)."""
    return max(0, post_count - read_upto)


def my_clocks(state: Any, me: str | None, now: float) -> list[tuple[str, float]]:
    """The countdowns a player should know about: their combat turn's auto-skip, going idle, the story's
    deadlines, in time order."""
    out: list[tuple[str, float]] = []
    settings = state.settings
    encounter = state.encounter
    if me and encounter is not None and encounter.player_id == me and encounter.turn_due is not None:
        out.append(("Your turn is skipped", encounter.turn_due))
    player = state.players.get(me) if me else None
    if player is not None and state.dormant_since is None:
        if player.status == "active" and state.mode == "exploration":
            out.append(("Your character follows the party", player.last_seen + settings.exploration_idle_s))
        if player.status != "inactive":
            out.append(("You count as inactive", player.last_seen + settings.inactive_s))
    for deadline in state.deadlines.values():
        out.append((f"Deadline: {deadline.consequence[:60]}", deadline.due))
    return sorted(out, key=lambda clock: clock[1])


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


def sheet_line(character: Any) -> str:
    """``Elf Rogue 2 · AC 18 · Perception +7``."""
    who = " ".join(part for part in (character.ancestry, character.class_name) if part)
    level = f"{who} {character.level}" if who else f"level {character.level}"
    return f"{level} · AC {character.ac} · Perception {character.perception:+d}"


def status_line(post: Any, state: Any) -> str | None:
    """Under a character's combat post, the character as it stands: ``Ayla · 26/30 HP · AC 18 · frightened 1``."""
    player = state.players.get(post.author)
    if post.encounter is None or player is None or post.deleted:
        return None
    c = player.character
    return " · ".join([c.name, f"{c.hp}/{c.max_hp} HP", f"AC {c.ac}", *c.conditions])
