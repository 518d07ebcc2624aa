"""What a campaign asks the narrator, and what it answers: plain data, no model imported."""
from __future__ import annotations

from dataclasses import dataclass

OUTCOMES = ("narrated", "rejected", "timeout", "error", "worker_crashed", "paused", "unavailable", "dry_run")


@dataclass(frozen=True, slots=True)
class NarrationRequest:
    """What a campaign asks for: the prompt is built by the campaign (pure), the rest is policy."""

    address: str  # the campaign whose subscribers see the tokens
    n: int  # the post being narrated
    purpose: str
    messages: tuple[tuple[str, str], ...]  # (role, content)
    fallback: str  # the template text, used whenever the model's is not
    model: str | None = None  # a model name the server knows; None: its default
    max_tokens: int = 96
    max_chars: int = 600
    deadline_s: float = 20.0
    dry_run: bool = False
    names: tuple[str, ...] = ()  # characters the text should mention
    seed: int = 0


@dataclass(frozen=True, slots=True)
class NarrationResult:
    n: int
    text: str  # what to post
    outcome: str  # one of OUTCOMES
    model: str  # the model's name, or "template" when the fallback serves
    latency_ms: float | None = None
    prompt_tokens: int | None = None
    completion_tokens: int | None = None
    error: str | None = None  # why the template serves
    draft: str | None = None  # the model's text when it was not posted (rejected, dry run)
