"""Training jobs and the model registry in the operator console, in headless Chromium against
``everturn serve``: a tiny job trains to the end with its plots filling in, its model shows
in the registry with its evaluation; another is paused and cancelled; a bad records path
is refused inline."""
from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from .conftest import ROOT, Served, log_in, screenshot, serve

TINY = {"steps": "24", "selfplay": "2", "seed": "3"}
TINY_MORE = {"batch": "32", "checkpoint_every": "5", "games_per_update": "2", "turns": "8", "eval_games": "2"}
POINTS = ("([test]) => { const node = document.querySelector(`[data-test=${test}]`);"  # the points an echart draws
          " const chart = node && getElement(node)?.chart;"
          " return chart ? chart.getOption().series.reduce((n, s) => n + s.data.length, 0) : 0; }")


@pytest.fixture(scope="module")
def trainer(tmp_path_factory) -> Iterator[tuple[Served, Path]]:
    """``everturn serve`` whose jobs register models in ``tmp/models``: ``--models`` once serve has it, else
    the default ``./models`` in the server's working directory, which is ``tmp``."""
    tmp = tmp_path_factory.mktemp("ui-training")
    help_text = subprocess.run([sys.executable, "-m", "server.cli", "serve", "--help"], capture_output=True,
                               text=True, cwd=ROOT, timeout=60).stdout
    models = tmp / "models"
    served = serve(tmp, *(("--models", str(models)) if "--models" in help_text else ()))
    yield served, models
    served.stop()


@pytest.fixture(scope="module")
def records(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("sim") / "runs.jsonl"
    done = subprocess.run([sys.executable, "-m", "server.cli", "sim", "--games", "10", "--turns", "16", "--houses",
                           "2", "--rings", "3", "--seed", "60", "--out", str(out)], capture_output=True, text=True,
                          cwd=ROOT, timeout=300)
    assert done.returncode == 0, done.stderr
    return out


def open_training(page, served: Served) -> None:
    log_in(page, served, served.operator)
    page.goto(served.ui + "/console")
    page.click("[data-test=tab-training]")
    page.wait_for_selector("[data-test=train-start]")


def fill_job(page, job: str, data: str, name: str, fields: dict[str, str], more: dict[str, str]) -> None:
    page.fill("input[data-test=train-data]", data)
    page.fill("input[data-test=train-name]", name)
    page.fill("input[data-test=train-id]", job)
    for key, value in fields.items():
        page.fill(f"input[data-test=train-{key}]", value)
    if more:
        if not page.is_visible("input[data-test=train-batch]"):
            page.click("text=More hyper-parameters")
        for key, value in more.items():
            page.fill(f"input[data-test=train-{key}]", value)


def test_a_bad_records_path_is_refused_inline_with_the_servers_code(trainer, page):
    served, _ = trainer
    open_training(page, served)
    fill_job(page, "nowhere", "/no/such/runs.jsonl", "duke", {}, {})
    page.click("[data-test=train-start]")
    error = page.wait_for_selector("[data-test=train-error]:has-text('command/invalid')")
    assert "no records file at /no/such/runs.jsonl" in error.inner_text()
    screenshot(page, "training-error")
    with served.http() as http:                                              # refused: the job never existed
        assert http.get("/api/v1/actors/train/nowhere").status_code == 404


def test_an_operator_pauses_and_cancels_a_job_from_its_buttons(trainer, records, page):
    served, _ = trainer
    open_training(page, served)
    fill_job(page, "earl-1", str(records), "earl", {"steps": "100000"}, {"batch": "32", "checkpoint_every": "5"})
    page.click("[data-test=train-start]")
    page.wait_for_selector("[data-test=job-status-earl-1]:has-text('running')")
    page.wait_for_function(POINTS, arg=["loss-plot"])                       # live: checkpoints plotted as they come
    assert "running" in page.inner_text("[data-test=followed]")
    page.click("[data-test=pause-earl-1]")
    page.wait_for_selector("[data-test=job-status-earl-1]:has-text('paused')")
    page.wait_for_selector("[data-test=resume-earl-1]:not([disabled])")
    page.click("[data-test=cancel-earl-1]")
    page.fill("input[data-test=cancel-reason]", "wrong records")
    page.click("[data-test=cancel-confirm]")
    page.wait_for_selector("[data-test=job-status-earl-1]:has-text('cancelled')")
    page.wait_for_selector("[data-test=job-earl-1] >> text=wrong records")
    assert page.is_disabled("[data-test=pause-earl-1]") and page.is_disabled("[data-test=cancel-earl-1]")
    page.wait_for_selector(".q-dialog", state="detached")
    screenshot(page, "training-cancelled")
    with served.http() as http:
        state = http.get("/api/v1/actors/train/earl-1").json()["state"]
    assert state["status"] == "cancelled" and state["error"] == "wrong records"


def test_a_tiny_job_trains_live_to_the_end_and_its_model_is_listed_with_its_evaluation(trainer, records, page):
    served, models = trainer
    open_training(page, served)
    fill_job(page, "duke-1", str(records), "duke", TINY, TINY_MORE)
    page.click("[data-test=train-start]")
    page.wait_for_selector("[data-test=followed]:has-text('train/duke-1')")
    page.wait_for_selector("[data-test=followed]:has-text('finished')", timeout=120_000)
    page.wait_for_selector("[data-test=job-status-duke-1]:has-text('finished')")
    assert page.evaluate(POINTS, ["loss-plot"]) >= 2 * 6                   # loss and lr at six checkpoints
    assert page.evaluate(POINTS, ["selfplay-plot"]) >= 1                   # won/games of the self-play chunk
    figures = page.inner_text("[data-test=train-figures]")
    assert "step 26 / 26" in figures and "6 checkpoint(s)" in figures and "registered as duke v1" in figures
    evaluation = page.inner_text("[data-test=evaluation]")
    for personality in ("aggressive", "economic", "turtle", "expansionist", "balanced"):
        assert personality in evaluation
    screenshot(page, "training")

    page.click("[data-test=tab-models]")
    page.wait_for_selector("[data-test=train-start]", state="hidden")    # the tabs have slid over
    row = page.wait_for_selector("[data-test=models] tbody tr:has-text('duke v1')")
    assert "not tried" in row.inner_text() and "%" in row.inner_text()     # evaluated; the gate not run yet
    assert "vs balanced" in page.inner_text("[data-test=models] thead")
    screenshot(page, "training-models")
    assert (models / "duke" / "v1" / "meta.json").exists()   # --models, or ./models in the server's directory
