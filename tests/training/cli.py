"""Running ``everturn`` in a subprocess, and killing it at the right moment without sleeping."""
from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path
from typing import Callable

from engine_ext.headless import jobs, run, write_records


def everturn(*args: object, timeout: float = 180) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "server.cli", *map(str, args)], capture_output=True, text=True,
                          timeout=timeout)


def start(log: Path, *args: object) -> subprocess.Popen:
    with open(log, "wb") as sink:
        return subprocess.Popen([sys.executable, "-m", "server.cli", *map(str, args)], stdout=sink, stderr=sink)


def kill_when(process: subprocess.Popen, ready: Callable[[], bool], timeout: float = 120) -> None:
    """SIGKILL ``process`` as soon as ``ready()`` (checked every 20 ms while waiting on the process)."""
    deadline = time.monotonic() + timeout
    while not ready():
        try:
            process.wait(timeout=0.02)
        except subprocess.TimeoutExpired:
            if time.monotonic() > deadline:
                process.kill()
                raise AssertionError("the moment to kill never came") from None
            continue
        raise AssertionError(f"the process ended (exit code {process.returncode}) before the moment to kill it")
    process.kill()
    assert process.wait(timeout=30) == -9


def simulated(out: Path, games: int = 12, turns: int = 20, seed: int = 40) -> Path:
    """Records of two-house games by the five personalities, as ``everturn sim`` writes them."""
    with open(out, "wb") as sink:
        for result in run(jobs(games, seed, 3, 2, turns, ["aggressive", "economic", "turtle", "expansionist",
                                                          "balanced"])):
            write_records(result, sink)
    return out
