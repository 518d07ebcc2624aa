"""Builds the Cython hot paths of ``engine_ext``; everything else is in pyproject.toml.

Without a C compiler the install still succeeds, with a warning: the pure-Python
references then serve (slower; ``engine_ext.compiled`` warns again at import).  Set
EVERTURN_NO_EXTENSIONS=1 to skip the build on purpose.
"""
import os
import sys

from setuptools import setup
from setuptools.command.build_ext import build_ext

from setuptools.errors import CCompilerError, ExecError, PlatformError

FAILED = (CCompilerError, ExecError, PlatformError, OSError)


class optional_build_ext(build_ext):
    """Build what compiles; warn, never fail, for what does not."""

    def run(self):
        try:
            super().run()
        except FAILED as exc:
            warn(f"no extension could be built ({exc})")

    def build_extension(self, ext):
        try:
            super().build_extension(ext)
        except FAILED as exc:
            warn(f"{ext.name} was not built ({exc})")


def warn(what):
    print(f"WARNING: everturn: {what}; the pure-Python reference serves instead (same results, slower)",
          file=sys.stderr)


ext_modules = []
if not os.environ.get("EVERTURN_NO_EXTENSIONS"):
    from Cython.Build import cythonize

    ext_modules = cythonize(
        ["engine_ext/_dice.pyx", "engine_ext/_combat.pyx", "engine_ext/_strategy.pyx"],
        compiler_directives={"language_level": "3", "boundscheck": False, "wraparound": False},
    )

setup(ext_modules=ext_modules, cmdclass={"build_ext": optional_build_ext})
