"""Session data: a campaign's journal as an event log, its turns, and a chat-format dataset.

A *turn* is one narration together with the player actions it answers (its
``responds_to``): what the players wrote, what the GM answered, how (model, tool calls,
tokens, latency) and whether the narrator failed.  The pure part reads journal records
(``(seq, stored event)`` as ``Store.read_journal`` yields them) and returns lines and
rows; :func:`export_campaign` reads the store and writes the files, atomically.  The
dice rolls of the table (its ``DiceRolled`` events) are written apart too, one line each
(:func:`roll_line`), so a reader needs no event schema to audit or replay them.

Errors (all ``ValueError``, so a CLI can report them as a person's mistake)::

    ExportError                 the export cannot be made as asked
    ├── UnknownCampaign         no journal for that campaign id (or not a campaign id)
    └── UnsupportedFormat       a ``--format`` this version does not write

``snapshots.UnknownSchema`` (a ``StoreError``) still comes through when the journal holds
an event newer than this code.
"""
from __future__ import annotations

import os
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import orjson

from actors.campaign import CampaignKind
from actors.campaign.messages import (
    CampaignCreated, DiceRolled, EncounterStarted, OrderScheduled, PlayerJoined, Posted, PostNarrated,
)
from actors.campaign.state import Character, Post, ToolCall, TurnMeta
from actors.messages import Event
from snapshots import Store
from snapshots.files import publish

FORMATS = ("jsonl",)
SERVER = "server"        # author of the server's own posts (actors.campaign.enforcement)
TEMPLATE = "template"    # meta.model of the server's template narrations
# Why a turn stays out of the dataset, in the order they are tested: a turn is counted once,
# under the first that applies, and duplicates are looked for among the turns still kept.
DROP_REASONS = ("error", "server_template", "empty_response", "no_player_input", "duplicate")
_CAMPAIGN_ID = re.compile(r"[A-Za-z0-9_-]{1,64}")  # actors.campaign.messages.ID; also safe as a file name
_CAMPAIGN = CampaignKind()


class ExportError(ValueError):
    """The export cannot be made as asked; the message says why."""


class UnknownCampaign(ExportError):
    """No campaign by that id has a journal in this data directory."""


class UnsupportedFormat(ExportError):
    """An export format this version does not write."""


@dataclass(frozen=True, slots=True)
class PlayerInput:
    """One player action a narration answers."""

    n: int             # its post number
    player_id: str
    character: str     # the character's name when the player joined (the player id if unknown)
    text: str
    at: float          # POSIX seconds of the game clock


@dataclass(frozen=True, slots=True)
class Turn:
    """A narration and the player actions it answers, with how it was made."""

    campaign: str
    n: int                                 # the narration's post number
    seq: int                               # its journal record
    actions: tuple[PlayerInput, ...]       # in post order; empty when it answered nobody
    response: str
    author: str                            # the GM's token id, or "server"
    at: float
    reason: str | None                     # why the server posted it (stalled, deadline, ...)
    meta: TurnMeta
    characters: tuple[Character, ...]      # every character joined by then

    @property
    def wait_s(self) -> float | None:
        """Seconds from the first action answered to the narration (None without actions)."""
        return round(self.at - self.actions[0].at, 3) if self.actions else None


@dataclass(slots=True)
class Session:
    """What a campaign's journal says about its play: title, ruleset, every turn in order."""

    campaign: str
    title: str
    ruleset: str
    turns: list[Turn] = field(default_factory=list)


@dataclass(slots=True)
class CampaignExport:
    """Everything one export writes, built without touching the store or the disk."""

    events: list[dict[str, Any]]
    session: Session
    rows: list[dict[str, Any]]
    dropped: dict[str, int]
    rolls: list[dict[str, Any]] = field(default_factory=list)


# -- the pure part ----------------------------------------------------------------------

def build_export(campaign_id: str, records: Iterable[tuple[int, Mapping[str, Any]]]) -> CampaignExport:
    """Event lines, turns and dataset rows of a campaign's journal records, oldest first.

    Raises ``UnknownCampaign`` when there are no records or they do not start with the
    campaign's creation; ``snapshots.UnknownSchema`` for an event newer than this code.
    """
    events = [(seq, _CAMPAIGN.load_event(dict(stored))) for seq, stored in records]
    if not events or not isinstance(events[0][1], CampaignCreated):
        raise UnknownCampaign(f"no campaign {campaign_id!r} in this data directory (it has no journal)")
    session = read_session(campaign_id, events)
    rows, dropped = training_rows(session)
    rolls = [roll_line(seq, event) for seq, event in events if isinstance(event, DiceRolled)]
    return CampaignExport([event_line(seq, event) for seq, event in events], session, rows, dropped, rolls)


def event_line(seq: int, event: Event) -> dict[str, Any]:
    """A journal record as one line: ``{seq, type, version, time, data}``, upcast to this code's version."""
    return {"seq": seq, "type": type(event).__name__, "version": type(event).version,
            "time": iso(event_time(event)), "data": event.model_dump(mode="json")}


def roll_line(seq: int, event: DiceRolled) -> dict[str, Any]:
    """A roll as one line: ``{seq, n, by, expression, faces, total, reason, at}``; ``faces`` per dice
    term in the order written, ``by`` a player id or ``gm``, ``at`` ISO 8601 UTC."""
    roll = event.roll
    return {"seq": seq, "n": roll.n, "by": roll.by, "expression": roll.expression,
            "faces": [list(term) for term in roll.faces], "total": roll.total, "reason": roll.reason,
            "at": iso(roll.at)}


def event_time(event: Event) -> float | None:
    """When the event happened (POSIX seconds), where it says so."""
    match event:
        case Posted(post=post):
            return post.at
        case PlayerJoined(player=player):
            return player.joined_at
        case OrderScheduled(order=order):
            return order.created_at
        case EncounterStarted(encounter=view):
            return view.started_at
        case DiceRolled(roll=roll):
            return roll.at
    return getattr(event, "at", None)


def read_session(campaign_id: str, events: Iterable[tuple[int, Event]]) -> Session:
    """The turns of a campaign's events, in journal order.

    Every post is kept by number while scanning, so a narration finds the actions it
    answers however far back they are (they always come earlier in the journal).
    """
    session = Session(campaign_id, "", "")
    posts: dict[int, Post] = {}
    characters: dict[str, Character] = {}
    for seq, event in events:
        match event:
            case CampaignCreated():
                session.title, session.ruleset = event.title, event.ruleset
            case PlayerJoined(player=player):
                characters[player.player_id] = player.character
            case Posted(post=post):
                posts[post.n] = post
                if post.kind == "narration":
                    session.turns.append(turn_of(campaign_id, seq, post, posts, characters))
            case PostNarrated(n=n):  # the server's narrator settled a pending post: its final text and meta
                posts[n] = posts[n].model_copy(update={"text": event.text, "meta": event.meta, "pending": False})
                session.turns = [replace(turn, response=event.text, meta=event.meta) if turn.n == n else turn
                                 for turn in session.turns]
    return session


def turn_of(campaign_id: str, seq: int, narration: Post, posts: Mapping[int, Post],
            characters: Mapping[str, Character]) -> Turn:
    actions = []
    for n in narration.responds_to:
        action = posts.get(n)
        if action is None or action.kind != "action":
            continue  # cannot happen in a journal the campaign wrote; a turn never invents input
        character = characters.get(action.author)
        actions.append(PlayerInput(n=n, player_id=action.author, text=action.text, at=action.at,
                                   character=character.name if character is not None else action.author))
    return Turn(campaign=campaign_id, n=narration.n, seq=seq, actions=tuple(sorted(actions, key=lambda a: a.n)),
                response=narration.text, author=narration.author, at=narration.at, reason=narration.reason,
                meta=narration.meta or TurnMeta(), characters=tuple(characters.values()))


def drop_reason(turn: Turn) -> str | None:
    """Why a turn is no training example (one of ``DROP_REASONS`` but duplicate), or None."""
    if turn.meta.error is not None:
        return "error"
    if turn.author == SERVER or turn.meta.model == TEMPLATE:
        return "server_template"  # the server's stock lines and its own narrator's are no GM writing
    if not turn.response.strip():
        return "empty_response"
    if not any(action.text.strip() for action in turn.actions):
        return "no_player_input"
    return None


def training_rows(session: Session) -> tuple[list[dict[str, Any]], dict[str, int]]:
    """Chat-format rows of the turns that pass the quality filters, and how many each filter dropped.

    ``dropped`` names every reason of ``DROP_REASONS``, zero or not.  Two turns whose
    messages after the system prompt are identical are a duplicate: the first one stays.
    """
    rows: list[dict[str, Any]] = []
    dropped = dict.fromkeys(DROP_REASONS, 0)
    seen: set[bytes] = set()
    for turn in session.turns:
        reason = drop_reason(turn)
        row = None
        if reason is None:
            row = training_row(session, turn)
            pair = orjson.dumps(row["messages"][1:], option=orjson.OPT_SORT_KEYS)
            if pair in seen:
                reason = "duplicate"
            seen.add(pair)
        if reason is not None:
            dropped[reason] += 1
        else:
            rows.append(row)
    return rows, dropped


def training_row(session: Session, turn: Turn) -> dict[str, Any]:
    """``{"messages": [system, user, (assistant tool call, tool result)*, assistant], "meta": {...}}``."""
    user = "\n".join(f"{a.character}: {a.text.strip()}" for a in turn.actions if a.text.strip())
    messages: list[dict[str, Any]] = [{"role": "system", "content": system_prompt(session, turn)},
                                      {"role": "user", "content": user}]
    messages.extend(tool_messages(turn.meta.tool_calls))
    messages.append({"role": "assistant", "content": turn.response.strip()})
    meta = turn.meta
    return {"messages": messages, "meta": {
        "campaign": turn.campaign, "turn": turn.n, "seq": turn.seq, "at": iso(turn.at), "author": turn.author,
        "responds_to": [a.n for a in turn.actions], "players": sorted({a.player_id for a in turn.actions}),
        "wait_s": turn.wait_s, "model": meta.model, "tool_calls": [call.name for call in meta.tool_calls],
        "latency_ms": meta.latency_ms, "prompt_tokens": meta.prompt_tokens,
        "completion_tokens": meta.completion_tokens}}


def system_prompt(session: Session, turn: Turn) -> str:
    """The GM's instruction: the campaign, its ruleset and the characters at the table (no mode)."""
    characters = ", ".join(f"{c.name} (level {c.level})" for c in turn.characters) or "none yet"
    return (f'You are the game master of "{session.title}", a play-by-post campaign ({session.ruleset}). '
            f"Answer the players' actions with a short narration that moves the story on; follow the rules "
            f"and never decide for the player characters.\nCharacters: {characters}.")


def tool_messages(calls: Iterable[ToolCall]) -> list[dict[str, Any]]:
    """Tool calls the OpenAI way: each an assistant ``tool_calls`` message, then its ``tool`` result.

    One call per assistant message keeps the stored order (a narrator may have used one
    result to choose its next call); ids only need to be unique within the conversation.
    """
    messages: list[dict[str, Any]] = []
    for i, call in enumerate(calls, 1):
        call_id = f"call_{i}"
        arguments = orjson.dumps(call.arguments, option=orjson.OPT_SORT_KEYS).decode()
        messages.append({"role": "assistant", "tool_calls": [
            {"id": call_id, "type": "function", "function": {"name": call.name, "arguments": arguments}}]})
        messages.append({"role": "tool", "tool_call_id": call_id, "content": call.result or ""})
    return messages


def iso(at: float | None) -> str | None:
    if at is None:
        return None
    return datetime.fromtimestamp(at, tz=timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


# -- files -----------------------------------------------------------------------------

def export_campaign(store: Store, campaign_id: str, out_dir: Path, fmt: str = "jsonl") -> dict[str, Any]:
    """Write ``{campaign_id}.events.jsonl``, ``.rolls.jsonl`` and ``.dataset.jsonl`` into ``out_dir``; a summary.

    The files appear complete or not at all (written beside their names, then renamed);
    existing files of the same names are replaced.  Raises ``UnsupportedFormat``,
    ``UnknownCampaign``, ``ExportError`` (out_dir is not a directory) and ``OSError`` for a
    failed write.
    """
    if fmt not in FORMATS:
        raise UnsupportedFormat(f"unsupported export format {fmt!r}; this version writes: {', '.join(FORMATS)}")
    if not _CAMPAIGN_ID.fullmatch(campaign_id):
        raise UnknownCampaign(f"{campaign_id!r} is not a campaign id (1-64 letters, digits, '_' or '-')")
    export = build_export(campaign_id, store.read_journal(f"campaign/{campaign_id}"))
    out_dir = Path(out_dir)
    if out_dir.exists() and not out_dir.is_dir():
        raise ExportError(f"{out_dir} exists and is not a directory")
    out_dir.mkdir(parents=True, exist_ok=True)
    events_path = out_dir / f"{campaign_id}.events.jsonl"
    dataset_path = out_dir / f"{campaign_id}.dataset.jsonl"
    rolls_path = out_dir / f"{campaign_id}.rolls.jsonl"
    write_jsonl({events_path: export.events, rolls_path: export.rolls, dataset_path: export.rows})
    return {"campaign": campaign_id, "format": fmt, "events": len(export.events), "rolls": len(export.rolls),
            "turns": len(export.session.turns), "kept": len(export.rows), "dropped": export.dropped,
            "paths": {"events": str(events_path), "rolls": str(rolls_path), "dataset": str(dataset_path)}}


def write_jsonl(files: Mapping[Path, Iterable[Mapping[str, Any]]]) -> None:
    """Write each file as JSON lines, all or none: every one goes to a temporary file first,
    synced, and only when all are complete are they renamed into place."""
    written: dict[Path, Path] = {}
    try:
        for path, lines in files.items():
            temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
            written[path] = temporary
            with open(temporary, "wb") as out:
                for line in lines:
                    out.write(orjson.dumps(line, option=orjson.OPT_APPEND_NEWLINE))
        publish(written)
    finally:
        for temporary in written.values():
            temporary.unlink(missing_ok=True)
