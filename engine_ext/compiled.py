"""Which build serves a hot path: its compiled twin when built, else the pure-Python reference.

``EVERTURN_NO_EXTENSIONS=1`` forces the reference everywhere.  A compiled module that is
missing without that setting (installed without a C compiler) is warned about once per
module: the reference gives the same results, only slower.
"""
from __future__ import annotations

import os
import warnings
from importlib import import_module
from types import ModuleType


class ReferenceServes(RuntimeWarning):
    """A compiled hot path is not built: its pure-Python reference serves instead."""


def pick(compiled: str, reference: str) -> tuple[ModuleType, bool]:
    """(the module that serves, whether it is the compiled one), for modules named relative to engine_ext."""
    if not os.environ.get("EVERTURN_NO_EXTENSIONS"):
        try:
            return import_module(compiled, __package__), True
        except ImportError as exc:
            warnings.warn(f"engine_ext{compiled} is not built ({exc}); the pure-Python engine_ext{reference} "
                          "serves instead: same results, slower (install with a C compiler to build it)",
                          ReferenceServes, stacklevel=2)
    return import_module(reference, __package__), False
