"""The console's Narrator tab: health (ready or paused, and why), its worker processes, figures, the last
calls, pause and resume."""
from __future__ import annotations

from typing import Any

from nicegui import ui

from .format import clock_time
from .link import Link, LinkError, error_text

CALLS = [
    {"name": "at", "label": "at", "field": "at", "align": "left"},
    {"name": "campaign", "label": "campaign", "field": "campaign", "align": "left"},
    {"name": "post", "label": "post", "field": "post"},
    {"name": "purpose", "label": "purpose", "field": "purpose"},
    {"name": "outcome", "label": "outcome", "field": "outcome"},
    {"name": "latency", "label": "ms", "field": "latency_ms"},
    {"name": "tokens", "label": "tokens", "field": "completion_tokens"},
    {"name": "error", "label": "why the template served", "field": "error", "align": "left"},
]
WORKERS = [
    {"name": "slot", "label": "worker", "field": "slot"},
    {"name": "state", "label": "state", "field": "state"},
    {"name": "pid", "label": "pid", "field": "pid"},
    {"name": "up", "label": "up (s)", "field": "up_s"},
    {"name": "failed", "label": "models it could not load", "field": "failed", "align": "left"},
]


def health_text(status: dict[str, Any]) -> str:
    health = status["health"]
    if health["state"] == "paused":
        crashes = health.get("consecutive_crashes") or 0
        why = "by an operator" if health["paused_by"] == "operator" else (
            f"after {crashes} worker crashes in a row: {health['last_failure']}" if crashes >= 2 else
            f"after {health['consecutive_failures']} failure(s): {health['last_failure']}")
        return f"paused for {health['paused_for_s']:.0f} s more, {why}; the templates serve meanwhile"
    return "ready" + (f" ({health['consecutive_failures']} recent failures)" if health["consecutive_failures"] else "")


def figures_text(status: dict[str, Any]) -> str:
    outcomes = ", ".join(f"{n} {outcome.replace('_', ' ')}" for outcome, n in status["outcomes"].items() if n)
    rate = f"{status['tokens_per_s']:.0f} tokens/s" if status["tokens_per_s"] else "no tokens yet"
    p50, p95 = status["latency_p50_ms"], status["latency_p95_ms"]
    latency = f" · p50 {p50:.0f} ms, p95 {p95:.0f} ms" if p50 is not None and p95 is not None else ""
    return (f"{status['busy']}/{status['slots']} workers busy, {status['waiting']} waiting · {rate}{latency} · "
            f"{outcomes or 'no calls yet'}")


def workers_text(status: dict[str, Any]) -> str:
    """The worker processes in one line: crashes and restarts since the server started, and the last crash."""
    crashes, restarts = status["worker_crashes"], status["worker_restarts"]
    line = (f"{len(status['workers'])} worker process(es) · {crashes} crash{'es' if crashes != 1 else ''}, "
            f"{restarts} restarted past a deadline")
    return line + (f" · last crash: {status['last_worker_crash']}" if status["last_worker_crash"] else "")


class Narrator:
    def __init__(self, link: Link) -> None:
        self.link = link

    def build(self) -> None:
        with ui.row().classes("w-full items-center gap-2"):
            self.badge = ui.badge("…", color="grey").props("data-test=narrator-state")
            self.health = ui.label("").props("data-test=narrator-health")
            ui.space()
            ui.button("Resume", on_click=self.resume, color="positive").props("data-test=narrator-resume")
            self.pause_s = ui.number("Pause (s)", value=3600, min=1, max=7 * 86400, precision=0).props(
                "dense").classes("w-28")
            ui.button("Pause", on_click=self.pause).props("outline data-test=narrator-pause")
        self.figures = ui.label("").classes("text-sm text-grey-8").props("data-test=narrator-figures")
        self.models = ui.label("").classes("text-xs text-grey-7 font-mono")
        self.crashes = ui.label("").classes("text-sm").props("data-test=narrator-crashes")
        self.workers = ui.table(columns=WORKERS, rows=[], row_key="slot").classes("w-full").props(
            "dense data-test=narrator-workers")
        self.calls = ui.table(columns=CALLS, rows=[], row_key="key").classes("w-full").props(
            "dense data-test=narrator-calls")

    async def poll(self) -> None:
        try:
            status = await self.link.get("/api/v1/admin/narrator")
        except LinkError as exc:
            self.badge.set_text("off" if exc.code == "narrator/disabled" else "unknown")
            self.health.set_text(error_text(exc))
            return
        self.show(status)

    def show(self, status: dict[str, Any]) -> None:
        state = status["health"]["state"]
        self.badge.set_text(state)
        self.badge.props(f"color={'positive' if state == 'ready' else 'warning'}")
        self.health.set_text(health_text(status))
        self.figures.set_text(figures_text(status))
        self.models.set_text("models: " + ", ".join(
            f"{name}{' (default)' if name == status['default'] else ''}: {path}"
            for name, path in status["models"].items()))
        self.crashes.set_text(workers_text(status))
        self.crashes.classes(replace="text-sm " + ("text-negative" if status["worker_crashes"] else "text-grey-8"))
        self.workers.rows = [{**worker, "failed": "; ".join(f"{name}: {why}" for name, why in
                                                            worker["failed_models"].items()) or "—"}
                             for worker in status["workers"]]
        self.workers.update()
        self.calls.rows = [{**call, "key": f"{call['campaign']}#{call['post']}#{i}", "at": clock_time(call["at"])}
                           for i, call in enumerate(status["recent"])]
        self.calls.update()

    async def resume(self) -> None:
        await self.act("/api/v1/admin/narrator/resume", {}, "The narrator is back.")

    async def pause(self) -> None:
        seconds = float(self.pause_s.value or 3600)
        await self.act("/api/v1/admin/narrator/pause", {"seconds": seconds}, f"Paused for {seconds:.0f} s.")

    async def act(self, path: str, body: dict[str, Any], done: str) -> None:
        try:
            status = await self.link.post(path, body)
        except LinkError as exc:
            ui.notify(error_text(exc), type="negative")
            return
        ui.notify(done, type="positive")
        self.show(status)
