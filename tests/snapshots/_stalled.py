"""The everturn command, stopped for good in the middle of its first directory copy.

``python -m tests.snapshots._stalled ARGS...`` runs ``everturn ARGS...`` with ``shutil.copytree`` made to
print ``copying`` once it has copied its first file and then wait to be killed: a kill -9
test kills it there, mid-backup (blobs) or mid-restore, every time, with no timing involved.
"""
from __future__ import annotations

import shutil
import sys
import threading

from server.cli import main

_copytree = shutil.copytree


def _copy_then_wait(src: str, dst: str, *, follow_symlinks: bool = True) -> str:
    shutil.copy2(src, dst, follow_symlinks=follow_symlinks)
    print("copying", flush=True)
    threading.Event().wait()  # until SIGKILL
    return dst


def _stalled_copytree(src, dst, symlinks=False, ignore=None, copy_function=None, *args, **kwargs):
    return _copytree(src, dst, symlinks, ignore, _copy_then_wait, *args, **kwargs)


if __name__ == "__main__":
    shutil.copytree = _stalled_copytree  # backup and restore look it up on the module
    sys.exit(main(sys.argv[1:]))
