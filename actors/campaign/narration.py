"""The server's own posts, narrated: which posts the narrator writes, its prompt, and how its answer lands.

A post the server makes by itself (a skipped turn, a player following or left behind, a
deadline's consequence, a stalled story, an order's news, an NPC the GM voices) is
journaled at once with the template text and ``pending``; the narrator is asked for it
(``Decision.work``), and ``PostNarrated`` gives the post its final text: the model's, or
the template saying why. A durable timer (``narration.{n}``) is the backstop: if no
answer came by the deadline (the server restarted, the narrator hung), the template
serves. So the game never waits on the model, and every post is settled exactly once.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Any, Callable

from ..dice import seed_of
from ..messages import Event, Work
from ..narration import prompts
from ..narration.request import NarrationRequest, NarrationResult
from . import enforcement
from .messages import NarrationDone, PostNarrated, Posted
from .state import Campaign, PendingNarration, Post, TurnMeta

if TYPE_CHECKING:
    from ..narration.service import Narrator

PURPOSES = {"auto_skip": "auto_skip", "following": "following", "inactive": "inactive", "deadline": "deadline",
            "stalled": "stalled", "order": "press", "npc": "npc_voice"}  # post reason -> prompt purpose
TIMER = "narration."
GRACE_S = 5.0  # past the request's deadline: the narrator has answered by then unless it is gone
RECENT = 8  # posts given to the prompt


def pending(state: Campaign, post: Post) -> PendingNarration:
    return PendingNarration(n=post.n, purpose=PURPOSES[post.reason or ""], fallback=post.text,
                            due=post.at + state.settings.narrator_deadline_s + GRACE_S)


def narrate(narrator: "Narrator | None", state: Campaign, events: list[Event], address: str,
            evolve: Callable[[Campaign, Event], Campaign], voice: tuple[str, str] | None = None,
            ) -> tuple[list[Event], list[Work], Campaign]:
    """``events`` with the server's narratable posts made pending, the work that narrates them,
    and the state after those events (folded on the way: each request sees the state before its post).

    ``voice``: ``(npc, hint)`` for an NPC the GM asked the narrator to voice.
    """
    on = narrator if state.settings.narrator else None
    out: list[Event] = []
    work: list[Work] = []
    for event in events:
        if (on is not None and isinstance(event, Posted) and event.post.author == enforcement.SERVER
                and event.post.reason in PURPOSES):
            post = event.post.model_copy(update={"pending": True, "meta": None})
            work.append(_work(on, request(state, post, address, voice)))
            event = Posted(post=post)
        out.append(event)
        state = evolve(state, event)
    return out, work, state


def request(state: Campaign, post: Post, address: str, voice: tuple[str, str] | None = None) -> NarrationRequest:
    """The narrator's request for ``post``, from the campaign as it was just before it (pure)."""
    purpose = PURPOSES[post.reason or ""]
    settings = state.settings
    names = tuple(_names(state) if voice else (name for name in _names(state) if name in post.text))
    npc, hint = voice or ("", "")
    scene = "" if state.scene is None else f"{state.scene.title}. {state.scene.description}".strip()
    messages = prompts.build(getattr(settings.prompts, purpose), title=state.title, scene=scene,
                             recent=[(_author(state, p), p.text) for p in state.posts[-RECENT:]],
                             event="" if voice else post.text, names=names, npc=npc, hint=hint)
    return NarrationRequest(
        address=address, n=post.n, purpose=purpose, messages=tuple((m["role"], m["content"]) for m in messages),
        fallback=post.text, model=settings.narrator_model, max_tokens=settings.narrator_max_tokens,
        deadline_s=settings.narrator_deadline_s, dry_run=settings.narrator_dry_run,
        names=() if voice else names, seed=(seed_of(address) + post.n) % (1 << 31))


def _work(narrator: "Narrator", request: NarrationRequest) -> Work:
    def failed(error: str) -> NarrationDone:
        return NarrationDone(n=request.n, text=request.fallback, meta=TurnMeta(
            model="template", error=error[:2000], outcome="error", purpose=request.purpose))

    return Work(fn=narrator.narrate, args=(request,), done=lambda result: done(result, request.purpose),
                failed=failed, where="loop")


def done(result: NarrationResult, purpose: str) -> NarrationDone:
    return NarrationDone(n=result.n, text=result.text, meta=TurnMeta(
        model=result.model, latency_ms=result.latency_ms, prompt_tokens=result.prompt_tokens,
        completion_tokens=result.completion_tokens, error=None if result.error is None else result.error[:2000],
        outcome=result.outcome, purpose=purpose, draft=result.draft))


def settle(state: Campaign, command: NarrationDone) -> list[Event]:
    """The narrator's answer; one that comes after the timer settled the post changes nothing."""
    if command.n not in state.narrations:
        return []
    return [PostNarrated(n=command.n, text=command.text, meta=command.meta)]


def timed_out(state: Campaign, name: str) -> list[Event]:
    """``narration.{n}`` fired: no answer came in time, the template serves."""
    waiting = state.narrations.get(int(name[len(TIMER):]))
    if waiting is None:
        return []
    return [PostNarrated(n=waiting.n, text=waiting.fallback, meta=TurnMeta(
        model="template", outcome="timeout", purpose=waiting.purpose,
        error="the narrator did not answer in time (the server restarted or the narrator stalled)"))]


def narrated(state: Campaign, event: PostNarrated) -> dict[str, Any]:
    """The state update of ``PostNarrated``: the post's final text, and nothing pending for it."""
    posts = tuple(p.model_copy(update={"text": event.text, "meta": event.meta, "pending": False})
                  if p.n == event.n else p for p in state.posts)
    return {"posts": posts, "narrations": {n: p for n, p in state.narrations.items() if n != event.n}}


def _names(state: Campaign) -> list[str]:
    names = [player.character.name for player in state.players.values()]
    if state.encounter is not None and state.encounter.name:
        names.append(state.encounter.name)
    return names


def _author(state: Campaign, post: Post) -> str:
    if post.kind == "action" and post.author in state.players:
        return state.players[post.author].character.name
    return "Narrator" if post.author == enforcement.SERVER else "GM"
