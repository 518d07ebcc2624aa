"""Disk faults for tests: a size-limited file system, and syscall faults injected with strace.

Both need privileges a test machine may not grant (mounting; ptrace): each skips with the
reason when it cannot be had, never fakes the fault.
"""
from __future__ import annotations

import contextlib
import errno
import shutil
import subprocess
import threading
import time
from pathlib import Path
from typing import Iterator

import pytest


@contextlib.contextmanager
def small_disk(path: Path, mib: int) -> Iterator[Path]:
    """A tmpfs of ``mib`` MiB mounted at ``path`` for the ``with`` (skips where mounting is not allowed)."""
    path.mkdir(parents=True, exist_ok=True)
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={mib}m,mode=0700", "tmpfs", str(path)],
                             capture_output=True, text=True)
    if mounted.returncode != 0:
        pytest.skip(f"a size-limited file system needs 'mount -t tmpfs' (root or CAP_SYS_ADMIN): "
                    f"{mounted.stderr.strip() or mounted.returncode}")
    try:
        yield path
    finally:
        subprocess.run(["umount", "-l", str(path)], capture_output=True)


def fill(disk: Path) -> Path:
    """Write a file on ``disk`` until it is full; the file (remove it to free the space)."""
    filler = disk / "filler"
    block = b"\0" * (1 << 16)
    with open(filler, "wb", buffering=0) as out:
        try:
            while True:
                out.write(block)
        except OSError as exc:
            assert exc.errno == errno.ENOSPC, exc
        try:  # the last partial block too: nothing left
            while True:
                out.write(b"\0" * 512)
        except OSError:
            pass
    return filler


class Strace:
    """``strace`` attached to a running process, injecting faults into some of its syscalls.

    ``Strace(pid, "fdatasync,fsync", "error=EROFS")`` makes each of them fail with EROFS;
    ``"delay_enter=2000000"`` makes each take 2 s longer.  Detaching (``stop``) ends the fault.
    """

    def __init__(self, pid: int, syscalls: str, inject: str) -> None:
        if shutil.which("strace") is None:
            pytest.skip("fault injection into syscalls needs strace (apt-get install strace)")
        self.process = subprocess.Popen(
            ["strace", "-f", "-p", str(pid), "-o", "/dev/null", "-e", f"trace={syscalls}",
             "-e", f"inject={syscalls}:{inject}"],
            stderr=subprocess.PIPE, text=True)
        assert self.process.stderr is not None
        deadline = time.monotonic() + 10
        seen = ""
        while time.monotonic() < deadline:
            line = self.process.stderr.readline()
            seen += line
            if "attached" in line:  # keep reading its messages, or a full pipe would stop it
                threading.Thread(target=self.process.stderr.read, daemon=True).start()
                return
            if not line and self.process.poll() is not None:
                break
        self.stop()
        pytest.skip(f"strace could not attach to process {pid} (ptrace not permitted?): {seen.strip()}")

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()  # strace detaches on SIGTERM: the syscalls work again
            self.process.wait(timeout=10)

    def __enter__(self) -> "Strace":
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

