"""``train/{id}``: a training job as an actor; the work runs in a worker process, chunk by chunk.

Each chunk trains from the newest checkpoint to the next one (``Jobs.run_chunk``; the server's are
``training.worker.JOBS``, given by the composition root:
at most ``checkpoint_every`` steps or ``CHUNK_SECONDS``), saves it as a blob file in the
job's folder and comes back as ``ChunkDone``; the job journals ``Checkpointed`` (its step,
the blob's name and SHA-256, the figures subscribers plot) and starts the next chunk.
Every dispatch is journaled (``ChunkStarted`` with a new ``run``) and a result counts only
for the run in flight, so a stale result (after a pause, a cancel or a restart) changes
nothing.  Pause and cancel take effect at the end of the chunk in progress (a pause keeps
its checkpoint; a cancel discards it).  After a restart the runtime wakes every job
(``Woken``) and a running one starts again from its newest checkpoint: the same steps, so
the same weights as a run never interrupted.  At the end the model is evaluated against
every personality and registered (``Jobs.finish``); deploying it is the gate's
business.  Operators only.

The chunks and the evaluation run in the runtime's ``training`` process pool
(``RuntimeConfig.process_pools``): torch loads there, never in the server, and its threads
never compete with the trio loop for the GIL.  A worker that dies mid-chunk (a segfault,
the OOM killer) fails the chunk like any error (``WorkFailed``: ``WorkerCrashed: the
training worker process ... crashed (killed by SIGSEGV) ...``); the pool starts another
worker and the job tries the chunk again from its last checkpoint, to the same weights.
A worker that stops answering (hung, stopped, spinning in native code) is killed at the
work's time limit and the chunk is tried again the same way (``WorkerTimeout``): a chunk
may run :func:`chunk_limit_s` (ten minutes, plus the duels of one self-play update), the
evaluation :func:`evaluation_limit_s` (ten minutes, plus its duels).
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from engine_ext.strategy_ai import PERSONALITIES

from ..behavior import Behavior
from ..errors import Forbidden, Rejected
from ..messages import Command, Context, Decision, Event, Woken, Work
from ..roles import is_operator
from .messages import (
    CancelTraining, Checkpointed, ChunkDone, ChunkStarted, Evaluating, PauseTraining, Registered, ResumeTraining,
    StartTraining, TrainingCancelled, TrainingFailed, TrainingFinished, TrainingPaused, TrainingResumed,
    TrainingStarted, WorkFailed, WorkRetried,
)
from .jobs import Jobs
from .state import HISTORY, Training

RETRIES = 3  # failed chunks in a row before the job fails
# A chunk ends itself after training.jobs.CHUNK_SECONDS (10 s), but its last step, loading the records and saving
# the checkpoint run to their end: a worker still busy ten minutes on is hung, not slow.
LIMIT_S = 600.0
# What one turn of a duel may take, where a step or the evaluation plays duels: measured on 2 cores with the largest
# model a job may ask for (1024 x 6), ~30 ms in a self-play update (forward and backward), ~1 ms in the evaluation.
DUEL_TURN_S = 0.1


def chunk_limit_s(spec: dict[str, Any]) -> float:
    """Seconds a chunk of a job with ``spec`` may run in its worker before it is killed as hung (and retried):
    ``LIMIT_S``, plus the duels of a self-play update (a step the chunk's own deadline cannot cut short)."""
    selfplay = spec.get("selfplay", 0) > 0
    return LIMIT_S + (spec.get("games_per_update", 8) * spec.get("turns", 60) * DUEL_TURN_S if selfplay else 0.0)


def evaluation_limit_s(eval_games: int, turns: int) -> float:
    """Seconds the final evaluation may run: ``LIMIT_S``, plus ``eval_games`` duels of ``turns`` against each
    personality."""
    return LIMIT_S + eval_games * len(PERSONALITIES) * turns * DUEL_TURN_S


class TrainKind(Behavior[Training]):
    kind = "train"
    State = Training
    commands = (StartTraining, PauseTraining, ResumeTraining, CancelTraining, ChunkDone, WorkFailed, Registered,
                Woken)
    creates = (StartTraining,)
    events = (TrainingStarted, ChunkStarted, Checkpointed, Evaluating, TrainingPaused, TrainingResumed,
              TrainingCancelled, WorkRetried, TrainingFailed, TrainingFinished)
    wake_on_start = True
    def __init__(self, blobs: Path | str = "blobs", models: Path | str = "models", jobs: Jobs | None = None) -> None:
        """``jobs``: how this server trains (given by the composition root: ``training.worker.JOBS``); None: it
        does not, and ``StartTraining`` is refused."""
        self.blobs, self.models, self.jobs = Path(blobs), Path(models), jobs
        self.worker_preload = jobs.preload if jobs is not None else ()

    def folder(self, address: str) -> Path:
        return self.blobs / "train" / address.split("/", 1)[1]

    def decide(self, state: Training, command: Command, ctx: Context) -> Decision | list[Event]:
        now = ctx.now.timestamp()
        if isinstance(command, (StartTraining, PauseTraining, ResumeTraining, CancelTraining)) and not is_operator(
                ctx.by):
            raise Forbidden("train/operator_only", "training jobs are for operators")
        match command:
            case StartTraining():
                if state.status != "new":
                    raise Rejected("train/exists", f"this job exists ({state.status})")
                spec = command.model_dump(exclude={"name", "eval_games"})  # the command's bounds are TrainSpec's
                started = TrainingStarted(spec=spec, name=command.name, eval_games=command.eval_games, at=now)
                return self.dispatch(self.evolve(state, started), ctx, [started], now)
            case PauseTraining():
                if state.status != "running":
                    raise Rejected("train/not_running", f"the job is {state.status}, not running")
                return [TrainingPaused(at=now)]
            case ResumeTraining():
                if state.status != "paused":
                    raise Rejected("train/not_paused", f"the job is {state.status}, not paused")
                resumed = TrainingResumed(at=now)
                return self.dispatch(self.evolve(state, resumed), ctx, [resumed], now)
            case CancelTraining(reason=reason):
                if state.status not in ("running", "paused", "evaluating"):
                    raise Rejected("train/over", f"the job is {state.status}: nothing to cancel")
                return [TrainingCancelled(reason=reason, at=now)]
            case ChunkDone() if command.run == state.run and state.status in ("running", "paused"):
                done = Checkpointed(step=command.step, checkpoint=command.checkpoint, sha256=command.sha256,
                                    figures=command.figures, at=now)
                after = self.evolve(state, done)
                if state.status == "paused":
                    return [done]
                return self.dispatch(after, ctx, [done], now, evaluate=command.done)
            case WorkFailed() if command.run == state.run and state.active:
                if state.attempts + 1 >= RETRIES:
                    return [TrainingFailed(error=command.error, at=now)]
                retried = WorkRetried(error=command.error, attempt=state.attempts + 1, at=now)
                return self.dispatch(self.evolve(state, retried), ctx, [retried], now,
                                     evaluate=state.status == "evaluating")
            case Registered() if command.run == state.run and state.status == "evaluating":
                return [TrainingFinished(model_version=command.model_version, evaluation=command.evaluation, at=now)]
            case Woken() if state.active:  # the process stopped while it worked: start the work again
                return self.dispatch(state, ctx, [], now, evaluate=state.status == "evaluating")
        return []  # a stale result, or nothing to do

    def available(self) -> Jobs:
        if self.jobs is None:
            raise Rejected("train/unavailable", "this server runs no training jobs")
        return self.jobs

    def dispatch(self, state: Training, ctx: Context, events: list[Event], now: float,
                 evaluate: bool = False) -> Decision:
        """``events``, then the next piece of work: a chunk, or the final evaluation."""
        run = state.run + 1
        folder = str(self.folder(ctx.address))
        if evaluate:
            jobs = self.available()
            work = Work(jobs.finish, (state.spec, folder, state.checkpoint, str(self.models), state.name,
                                      state.eval_games, ctx.address),
                        lambda r: Registered(run=run, model_version=r["version"], evaluation=r["evaluation"]),
                        lambda error: WorkFailed(run=run, error=error), where="process", pool="training",
                        timeout_s=evaluation_limit_s(state.eval_games, jobs.evaluation_turns))
            return Decision(events=[*events, Evaluating(run=run, at=now)], work=[work])
        work = Work(self.available().run_chunk, (state.spec, folder, state.checkpoint, state.sha256),
                    lambda r: ChunkDone(run=run, **r), lambda error: WorkFailed(run=run, error=error),
                    where="process", pool="training", timeout_s=chunk_limit_s(state.spec))
        return Decision(events=[*events, ChunkStarted(run=run, step=state.step, at=now)], work=[work])

    def evolve(self, state: Training, event: Event) -> Training:
        match event:
            case TrainingStarted():
                total = event.spec["steps"] + event.spec.get("selfplay", 0)
                return state.model_copy(update={"status": "running", "spec": event.spec, "name": event.name,
                                                "eval_games": event.eval_games, "total": total,
                                                "started_at": event.at, "updated_at": event.at})
            case ChunkStarted():
                return state.model_copy(update={"run": event.run, "updated_at": event.at})
            case Evaluating():
                return state.model_copy(update={"run": event.run, "status": "evaluating", "updated_at": event.at})
            case Checkpointed():
                point = {"step": event.step, "at": event.at, **{k: event.figures.get(k) for k in (
                    "loss", "lr", "samples_per_s", "selfplay")}}
                return state.model_copy(update={"step": event.step, "checkpoint": event.checkpoint,
                                                "sha256": event.sha256, "attempts": 0, "updated_at": event.at,
                                                "history": [*state.history, point][-HISTORY:]})
            case TrainingPaused():
                return state.model_copy(update={"status": "paused", "updated_at": event.at})
            case TrainingResumed():
                return state.model_copy(update={"status": "running", "updated_at": event.at})
            case TrainingCancelled():
                return state.model_copy(update={"status": "cancelled", "error": event.reason or None,
                                                "updated_at": event.at})
            case WorkRetried():
                return state.model_copy(update={"attempts": event.attempt, "error": event.error,
                                                "updated_at": event.at})
            case TrainingFailed():
                return state.model_copy(update={"status": "failed", "error": event.error, "updated_at": event.at})
            case TrainingFinished():
                return state.model_copy(update={"status": "finished", "model_version": event.model_version,
                                                "evaluation": event.evaluation, "updated_at": event.at})
        raise AssertionError(f"unknown event {event!r}")
