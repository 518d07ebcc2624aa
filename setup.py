"""Builds the Cython hot paths of ``engine_ext``; everything else is in pyproject.toml.

Set EVERTURN_NO_EXTENSIONS=1 to skip the build: the pure-Python references then serve.
"""
import os

from setuptools import setup

ext_modules = []
if not os.environ.get("EVERTURN_NO_EXTENSIONS"):
    from Cython.Build import cythonize

    ext_modules = cythonize(
        ["engine_ext/_dice.pyx", "engine_ext/_combat.pyx", "engine_ext/_strategy.pyx"],
        compiler_directives={"language_level": "3", "boundscheck": False, "wraparound": False},
    )

setup(ext_modules=ext_modules)
