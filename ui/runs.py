"""Headless strategy runs started from the operator console, with progress.

The games run in the UI process's worker processes (``engine_ext.headless``), never in
the server's; records go to a JSON-lines file under the UI's run directory, which the
page names when the run is done.
"""
from __future__ import annotations

import asyncio
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

from nicegui import background_tasks, run, ui

from engine_ext.headless import jobs, summarize, write_records
from engine_ext.headless import run as run_games
from engine_ext.strategy_ai import PERSONALITIES

RUNS_DIR = Path(tempfile.gettempdir()) / "everturn-ui-runs"


class Runs:
    def build(self) -> None:
        with ui.row().classes("items-end gap-2"):
            self.games = ui.number("Games", value=4, min=1, max=1000, precision=0).classes("w-20").props(
                "data-test=run-games")
            self.turns = ui.number("Turns", value=30, min=1, max=1000, precision=0).classes("w-20").props(
                "data-test=run-turns")
            self.houses = ui.number("Houses", value=4, min=2, max=12, precision=0).classes("w-20")
            self.rings = ui.number("Rings", value=3, min=2, max=12, precision=0).classes("w-20")
            self.seed = ui.number("Seed", value=1, min=0, precision=0).classes("w-24")
            self.ai = ui.select(sorted(PERSONALITIES), value=sorted(PERSONALITIES), multiple=True,
                                label="AI personalities").classes("w-96")
            self.workers = ui.number("Workers", value=2, min=1, max=8, precision=0).classes("w-20")
            ui.button("Start", on_click=self.start).props("data-test=run-start")
        self.progress = ui.linear_progress(value=0, show_value=False).classes("w-full")
        self.status = ui.label("").props("data-test=run-status")
        self.summary = ui.column().classes("w-full").props("data-test=run-summary")

    async def start(self) -> None:
        try:
            batch = jobs(int(self.games.value or 1), int(self.seed.value or 0), int(self.rings.value or 3),
                         int(self.houses.value or 2), int(self.turns.value or 1), list(self.ai.value or []))
            if not batch or not self.ai.value:
                raise ValueError("pick at least one game and one personality")
        except ValueError as exc:
            self.status.set_text(str(exc))
            return
        RUNS_DIR.mkdir(parents=True, exist_ok=True)
        out = RUNS_DIR / f"run-{time.strftime('%Y%m%dT%H%M%S')}-{int(self.seed.value or 0)}.jsonl"
        done: list[dict[str, Any]] = []
        lock = threading.Lock()

        def play_all() -> None:  # in a worker thread: the games themselves run in processes
            with open(out, "wb") as sink:
                for result in run_games(batch, workers=int(self.workers.value or 1)):
                    kept = write_records(result, sink)
                    with lock:
                        done.append(kept)

        self.summary.clear()
        self.status.set_text(f"0/{len(batch)} games")
        started = time.monotonic()

        async def watch() -> None:
            task = background_tasks.create(run.io_bound(play_all), name="headless run")
            while not task.done():
                with lock:
                    count = len(done)
                self.progress.set_value(count / len(batch))
                self.status.set_text(f"{count}/{len(batch)} games · {time.monotonic() - started:.1f} s")
                await asyncio.sleep(0.3)
            try:
                task.result()
            except Exception as exc:  # noqa: BLE001 - shown to the operator, not raised into the page
                self.status.set_text(f"the run failed: {exc}")
                return
            self.progress.set_value(1.0)
            self.status.set_text(f"{len(done)}/{len(batch)} games · {time.monotonic() - started:.1f} s · "
                                 f"records in {out}")
            report = summarize(done)
            with self.summary:
                for name, wins in report["wins"].items():
                    low, high = wins["ci95"]
                    ui.label(f"{name}: won {wins['won']} of {wins['played']} ({wins['share']:.0%}, "
                             f"95% {low:.0%}–{high:.0%})")
                turns, ms = report["game_turns"], report["turn_ms"]
                ui.label(f"game length: mean {turns['mean']} turns; turn time p50 {ms['p50']} ms, "
                         f"p99 {ms['p99']} ms")

        background_tasks.create(watch(), name="watch headless run")
