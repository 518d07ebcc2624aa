"""Headless strategy games: records a trainer can read, the same from the same seed, across processes."""
from __future__ import annotations

import subprocess
import sys

import orjson
import pytest

from engine_ext.headless import ACTIONS, STATE_FIELDS, jobs, play, run, summarize


def test_a_game_yields_fixed_size_records_with_its_outcome():
    result = play(jobs(1, 3, 3, 3, 12, ["aggressive", "economic", "balanced"])[0])
    records = result["records"]
    assert len(records) == 3 * result["turns"] and result["turns"] == 12
    for record in records:
        assert len(record["state"]) == len(STATE_FIELDS) and len(record["mask"]) == len(ACTIONS)
        assert len(record["chosen"]) == len(ACTIONS) and set(record["mask"]) <= {0, 1}
        assert all(not chosen or open_ for chosen, open_ in zip(record["chosen"], record["mask"], strict=True)
                   if chosen), "a chosen kind of order must have been open"
        assert record["outcome"] == int(record["house"] == result["winner"])
        assert record["meta"]["seed"] == 3 and record["meta"]["engine"]
    assert sum(r["outcome"] for r in records) == (result["turns"] if result["winner"] is not None else 0)


def test_processes_play_exactly_the_games_one_process_plays():
    batch = jobs(3, 10, 3, 2, 10, ["turtle", "expansionist"])
    alone = sorted((r["game"], r["winner"], r["turns"], orjson.dumps(r["records"])) for r in run(batch, workers=1))
    together = sorted((r["game"], r["winner"], r["turns"], orjson.dumps(r["records"])) for r in run(batch, workers=2))
    assert alone == together
    in_order = [(r["game"], orjson.dumps(r["records"])) for r in run(batch, workers=2, ordered=True)]
    assert in_order == [(game, records) for game, _, _, records in alone]
    summary = summarize(list(run(batch)))
    assert summary["games"] == 3 and set(summary["wins"]) == {"turtle", "expansionist"}
    assert sum(w["won"] for w in summary["wins"].values()) <= 3


def test_the_command_writes_records_and_a_summary(tmp_path):
    out = tmp_path / "runs.jsonl"
    done = subprocess.run([sys.executable, "-m", "server.cli", "sim", "--games", "2", "--turns", "6", "--houses", "2",
                           "--rings", "2", "--out", str(out), "--json"], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    summary = orjson.loads(done.stdout)
    assert summary["games"] == 2 and summary["out"] == str(out)
    lines = out.read_bytes().splitlines()
    assert len(lines) == 2 * 2 * 6 and {"state", "mask", "chosen", "orders", "outcome"} <= set(orjson.loads(lines[0]))


def test_ray_tasks_play_exactly_the_games_local_processes_play(monkeypatch):
    ray = pytest.importorskip("ray")  # the test extras install it; a bare install may not
    monkeypatch.delenv("RAY_ADDRESS", raising=False)
    batch = jobs(3, 10, 3, 2, 10, ["turtle", "expansionist"])
    try:
        on_ray = sorted((r["game"], orjson.dumps(r["records"])) for r in run(batch, workers=2, backend="ray"))
    finally:
        ray.shutdown()
    assert on_ray == sorted((r["game"], orjson.dumps(r["records"])) for r in run(batch, workers=1))


WITHOUT_RAY = "import sys; sys.modules['ray'] = None; from server.cli import main; sys.exit(main(sys.argv[1:]))"


@pytest.mark.parametrize("args, says", [(["--ai", "timid"], "no AI personality"), (["--rings", "1"], "2 to 12 rings"),
                                        (["--games", "0"], "--games is 1"), (["--backend", "ray"], "needs Ray")])
def test_bad_arguments_are_refused_plainly(tmp_path, args, says):
    # as on a machine without Ray (importing it fails)
    done = subprocess.run([sys.executable, "-c", WITHOUT_RAY, "sim", "--turns", "2", "--out",
                           str(tmp_path / "r.jsonl"), *args], capture_output=True, text=True, timeout=120)
    assert done.returncode == 2 and says in done.stderr


def test_games_of_personalities_never_load_torch():
    # engine_ext knows nothing of torch: learned players come through the caller's sources, only when seated
    script = ("import sys; from engine_ext.headless import jobs, play; play(jobs(1, 5, 2, 2, 4, ['balanced'])[0]); "
              "sys.exit('torch' in sys.modules or 'training' in sys.modules)")
    assert subprocess.run([sys.executable, "-c", script], timeout=60).returncode == 0
