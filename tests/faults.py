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
from typing import Callable, Iterator

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


@contextlib.contextmanager
def ext4_disk(path: Path, mib: int) -> Iterator[Callable[[], None]]:
    """An ext4 file system (a loop device over a file) mounted at ``path`` with ``errors=remount-ro``;
    yields a function that makes the kernel remount it read-only, as it does after an I/O error
    (``/sys/fs/ext4/<dev>/trigger_fs_error``): writes then fail with EROFS, even to open files.
    Skips where loop devices, mkfs.ext4 or that switch are not available."""
    if shutil.which("mkfs.ext4") is None or shutil.which("losetup") is None:
        pytest.skip("a read-only file system needs mkfs.ext4 and losetup")
    image = path.with_name(path.name + ".img")
    with open(image, "wb") as out:
        out.truncate(mib << 20)
    made = subprocess.run(["mkfs.ext4", "-q", "-F", str(image)], capture_output=True, text=True)
    path.mkdir(parents=True, exist_ok=True)
    mounted = made.returncode == 0 and subprocess.run(
        ["mount", "-o", "loop,errors=remount-ro", str(image), str(path)], capture_output=True, text=True).returncode == 0
    if not mounted:
        pytest.skip(f"mounting an ext4 image needs loop devices and CAP_SYS_ADMIN: {made.stderr.strip()}")
    device = subprocess.run(["findmnt", "-n", "-o", "SOURCE", str(path)], capture_output=True, text=True).stdout.strip()
    switch = Path("/sys/fs/ext4") / Path(device).name / "trigger_fs_error"
    try:
        if not switch.exists():
            pytest.skip(f"this kernel has no {switch} to make a file system read-only on purpose")
        yield lambda: switch.write_text("1")
    finally:
        subprocess.run(["umount", "-l", str(path)], capture_output=True)
        if device.startswith("/dev/loop"):
            subprocess.run(["losetup", "-d", device], capture_output=True)
        image.unlink(missing_ok=True)


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

