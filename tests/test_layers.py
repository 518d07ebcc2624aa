"""The packages' layering (docs/architecture.md), checked from the code so it stays:

    engine_ext  <  snapshots  <  actors (contract, kinds; runtime)  <  training  <  server, ui

A package imports only those below it; the kinds' rules and the UI never load trio, RocksDB,
torch or llama.cpp (what they need of the runtime is the contract in actors.behavior/messages).
"""
from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("engine_ext", "snapshots", "actors", "training", "server", "ui")
ABOVE = {  # a package may not import these
    "engine_ext": {"snapshots", "actors", "training", "server", "ui"},
    "snapshots": {"actors", "training", "server", "ui"},
    "actors": {"training", "server", "ui"},
    "training": {"server", "ui"},
    "ui": {"snapshots"},  # the UI talks to a server: it folds events, it never opens a store
}
HEAVY = ("trio", "rocksdict", "torch", "llama_cpp")


def imported_packages(path: Path) -> set[tuple[str, int]]:
    """(top-level package, line) of every import in ``path``, absolute and in functions too."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found |= {(alias.name.split(".")[0], node.lineno) for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.add((node.module.split(".")[0], node.lineno))
    return found


@pytest.mark.parametrize("package", sorted(ABOVE))
def test_a_package_imports_nothing_above_it(package):
    wrong = []
    for path in sorted((ROOT / package).rglob("*.py")):
        for name, line in imported_packages(path):
            if name in ABOVE[package]:
                wrong.append(f"{path.relative_to(ROOT)}:{line} imports {name}")
    assert wrong == []


def test_engine_ext_names_no_module_above_it_even_as_a_string():
    """No hidden way up either (a module name handed to importlib)."""
    wrong = [f"{path.relative_to(ROOT)}: {above!r}" for path in sorted((ROOT / "engine_ext").rglob("*.py"))
             for above in ABOVE["engine_ext"] if f'"{above}.' in path.read_text(encoding="utf-8")]
    assert wrong == []


def loaded_after(imports: str) -> set[str]:
    script = f"import sys\n{imports}\nprint(' '.join(sorted(sys.modules)))"
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert done.returncode == 0, done.stderr
    return set(done.stdout.split())


RULES = [f"actors.{kind}.{module}" for kind, modules in {
    "campaign": ("messages", "state", "behavior", "enforcement", "status", "narration"),
    "combat": ("messages", "state", "behavior", "rules", "log", "difficulty"),
    "strategy": ("messages", "state", "behavior", "fog", "policies"),
    "train": ("messages", "state", "behavior", "jobs"),
}.items() for module in modules]


def test_the_kinds_rules_load_neither_trio_nor_rocksdb_nor_native_code():
    loaded = loaded_after("\n".join(f"import {module}" for module in RULES))
    assert loaded & set(HEAVY) == set()
    assert not any(name.startswith(("actors.runtime", "snapshots.store", "training.")) for name in loaded)


def test_the_ui_loads_no_runtime_store_or_native_code():
    loaded = loaded_after("import ui.app, ui.table, ui.encounter, ui.console, ui.strategy, ui.training")
    assert loaded & set(HEAVY) == set()
    assert not any(name.startswith(("actors.runtime", "snapshots.store", "server.app", "server.routes"))
                   for name in loaded)
