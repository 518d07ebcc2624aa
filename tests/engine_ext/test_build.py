"""Without a C compiler the package still installs and works: the references serve, with a warning."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from engine_ext import strategy_ref
from engine_ext.compiled import ReferenceServes, pick

ROOT = Path(__file__).resolve().parents[2]


def test_a_missing_compiled_module_is_warned_about_and_the_reference_serves(monkeypatch):
    monkeypatch.delenv("EVERTURN_NO_EXTENSIONS", raising=False)
    with pytest.warns(ReferenceServes, match="not built"):
        serving, compiled = pick("._never_built", ".strategy_ref")
    assert serving is strategy_ref and compiled is False


def test_a_build_without_a_c_compiler_warns_and_succeeds(tmp_path):
    env = {**os.environ, "CC": "/bin/false", "LDSHARED": "/bin/false"}
    env.pop("EVERTURN_NO_EXTENSIONS", None)
    done = subprocess.run([sys.executable, "setup.py", "-q", "build_ext", "--build-temp", str(tmp_path / "t"),
                           "--build-lib", str(tmp_path / "lib")], cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=300)
    assert done.returncode == 0, done.stderr
    assert "engine_ext._strategy was not built" in done.stderr and "reference serves" in done.stderr
    assert not list(tmp_path.rglob("*.so"))
