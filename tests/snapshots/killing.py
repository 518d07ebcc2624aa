"""Running a child process until it has printed enough, then ``kill -9``: what both kill-9 tests share."""
from __future__ import annotations

import os
import signal
import subprocess
import threading
from pathlib import Path


def kill_after(command: list[str], lines_wanted: int, *, what: str, drain: bool = False,
               cwd: Path | None = None) -> list[str]:
    """Start ``command``; once it printed ``lines_wanted`` lines, SIGKILL it and return what it printed.

    ``drain``: also take what was already in the pipe when it died (those lines were promises too).
    A child that dies early or is not killed fails the test, naming ``what``; one that hangs is killed
    after a minute, so the test fails rather than hangs.
    """
    child = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=cwd)
    watchdog = threading.Timer(60, child.kill)
    watchdog.start()
    try:
        lines: list[str] = []
        while len(lines) < lines_wanted:
            line = child.stdout.readline()
            if not line:
                raise AssertionError(f"{what} died early: {child.stderr.read()}")
            lines.append(line)
        os.kill(child.pid, signal.SIGKILL)
        if drain:
            lines += child.stdout.readlines()
        child.wait()
    finally:
        watchdog.cancel()
        if child.poll() is None:
            child.kill()
            child.wait()
        child.stdout.close()
        child.stderr.close()
    assert child.returncode == -signal.SIGKILL, f"{what} was not killed but exited {child.returncode}"
    return lines
