"""Which build serves a hot path: its compiled twin when built, else the pure-Python reference.

``EVERTURN_NO_EXTENSIONS=1`` forces the reference everywhere.
"""
from __future__ import annotations

import os
from importlib import import_module
from types import ModuleType


def pick(compiled: str, reference: str) -> tuple[ModuleType, bool]:
    """(the module that serves, whether it is the compiled one), for modules named relative to engine_ext."""
    if not os.environ.get("EVERTURN_NO_EXTENSIONS"):
        try:
            return import_module(compiled, __package__), True
        except ImportError:
            pass
    return import_module(reference, __package__), False
