"""The narrator's operator routes: its health and figures, pause and resume.

``GET /api/v1/admin/narrator``, ``POST /api/v1/admin/narrator/pause`` and ``/resume``;
the figures also go to ``/metrics`` (``server.metrics.NarratorCollector``).
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, Field
from quart import Response

from ..errors import ApiError
from ..requests import everturn, json_body, json_response, operator, validated
from .table import Resource

if TYPE_CHECKING:
    from actors.narration.service import Narrator

narrator = Resource("narrator", tag="operators")


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


@narrator.get("/api/v1/admin/narrator",
              "the narrator: health (a pause window that grows with each failure), models, slots, calls by outcome, "
              "tokens, latency percentiles, the last calls", response=NarratorStatus)
async def admin_narrator() -> Response:
    return json_response(running_narrator().status())


@narrator.post("/api/v1/admin/narrator/pause", "pause the narrator: campaigns post their templates meanwhile",
               response=NarratorStatus, body=NarratorPause)
async def admin_narrator_pause() -> Response:
    chosen = running_narrator()
    body = validated(NarratorPause, await json_body(empty={}))
    chosen.pause(body.seconds)
    return json_response(chosen.status())


@narrator.post("/api/v1/admin/narrator/resume", "resume the narrator now, forgetting its failures",
               response=NarratorStatus)
async def admin_narrator_resume() -> Response:
    chosen = running_narrator()
    chosen.resume()
    return json_response(chosen.status())


def running_narrator() -> "Narrator":
    """The server's narrator, for an operator; 409 ``narrator/disabled`` without one."""
    ctx = everturn()
    operator(ctx)
    if ctx.narrator is None:
        raise ApiError(409, "narrator/disabled", "this server runs without a narrator (--no-narrator): "
                       "campaigns post their templates")
    return ctx.narrator
