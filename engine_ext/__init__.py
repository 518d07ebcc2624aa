"""Hot simulation paths: Cython modules beside the pure-Python references they must match.

Nothing here knows about trio or the server, so a Ray task or a process pool can run it.
"""
from . import dice

__all__ = ["dice"]
