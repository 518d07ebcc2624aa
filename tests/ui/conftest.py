"""A real server with its web UI (``everturn serve``) in a subprocess, and headless Chromium.

Chromium is Debian's (``/usr/bin/chromium``), driven by Playwright's Python API; nothing is
downloaded.  Screenshots of each main page land in ``EVERTURN_ARTIFACTS`` (default
``test-artifacts/ui`` under the repository) for a person to look at after a CI run.
"""
from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

CHROMIUM = "/usr/bin/chromium"
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking",
         "--disable-component-update", "--disable-sync"]
ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = Path(os.environ.get("EVERTURN_ARTIFACTS", ROOT / "test-artifacts" / "ui"))


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class Served:
    api: str
    ui: str
    operator: str
    processes: list[subprocess.Popen[str]]

    def http(self, token: str | None = None) -> httpx.Client:
        headers = {"Authorization": f"Bearer {token or self.operator}"}
        return httpx.Client(base_url=self.api, headers=headers, timeout=10.0, trust_env=False)

    def token(self, **body: Any) -> str:
        with self.http() as http:
            response = http.post("/api/v1/admin/tokens", json=body)
            assert response.status_code == 201, response.text
            return response.json()["token"]

    def stop(self) -> None:
        for process in self.processes:
            stop(process)


def start(*args: str, wait_for: tuple[str, ...], cwd: Path) -> tuple[subprocess.Popen[str], dict[str, str]]:
    """``everturn ARGS`` in a subprocess; returns once every pattern in ``wait_for`` matched a line
    of its stdout, with the first group of each match."""
    process = subprocess.Popen(
        [sys.executable, "-m", "server.cli", *args], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
        cwd=cwd, env={**{k: v for k, v in os.environ.items() if not k.startswith("PYTEST_")},  # else NiceGUI
                      "PYTHONUNBUFFERED": "1"})                                                # thinks it is a test
    watchdog = threading.Timer(60.0, process.kill)  # a process that never comes up must not hang the run
    watchdog.start()
    found: dict[str, str] = {}
    for line in process.stdout:
        for pattern in wait_for:
            match = re.search(pattern, line)
            if match and pattern not in found:
                found[pattern] = match.group(1) if match.groups() else match.group(0)
        if len(found) == len(wait_for):
            break
    watchdog.cancel()
    if len(found) < len(wait_for):
        stop(process)
        raise AssertionError(f"everturn {' '.join(args)} did not come up within a minute: missing "
                             f"{[p for p in wait_for if p not in found]}")
    threading.Thread(target=process.stdout.read, daemon=True).start()  # keep the pipe drained
    return process, found


def stop(process: subprocess.Popen[str]) -> None:
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()


TOKEN = r"first operator token \(shown once\): (\S+)"
UI_READY = r"NiceGUI ready to go"


def serve(tmp: Path, *extra: str) -> Served:
    """``everturn serve`` with its UI beside it."""
    api_port, ui_port = free_port(), free_port()
    process, found = start("serve", "--data", str(tmp / "data"), "--port", str(api_port), "--ui-port", str(ui_port),
                           *extra, wait_for=(TOKEN, UI_READY), cwd=tmp)
    served = Served(f"http://127.0.0.1:{api_port}", f"http://127.0.0.1:{ui_port}", found[TOKEN], [process])
    with served.http() as http:
        assert http.get("/health/ready").status_code == 200
    return served


@pytest.fixture(scope="module")
def served(tmp_path_factory) -> Iterator[Served]:
    served = serve(tmp_path_factory.mktemp("ui"))
    yield served
    served.stop()


@pytest.fixture(scope="module")
def virtual(tmp_path_factory) -> Iterator[Served]:
    # templates as they are: the clock tests read the server's own texts (the narrator is tested on its own)
    served = serve(tmp_path_factory.mktemp("ui-virtual"), "--clock", "virtual", "--no-narrator")
    yield served
    served.stop()


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: apt-get install chromium (.ci/run does)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=FLAGS, headless=True)
        yield browser
        browser.close()


@pytest.fixture
def page(browser, request) -> Iterator[Any]:
    """A fresh browser page; the test fails if the page logs an error to the browser's console
    (``@pytest.mark.console_errors_expected`` for a test that kills the server under an open page)."""
    context = browser.new_context(viewport={"width": 1400, "height": 900})
    page = context.new_page()
    errors: list[str] = []
    page.on("console", lambda message: errors.append(message.text) if message.type == "error" else None)
    page.on("pageerror", lambda error: errors.append(str(error)))
    yield page
    context.close()
    if not request.node.get_closest_marker("console_errors_expected"):
        assert not errors, f"the page logged errors to the browser console: {errors}"


def screenshot(page: Any, name: str) -> Path:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    page.evaluate("window.scrollTo(0, 0)")  # else the fixed header is drawn where the page was scrolled to
    page.screenshot(path=str(path), full_page=True)
    return path


def log_in(page: Any, served: Served, token: str) -> None:
    page.goto(served.ui + "/login")
    page.fill("input[data-test=token]", token)
    page.click("[data-test=login]")
    page.wait_for_url(served.ui + "/")
