"""The everturn command as an operator uses it."""
from __future__ import annotations

import subprocess
import sys

from server.cli import build_parser, main
from snapshots import Store


def test_help_names_every_command(capsys):
    text = build_parser().format_help()
    for command in ("serve", "bench", "backup", "restore"):
        assert command in text


def test_backup_of_a_directory_held_by_a_running_server_is_refused(tmp_path, capsys):
    held = Store.open(tmp_path / "data")   # this process plays the running server
    try:
        assert main(["backup", str(tmp_path / "bk"), "--data", str(tmp_path / "data")]) == 2
    finally:
        held.close()
    err = capsys.readouterr().err
    assert "in use by another Everturn process" in err
    assert "works on a stopped one" in err
    assert not (tmp_path / "bk").exists()


def test_serve_refuses_a_held_data_directory(tmp_path):
    held = Store.open(tmp_path / "data")
    try:
        result = subprocess.run([sys.executable, "-m", "server.cli", "serve", "--data", str(tmp_path / "data")],
                                capture_output=True, text=True, timeout=60)
    finally:
        held.close()
    assert result.returncode == 2
    assert f"data directory {tmp_path / 'data'} is in use" in result.stderr


def test_both_benchmarks_take_json():
    parser = build_parser()
    for what in ("runtime", "server"):
        args = parser.parse_args(["bench", what, "--json"])
        assert (args.bench, args.json) == (what, True)
