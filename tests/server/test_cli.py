"""The everturn command as an operator uses it."""
from __future__ import annotations

import json
import subprocess
import sys

import trio

from actors import RuntimeConfig, TrioClock, open_runtime
from actors.campaign.messages import PostAction, PostNarration
from server.cli import COMMANDS, build_parser, handler, main
from snapshots import Store

from ..campaigns import GM, KINDS, player, started


def test_help_names_every_command(capsys):
    text = build_parser().format_help()
    for command in ("serve", "bench", "export", "backup", "restore", "token"):
        assert command in text


def test_every_command_has_a_handler():
    commands = build_parser()._subparsers._group_actions[0].choices
    assert set(commands) == set(COMMANDS)
    for command in commands:
        assert callable(handler(command)), command


def test_help_loads_neither_the_runtime_the_server_nor_torch_llama_or_nicegui():
    probe = ("import sys\n"
             "from server.cli import main\n"
             "for argv in (['--help'], ['serve', '--help'], ['bench', '--help'], ['ui', '--help']):\n"
             "    try:\n"
             "        main(argv)\n"
             "    except SystemExit:\n"
             "        pass\n"
             "heavy = ('torch', 'llama_cpp', 'nicegui', 'quart', 'hypercorn', 'rocksdict', 'trio', 'actors')\n"
             "print('loaded:', sorted(name for name in heavy if name in sys.modules))\n")
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines()[-1] == "loaded: []"


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


def test_every_benchmark_takes_json():
    parser = build_parser()
    for what in ("runtime", "server", "campaigns", "combat", "strategy"):
        args = parser.parse_args(["bench", what, "--json"])
        assert (args.bench, args.json) == (what, True)


async def _a_played_campaign(data) -> None:
    store = Store.open(data)
    try:
        async with open_runtime(store, KINDS, clock=TrioClock(), config=RuntimeConfig(lag_interval=None)) as rt:
            await started(rt)
            await rt.ask("campaign/c1", PostAction(text="I try the door"), by=player("ayla"))
            await rt.ask("campaign/c1", PostNarration(text="It groans open."), by=GM)
    finally:
        store.close()


def test_export_campaign_writes_the_event_log_and_dataset_of_a_stopped_server(tmp_path, capsys):
    data, out = tmp_path / "data", tmp_path / "out"
    trio.run(_a_played_campaign, data)

    assert main(["export", "campaign", "c1", "--format", "jsonl", "--data", str(data), "--out", str(out)]) == 0

    printed = capsys.readouterr().out
    assert f"campaign c1: 5 events -> {out / 'c1.events.jsonl'}" in printed
    assert f"0 dice rolls -> {out / 'c1.rolls.jsonl'}" in printed
    assert "1 turns, 1 kept" in printed and "(dropped: none)" in printed
    rows = [json.loads(line) for line in (out / "c1.dataset.jsonl").read_text().splitlines()]
    assert [m["content"] for m in rows[0]["messages"][1:]] == ["Ayla: I try the door", "It groans open."]
    assert len((out / "c1.events.jsonl").read_text().splitlines()) == 5


def test_export_refusals_name_the_problem_and_write_nothing(tmp_path, capsys):
    data, out = tmp_path / "data", tmp_path / "out"
    assert main(["export", "campaign", "c1", "--data", str(data), "--out", str(out)]) == 2
    assert f"no data directory at {data}" in capsys.readouterr().err
    assert not data.exists()  # an export never creates a data directory

    trio.run(_a_played_campaign, data)
    assert main(["export", "campaign", "nope", "--data", str(data), "--out", str(out)]) == 2
    assert "no campaign 'nope' in this data directory" in capsys.readouterr().err
    assert main(["export", "campaign", "c1", "--format", "csv", "--data", str(data), "--out", str(out)]) == 2
    assert "unsupported export format 'csv'; this version writes: jsonl" in capsys.readouterr().err
    held = Store.open(data)
    try:
        assert main(["export", "campaign", "c1", "--data", str(data), "--out", str(out)]) == 2
    finally:
        held.close()
    assert "Stop the server first" in capsys.readouterr().err
    assert not out.exists()
