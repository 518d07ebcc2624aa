"""The narrator's operator routes: its health and figures, pause and resume.

``GET /api/v1/admin/narrator``, ``POST /api/v1/admin/narrator/pause`` and ``/resume``;
the figures also go to ``/metrics`` (:func:`metric_lines`).
"""
from __future__ import annotations

import functools
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, Field
from quart import Response

from .errors import ApiError

if TYPE_CHECKING:
    from quart_trio import QuartTrio

    from actors.narration.service import Narrator

    from .app import Everturn


class NarratorPause(BaseModel):
    seconds: float = Field(3600, gt=0, le=7 * 86400, description="how long the templates serve instead")


class NarratorWorker(BaseModel):
    slot: int
    state: str = Field(description="stopped, starting, ready, busy or restarting")
    pid: int | None = Field(description="the worker process (llama.cpp runs there, never in the server)")
    up_s: float | None = Field(description="seconds since it became ready; None while it is not running")
    failed_models: dict[str, str] = Field(description="models it could not load: name -> why")


class NarratorStatus(BaseModel):
    health: dict[str, Any] = Field(description="state (ready or paused), paused_by (failures or operator), "
                                   "paused_for_s, consecutive_failures, consecutive_crashes, next_pause_s, "
                                   "last_failure")
    models: dict[str, str] = Field(description="name -> GGUF file; campaigns pick one by name (narrator_model)")
    default: str
    slots: int = Field(description="worker processes, each generating one narration at a time")
    busy: int
    waiting: int
    workers: list[NarratorWorker] = Field(description="one per slot")
    worker_crashes: int = Field(description="worker processes that died (a signal, an exit) since the server started")
    worker_restarts: int = Field(description="worker processes killed on purpose (a request past its deadline, "
                                 "or abandoned) and started again")
    last_worker_crash: str | None = Field(description="how the last crashed worker ended (SIGSEGV, exit 1 ...)")
    outcomes: dict[str, int] = Field(description="calls by outcome: narrated, rejected, timeout, error, "
                                     "worker_crashed, paused, unavailable, dry_run")
    prompt_tokens: int
    completion_tokens: int
    tokens_per_s: float | None
    latency_p50_ms: float | None
    latency_p95_ms: float | None
    recent: list[dict[str, Any]] = Field(description="the last calls, newest first")


def register(app: "QuartTrio", ctx: "Everturn") -> None:
    """The routes; and with a narrator, the hook ``POST /api/v1/rules/ask`` rephrases with (``rephrase: true``)."""
    from .app import json_body, json_response, operator, validated

    if ctx.narrator is not None:
        from actors.narration.rephrase import rephrase

        ctx.rephrase = functools.partial(rephrase, ctx.narrator)  # type: ignore[attr-defined]

    def narrator() -> "Narrator":
        operator(ctx)
        if ctx.narrator is None:
            raise ApiError(409, "narrator/disabled", "this server runs without a narrator (--no-narrator): "
                           "campaigns post their templates")
        return ctx.narrator

    @app.get("/api/v1/admin/narrator")
    async def admin_narrator() -> Response:
        return json_response(narrator().status())

    @app.post("/api/v1/admin/narrator/resume")
    async def admin_narrator_resume() -> Response:
        chosen = narrator()
        chosen.resume()
        return json_response(chosen.status())

    @app.post("/api/v1/admin/narrator/pause")
    async def admin_narrator_pause() -> Response:
        chosen = narrator()
        body = validated(NarratorPause, await json_body(empty={}))
        chosen.pause(body.seconds)
        return json_response(chosen.status())


def metric_lines(narrator: "Narrator | None") -> list[str]:
    """Prometheus lines of the narrator's figures."""
    if narrator is None:
        return []
    status = narrator.status()
    figures = narrator.figures
    lines = ["# HELP everturn_narrator_calls_total narrator calls by outcome",
             "# TYPE everturn_narrator_calls_total counter"]
    lines += [f'everturn_narrator_calls_total{{outcome="{o}"}} {n}' for o, n in status["outcomes"].items()]
    lines += ["# HELP everturn_narrator_tokens_total tokens read (prompt) and written (completion)",
              "# TYPE everturn_narrator_tokens_total counter",
              f'everturn_narrator_tokens_total{{kind="prompt"}} {figures.prompt_tokens}',
              f'everturn_narrator_tokens_total{{kind="completion"}} {figures.completion_tokens}',
              "# HELP everturn_narrator_generation_seconds_total time spent generating",
              "# TYPE everturn_narrator_generation_seconds_total counter",
              f"everturn_narrator_generation_seconds_total {round(figures.generation_s, 6)}",
              "# HELP everturn_narrator_paused 1 while failures or an operator pause the narrator",
              "# TYPE everturn_narrator_paused gauge",
              f"everturn_narrator_paused {int(status['health']['state'] == 'paused')}",
              "# HELP everturn_narrator_busy generations running now",
              "# TYPE everturn_narrator_busy gauge",
              f"everturn_narrator_busy {status['busy']}",
              "# HELP everturn_narrator_worker_crashes_total narrator worker processes that died (signal or exit)",
              "# TYPE everturn_narrator_worker_crashes_total counter",
              f"everturn_narrator_worker_crashes_total {status['worker_crashes']}",
              "# HELP everturn_narrator_worker_restarts_total narrator worker processes killed on purpose and "
              "restarted (a request past its deadline)",
              "# TYPE everturn_narrator_worker_restarts_total counter",
              f"everturn_narrator_worker_restarts_total {status['worker_restarts']}",
              "# HELP everturn_narrator_workers_ready narrator worker processes loaded and running",
              "# TYPE everturn_narrator_workers_ready gauge",
              f"everturn_narrator_workers_ready {sum(w['state'] in ('ready', 'busy') for w in status['workers'])}"]
    return lines
