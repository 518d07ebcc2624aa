"""The narrator's prompts: one template per purpose, and filling one into chat messages.

A campaign's settings may override any purpose's template (``Prompts.model_copy`` or
``Prompts.model_validate({...})``); each template is checked when it is set, so ``build``
never fails on a template, and nothing a player writes can break it: post texts are
inserted as they are, braces and all, with chat control tokens defused.
"""
from __future__ import annotations

import re
from collections.abc import Sequence
from string import Formatter
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

PURPOSES = ("auto_skip", "following", "inactive", "deadline", "stalled", "press", "npc_voice")
PLACEHOLDERS = ("title", "scene", "recent", "event", "names", "npc", "hint")
_ALLOWED = frozenset(PLACEHOLDERS)
_MAY_USE = ", ".join(f"{{{name}}}" for name in PLACEHOLDERS)

# What a value may take up once filled in (characters): the prompt stays well inside a
# small model's context whatever a GM writes into a scene.
_VALUE_CHARS = {"title": 200, "scene": 1200, "event": 600, "names": 300, "npc": 120, "hint": 600}

# Chat-format control tokens (ChatML, Llama 2); llama.cpp tokenizes a prompt's text with
# its special tokens, so a post containing one could end the user's turn and start another.
_CONTROL = re.compile(r"<\||\|>|\[/?INST\]|<</?SYS>>|</?s>")


def _placeholders(text: str) -> set[str]:
    names = set()
    try:
        for _, name, spec, conversion in Formatter().parse(text):
            if name is None:
                continue
            if spec or conversion:
                raise ValueError(f"placeholder {{{name}}} takes no format spec or conversion; "
                                 f"write {{{name}}} alone")
            names.add(name)
    except ValueError as exc:
        if "placeholder" in str(exc):
            raise
        raise ValueError(f"{exc} (write {{{{ or }}}} for a literal brace)") from None  # a lone "{" or "}"
    return names


class PromptTemplate(BaseModel):
    """A system text and a user text, each with ``{placeholders}`` from ``PLACEHOLDERS``."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    system: str = Field(min_length=1, max_length=4000, description="the narrator's instructions")
    user: str = Field(min_length=1, max_length=4000, description="the situation and the request")

    @field_validator("system", "user")
    @classmethod
    def _known_placeholders(cls, value: Any) -> Any:
        if not value.strip():
            raise ValueError("must not be blank")
        if _CONTROL.search(value):
            raise ValueError("must not contain chat control tokens such as <|im_start|> or [INST]")
        unknown = _placeholders(value) - _ALLOWED
        if unknown:
            raise ValueError(f"unknown placeholder {{{sorted(unknown)[0]}}}; this text may use {_MAY_USE}")
        return value


_NARRATOR = ("You are the narrator of {title}, a fantasy tabletop role-playing game. Write one to three short "
             "sentences of story in the present tense, in the third person. Describe what happens; name the "
             "characters. No dialogue, no questions, no lists, no titles, no notes about yourself.")
_CONTEXT = "Scene: {scene}\n\nRecent posts:\n{recent}\n\n"


def _narration(situation: str, request: str) -> PromptTemplate:
    return PromptTemplate(system=_NARRATOR, user=f"{_CONTEXT}{situation}\n\n{request}")


def _described(purpose: str) -> str:
    return f"{purpose}; placeholders: {_MAY_USE}"


class Prompts(BaseModel):
    """The narrator's template for each purpose in ``PURPOSES``; a campaign may override any one."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    auto_skip: PromptTemplate = Field(
        _narration("It is {names}'s turn in combat, and {names} does not act: {event}",
                   "Narrate {names} holding back this turn, in one to three short sentences."),
        description=_described("a combat turn skipped (by the GM or the idle timer)"))
    following: PromptTemplate = Field(
        _narration("{names} has not acted for a while and follows the party: {event}",
                   "Narrate {names} following the others, in one to three short sentences."),
        description=_described("exploration idle: the character follows the party"))
    inactive: PromptTemplate = Field(
        _narration("{names} has been away too long and falls behind: {event}",
                   "Narrate the party pressing on without {names}, in one to three short sentences."),
        description=_described("players went inactive and are left behind"))
    deadline: PromptTemplate = Field(
        _narration("Time ran out. The consequence lands now: {event}",
                   "Narrate this consequence as it happens to {names}, in one to three short sentences."),
        description=_described("a story deadline passed: its consequence"))
    stalled: PromptTemplate = Field(
        _narration("Nobody has moved the story for a long time. Something happens: {event}",
                   "Narrate this moving the story on for {names}, in one to three short sentences."),
        description=_described("stalled story: the server advances it"))
    press: PromptTemplate = Field(
        _narration("News arrives, and the pressure grows: {event}",
                   "Narrate this news reaching {names}, in one to three short sentences."),
        description=_described("a scheduled order or one of its follow-ups (layered press)"))
    npc_voice: PromptTemplate = Field(
        PromptTemplate(
            system=("You are {npc}, a character in {title}, a fantasy tabletop role-playing game. Speak as {npc}, "
                    "in the first person, one to three short sentences. Only the words {npc} says: no narration, "
                    "no name before them, no notes about yourself."),
            user=(f"{_CONTEXT}{{npc}} speaks to {{names}}. {{event}}\n{{npc}} means to say: {{hint}}\n\n"
                  "Write what {npc} says.")),
        description=_described("a GM asks a non-player character to speak; {npc} who, {hint} what to get across"))


def build(template: PromptTemplate, *, title: str, scene: str, recent: Sequence[tuple[str, str]], event: str,
          names: Sequence[str] = (), npc: str = "", hint: str = "", max_recent_chars: int = 1500,
          ) -> list[dict[str, str]]:
    """The chat messages ``[system, user]`` for one request.

    ``recent``: ``(author, text)`` posts, oldest first; the oldest are left out until the
    rest fit ``max_recent_chars`` (a newest post longer than that is cut at its end).
    """
    values = {
        "title": title.strip() or "an untitled campaign",
        "scene": scene.strip() or "(no scene yet)",
        "recent": _recent(recent, max_recent_chars),
        "event": event.strip(),
        "names": ", ".join(name.strip() for name in names if name.strip()) or "the party",
        "npc": npc.strip() or "someone nearby",
        "hint": hint.strip(),
    }
    values = {key: _defused(_bounded(value, _VALUE_CHARS.get(key))) for key, value in values.items()}
    return [{"role": "system", "content": _fill(template.system, values)},
            {"role": "user", "content": _fill(template.user, values)}]


def _fill(text: str, values: dict[str, str]) -> str:
    # By hand rather than str.format: the template was checked, the values are never parsed.
    return "".join(literal + (values[name] if name is not None else "")
                   for literal, name, _, _ in Formatter().parse(text))


def _recent(posts: Sequence[tuple[str, str]], max_chars: int) -> str:
    lines: list[str] = []
    size = 0
    for author, text in reversed(posts):
        line = f"{' '.join(author.split()) or 'Someone'}: {' '.join(text.split())}"  # one post, one line
        extra = len(line) + bool(lines)  # the newline before it
        if size + extra > max_chars:
            if not lines:
                lines.append(_bounded(line, max_chars))
            break
        lines.append(line)
        size += extra
    return "\n".join(reversed(lines)) or "(nothing yet)"


def _bounded(text: str, limit: int | None) -> str:
    if limit is None or len(text) <= limit:
        return text
    return text[:max(limit - 1, 0)].rstrip() + "…"


def _defused(text: str) -> str:
    return _CONTROL.sub(lambda m: " ".join(m.group(0)), text)
