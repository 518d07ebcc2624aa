"""What the worker processes' forkserver imports once as it starts; never imported by the server.

:class:`~actors.runtime.work.Workers` names this module as the forkserver's only preload and the
modules the kinds' process work runs (``Behavior.worker_preload``: torch, the trainer, the
learned players) in ``EVERTURN_WORKER_PRELOAD``.  The forkserver imports them here, before
it forks any worker, so every worker starts with them loaded: a replacement after a crash
serves in milliseconds instead of importing torch again (about a second).

A module that fails to import is skipped, its traceback on stderr.  ``multiprocessing``'s
own preload forgives only ``ImportError``: anything else (torch's ``OSError`` for a missing
shared library) would end the forkserver, and every process call after it would fail with
an ``EOFError`` that names nothing.  Skipped here, the module is imported again by the
worker that needs it, and that call fails with the real error.
"""
from __future__ import annotations

import importlib
import os
import traceback

from .work import PRELOAD_ENV

for _name in filter(None, os.environ.get(PRELOAD_ENV, "").split(",")):
    try:
        importlib.import_module(_name)
    except Exception:  # noqa: BLE001 (the worker that needs it raises it again, to its caller)
        traceback.print_exc()
