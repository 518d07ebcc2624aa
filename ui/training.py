"""Training jobs and the model registry in the operator console.

The jobs are ``GET /api/v1/admin/training``, polled with the rest of the console; the
job shown is followed on its stream (``train/{id}``) and kept with the kind's own
``evolve`` (a ``LiveActor``), so each checkpoint's figures reach the plots as soon as it
is journaled.  Jobs are steered with their commands (``StartTraining``, ``PauseTraining``,
``ResumeTraining``, ``CancelTraining``); a refused command shows the server's reason and
code where it was given.  The registry is ``GET /api/v1/admin/models``, fetched again
whenever a job finishes.
"""
from __future__ import annotations

import secrets
from dataclasses import dataclass
from typing import Any

from nicegui import background_tasks, ui

from actors.train import TrainKind

from .link import Link, LinkError, error_text
from .live import LiveActor
from .stream import Follower

STATUS_COLORS = {"running": "primary", "paused": "warning", "evaluating": "info", "finished": "positive",
                 "cancelled": "grey", "failed": "negative"}
ACTIONS = {"running": {"pause", "cancel"}, "paused": {"resume", "cancel"}, "evaluating": {"cancel"}}
MAX_JOBS = 1000  # jobs the console lists (pages of 200)
EVALUATION_COLUMNS = [
    {"name": "personality", "label": "against", "field": "personality", "align": "left"},
    {"name": "won", "label": "won", "field": "won"},
    {"name": "played", "label": "played", "field": "played"},
    {"name": "share", "label": "win rate", "field": "share"},
    {"name": "ci95", "label": "95% interval", "field": "ci95"},
]


def percent(share: float | None) -> str:
    return "—" if share is None else f"{share:.0%}"


def interval(ci95: list[float] | tuple[float, float] | None) -> str:
    return "—" if not ci95 else f"{ci95[0]:.0%}–{ci95[1]:.0%}"


def _line(title: str, series: list[dict[str, Any]], y_axes: list[dict[str, Any]]) -> dict[str, Any]:
    return {"animation": False, "title": {"text": title, "left": "center", "textStyle": {"fontSize": 12}},
            "tooltip": {"trigger": "axis"}, "legend": {"bottom": 0, "textStyle": {"fontSize": 10}},
            "grid": {"left": 50, "right": 50, "top": 35, "bottom": 55},
            "xAxis": {"type": "value", "name": "step", "min": 0}, "yAxis": y_axes, "series": series}


def progress_charts(history: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """ECharts options from a job's progress points (``Training.history``), x = step.

    ``loss``: the cloning loss and the self-play (policy-gradient) loss apart, they are not
    on one scale, and the learning rate on its own axis; ``throughput``: samples/s;
    ``selfplay``: the share of self-play games won in each checkpoint's chunk."""
    def series(name: str, points: list[list[float]], axis: int = 0) -> dict[str, Any]:
        return {"name": name, "type": "line", "showSymbol": True, "symbolSize": 4, "yAxisIndex": axis,
                "data": points}

    cloning = [[p["step"], p["loss"]] for p in history if p.get("loss") is not None and not p.get("selfplay")]
    playing = [[p["step"], p["loss"]] for p in history if p.get("loss") is not None and p.get("selfplay")]
    rates = [[p["step"], p["lr"]] for p in history if p.get("lr") is not None]
    speed = [[p["step"], p["samples_per_s"]] for p in history if p.get("samples_per_s") is not None]
    won = [[p["step"], round(p["selfplay"]["won"] / p["selfplay"]["games"], 4)]
           for p in history if p.get("selfplay") and p["selfplay"].get("games")]
    return {
        "loss": _line("loss and learning rate",
                      [series("cloning loss", cloning), series("self-play loss", playing),
                       series("learning rate", rates, 1)],
                      [{"type": "value", "name": "loss", "scale": True},
                       {"type": "value", "name": "lr", "scale": True, "splitLine": {"show": False}}]),
        "throughput": _line("samples/s", [series("samples/s", speed)], [{"type": "value", "min": 0}]),
        "selfplay": _line("self-play win rate", [series("won / games", won)],
                          [{"type": "value", "min": 0, "max": 1}]),
    }


def evaluation_rows(evaluation: dict[str, Any] | None) -> list[dict[str, Any]]:
    """One row per personality of an evaluation report (``training.evaluate.evaluate``)."""
    if not evaluation:
        return []
    return [{"personality": name, "won": rate["won"], "played": rate["played"], "share": percent(rate["share"]),
             "ci95": interval(rate.get("ci95"))} for name, rate in evaluation.get("vs", {}).items()]


def gate_text(gate: dict[str, Any] | None) -> str:
    if not gate:
        return "not tried"
    verdict = "passed" if gate["passed"] else "failed"
    return f"{verdict} vs {gate['against']} ({gate['won']}–{gate['lost']}–{gate['drawn']})"


def model_rows(items: list[dict[str, Any]]) -> tuple[list[dict[str, Any]], list[str]]:
    """The registry's versions as table rows, and the personalities they were evaluated against."""
    personalities: list[str] = []
    rows = []
    for meta in items:
        row = {"key": f"{meta['name']}@v{meta['version']}", "model": f"{meta['name']} v{meta['version']}",
               "deployed": "deployed" if meta.get("deployed") else "", "playable": "yes" if meta.get("playable")
               else "no", "gate": gate_text(meta.get("gate")), "job": meta.get("job") or "",
               "data": meta.get("data") or ""}
        for name, rate in ((meta.get("evaluation") or {}).get("vs") or {}).items():
            if name not in personalities:
                personalities.append(name)
            row[f"vs_{name}"] = f"{percent(rate['share'])} ({interval(rate.get('ci95'))})"
        rows.append(row)
    return rows, personalities


def start_data(form: dict[str, Any]) -> dict[str, Any]:
    """``StartTraining``'s data from the form's values: blanks left to the server's defaults."""
    floats = {"minutes", "lr"}
    data: dict[str, Any] = {}
    model: dict[str, int] = {}
    for key, value in form.items():
        if value is None or value == "":
            continue
        if isinstance(value, str):
            data[key] = value.strip()
        elif key in ("hidden", "layers"):
            model[key] = int(value)
        else:
            data[key] = float(value) if key in floats else int(value)
    if model:
        data["model"] = model
    return data


@dataclass
class JobRow:
    """One job's line in the list, kept and updated in place (never rebuilt under a click)."""

    status: ui.badge
    step: ui.label
    version: ui.label
    error: ui.label
    pause: ui.button
    resume: ui.button
    cancel: ui.button

    def show(self, job: dict[str, Any]) -> None:
        self.status.set_text(job["status"])
        self.status.props(f"color={STATUS_COLORS.get(job['status'], 'grey')}")
        self.step.set_text(f"step {job['step']} / {job['total']}")
        self.version.set_text(f"v{job['model_version']}" if job["model_version"] is not None else "")
        self.error.set_text(job["error"] or "")
        allowed = ACTIONS.get(job["status"], set())
        self.pause.set_enabled("pause" in allowed)
        self.resume.set_enabled("resume" in allowed)
        self.cancel.set_enabled("cancel" in allowed)


class Models:
    """The model registry: every version, its evaluation per personality, the gate's verdict."""

    def __init__(self, link: Link) -> None:
        self.link = link

    def build(self) -> None:
        with ui.row().classes("items-center gap-2"):
            self.root = ui.label("").classes("text-sm text-grey-8").props("data-test=models-root")
            ui.button("Refresh", on_click=self.load).props("outline dense data-test=models-refresh")
        self.table = ui.table(columns=[], rows=[], row_key="key").classes("w-full").props("dense data-test=models")

    async def load(self) -> None:
        try:
            listing = await self.link.get("/api/v1/admin/models")
        except LinkError as exc:
            self.root.set_text(f"registry: {error_text(exc)}")
            return
        rows, personalities = model_rows(listing["items"])
        self.root.set_text(f"{len(rows)} model version(s) in {listing['root']}" if rows else
                           f"No models registered yet in {listing['root']}.")
        columns = [{"name": "model", "label": "model", "field": "model", "align": "left"},
                   {"name": "deployed", "label": "deployed", "field": "deployed"},
                   {"name": "playable", "label": "playable", "field": "playable"},
                   {"name": "gate", "label": "gate", "field": "gate", "align": "left"},
                   *[{"name": f"vs_{name}", "label": f"vs {name}", "field": f"vs_{name}"} for name in personalities],
                   {"name": "job", "label": "job", "field": "job", "align": "left"},
                   {"name": "data", "label": "data", "field": "data", "align": "left"}]
        self.table.columns = columns
        self.table.rows = rows
        self.table.update()


class Training:
    """The jobs, the form that starts one, and the followed job's plots."""

    def __init__(self, link: Link, models: Models) -> None:
        self.link, self.models = link, models
        self.rows: dict[str, JobRow] = {}
        self.finished: set[str] | None = None      # jobs seen finished (None before the first poll)
        self.follower: Follower | None = None
        self.live = LiveActor(TrainKind())
        self.cancelling: str | None = None

    def build(self) -> None:
        self.client = ui.context.client
        with ui.row().classes("w-full no-wrap items-start gap-4"):
            with ui.card().classes("w-96 shrink-0"):
                self.start_form()
            with ui.column().classes("grow"):
                ui.label("Jobs").classes("text-lg")
                self.empty = ui.label("No training jobs yet.").classes("text-sm")
                self.jobs = ui.column().classes("w-full gap-1").props("data-test=jobs")
        self.job_panel()
        with ui.dialog() as self.cancel_dialog, ui.card():
            self.cancel_title = ui.label("Cancel the job?").classes("text-lg")
            self.cancel_reason = ui.input("Reason", placeholder="why, for the record").classes("w-80").props(
                "data-test=cancel-reason")
            with ui.row():
                ui.button("Cancel the job", on_click=self.confirm_cancel, color="negative").props(
                    "data-test=cancel-confirm")
                ui.button("Keep it", on_click=self.cancel_dialog.close).props("flat")

    # -- starting a job ----------------------------------------------------------------

    def start_form(self) -> None:
        ui.label("Start a training job").classes("text-lg")
        self.form: dict[str, Any] = {
            "data": ui.input("Records (runs.jsonl on the server)", placeholder="/path/to/runs.jsonl").classes(
                "w-full").props("data-test=train-data"),
            "name": ui.input("Model name", placeholder="duke").classes("w-full").props("data-test=train-name"),
        }
        self.job_id = ui.input("Job id", placeholder="NAME-xxxxxx").classes("w-full").props("data-test=train-id")
        with ui.row().classes("gap-2"):
            self.form["steps"] = ui.number("Steps", value=2000, min=1, precision=0).classes("w-24").props(
                "data-test=train-steps")
            self.form["selfplay"] = ui.number("Self-play updates", value=0, min=0, precision=0).classes(
                "w-32").props("data-test=train-selfplay")
        with ui.row().classes("gap-2"):
            self.form["minutes"] = ui.number("Minutes (budget)", min=0, format="%.1f").classes("w-32").props(
                "data-test=train-minutes")
            self.form["seed"] = ui.number("Seed", value=0, min=0, precision=0).classes("w-24").props(
                "data-test=train-seed")
        with ui.expansion("More hyper-parameters").classes("w-full").props("dense data-test=train-more"):
            fields = (("batch", "Batch", 256), ("lr", "Learning rate", 3e-3), ("checkpoint_every",
                      "Checkpoint every", 200), ("games_per_update", "Games / update", 8),
                      ("turns", "Self-play turns", 60), ("eval_games", "Evaluation games", 20),
                      ("hidden", "Hidden units", 64), ("layers", "Layers", 2))
            with ui.grid(columns=2).classes("gap-2"):
                for key, label, value in fields:
                    self.form[key] = ui.number(label, value=value, min=0, precision=None if key == "lr" else 0,
                                               ).classes("w-36").props(f"dense data-test=train-{key}")
        ui.button("Start", on_click=self.start).props("data-test=train-start")
        self.start_error = ui.column().classes("text-negative text-sm gap-0").props("data-test=train-error")

    async def start(self) -> None:
        self.start_error.clear()
        data = start_data({key: field.value for key, field in self.form.items()})
        job = (self.job_id.value or "").strip() or f"{data.get('name') or 'job'}-{secrets.token_hex(3)}"
        try:
            await self.link.command(f"train/{job}", "StartTraining", data)
        except LinkError as exc:
            with self.start_error:
                ui.label(error_text(exc))
                for detail in exc.details if isinstance(exc.details, list) else []:
                    if isinstance(detail, dict):
                        where = ".".join(str(part) for part in detail.get("loc", []))
                        ui.label(f"{where}: {detail.get('msg', detail)}" if where else str(detail.get("msg")))
            return
        ui.notify(f"train/{job} started", type="positive")
        self.job_id.set_value("")
        await self.poll()
        self.follow(f"train/{job}")

    # -- the jobs ----------------------------------------------------------------------

    async def poll(self) -> None:
        jobs: list[dict[str, Any]] = []
        cursor = None
        try:
            while len(jobs) < MAX_JOBS:
                page = await self.link.get("/api/v1/admin/training", limit=200, cursor=cursor)
                jobs += page["items"]
                cursor = page["next_cursor"]
                if cursor is None:
                    break
        except LinkError as exc:
            self.empty.set_text(f"jobs: {error_text(exc)}")
            self.empty.set_visibility(True)
            return
        self.empty.set_visibility(not jobs)
        for job in jobs:
            row = self.rows.get(job["address"]) or self.add_row(job["address"], job["name"])
            row.show(job)
        finished = {job["address"] for job in jobs if job["status"] == "finished"}
        if self.finished is not None and finished - self.finished:
            await self.models.load()                     # a new model is in the registry
        self.finished = finished

    def add_row(self, address: str, name: str) -> JobRow:
        job = address.split("/", 1)[1]
        with self.jobs:
            with ui.row().classes("w-full no-wrap items-center gap-2").props(f"data-test=job-{job}"):
                ui.label(address).classes("font-mono")
                ui.label(name).classes("text-grey-8")
                row = JobRow(
                    status=ui.badge("").props(f"data-test=job-status-{job}"),
                    step=ui.label("").classes("text-sm").props(f"data-test=job-step-{job}"),
                    version=ui.label("").classes("text-sm"),
                    error=ui.label("").classes("text-xs text-negative truncate max-w-xs"),
                    pause=ui.button("Pause", on_click=lambda: self.act(address, "PauseTraining")).props(
                        f"dense outline data-test=pause-{job}"),
                    resume=ui.button("Resume", on_click=lambda: self.act(address, "ResumeTraining")).props(
                        f"dense outline data-test=resume-{job}"),
                    cancel=ui.button("Cancel", on_click=lambda: self.ask_cancel(address), color="negative").props(
                        f"dense outline data-test=cancel-{job}"),
                )
                ui.button("Plots", on_click=lambda: self.follow(address)).props(f"dense flat data-test=follow-{job}")
        self.rows[address] = row
        return row

    async def act(self, address: str, command: str, data: dict[str, Any] | None = None) -> None:
        try:
            await self.link.command(address, command, data or {})
        except LinkError as exc:
            ui.notify(f"{address}: {error_text(exc)}", type="negative")
            return
        await self.poll()

    def ask_cancel(self, address: str) -> None:
        self.cancelling = address
        self.cancel_title.set_text(f"Cancel {address}? Its work so far is kept in the journal, not trained on.")
        self.cancel_reason.set_value("")
        self.cancel_dialog.open()

    async def confirm_cancel(self) -> None:
        self.cancel_dialog.close()
        if self.cancelling is not None:
            await self.act(self.cancelling, "CancelTraining", {"reason": self.cancel_reason.value or ""})

    # -- the followed job --------------------------------------------------------------

    def job_panel(self) -> None:
        with ui.row().classes("w-full items-center gap-3 mt-4"):
            self.followed = ui.label("Press Plots beside a job to follow it.").classes("text-lg font-mono").props(
                "data-test=followed")
            self.connection = ui.badge("", color="grey").props("data-test=train-connection")
            self.figures = ui.label("").classes("text-sm").props("data-test=train-figures")
        self.problem = ui.label("").classes("text-negative")
        with ui.grid(columns=3).classes("w-full gap-2"):
            charts = progress_charts([])
            self.charts = {key: ui.echart(options).classes("h-64 w-full").props(f"data-test={key}-plot")
                           for key, options in charts.items()}
        self.evaluation = ui.column().classes("w-full").props("data-test=evaluation")

    def follow(self, address: str) -> None:
        if self.follower is not None:
            self.follower.stop()
        self.live = LiveActor(TrainKind())
        self.followed.set_text(address)
        self.figures.set_text("")
        self.problem.set_text("")
        self.evaluation.clear()
        self.connection.set_text("connecting…")
        follower = Follower(self.link, address, self.live, self.connection, self.problem,
                            lambda: self.render(follower), lambda _: self.render(follower))
        self.follower = follower
        background_tasks.create(follower.run(self.client), name=f"follow {address}")

    def render(self, follower: Follower) -> None:
        state = follower.live.state  # type: ignore[attr-defined]
        if follower is not self.follower or state is None:
            return  # a job no longer shown
        self.followed.set_text(f"{follower.address} · {state.name} · {state.status}")
        last = state.history[-1] if state.history else {}
        parts = [f"step {state.step} / {state.total}", f"{len(state.history)} checkpoint(s)"]
        if last.get("loss") is not None:
            parts.append(f"loss {last['loss']:.4g}")
        if last.get("lr") is not None:
            parts.append(f"lr {last['lr']:.3g}")
        if last.get("samples_per_s") is not None:
            parts.append(f"{last['samples_per_s']:,.0f} samples/s")
        if state.model_version is not None:
            parts.append(f"registered as {state.name} v{state.model_version}")
        if state.error:
            parts.append(state.error)
        self.figures.set_text(" · ".join(parts))
        for key, options in progress_charts(state.history).items():
            chart = self.charts[key]
            chart.options.clear()
            chart.options.update(options)
            chart.update()
        self.evaluation.clear()
        if state.evaluation:
            with self.evaluation:
                ui.label(f"Evaluation: {state.evaluation.get('games_each')} duels against each personality "
                         f"({state.evaluation.get('turns')} turns)").classes("text-lg")
                ui.table(columns=EVALUATION_COLUMNS, rows=evaluation_rows(state.evaluation),
                         row_key="personality").props("dense")
        elif state.status == "evaluating":
            with self.evaluation:
                ui.label("Evaluating against every personality…").classes("text-sm")
