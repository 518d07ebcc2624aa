"""``everturn bench peers`` at a tiny scale: the three servers come up, one Node driver loads them,
and the JSON names every ratio issue 22 asks for, with positive figures behind them."""
from __future__ import annotations

import json
import math
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from server.bench import peers

ROOT = Path(__file__).resolve().parents[2]
RATIOS = ("rtt_p50_vs_floor", "rtt_p99_vs_floor", "rtt_p99_vs_floor_one_campaign", "fanout_p99_vs_floor",
          "acked_vs_floor", "kb_per_conn_vs_floor", "rtt_p50_vs_colyseus", "rtt_p99_vs_colyseus",
          "fanout_p99_vs_colyseus", "acked_per_s_own", "acked_per_s_one_campaign", "shard_scaling")
TINY = ["--rounds", "1", "--clients", "5", "--round-trips", "3", "--subscribers", "20", "--triggers", "2",
        "--seconds", "1", "--in-flight", "2", "--idle", "200", "--scaling-clients", "5"]


@pytest.mark.skipif(not (shutil.which("node") and shutil.which("npm")),
                    reason="everturn bench peers needs node and npm")
def test_a_tiny_run_prints_every_ratio_with_positive_figures_behind_it():
    try:
        colyseus_missing = peers.prepare(peers.cache_dir())  # npm install, once per cache
    except peers.Unavailable as exc:
        pytest.skip(f"the Node driver cannot run here: {exc}")
    extra = ["--no-colyseus"] if colyseus_missing else []

    done = subprocess.run([sys.executable, "-m", "server.cli", "bench", "peers", "--json", *TINY, *extra], cwd=ROOT,
                          capture_output=True, text=True, timeout=120)

    assert done.returncode == 0, done.stderr[-3000:]
    result = json.loads(done.stdout)
    assert set(RATIOS) <= set(result)
    # the stock server (one shard per core) against one with another shard count, alternating
    assert result["details"]["shards"] >= 1 and "acked commands/s" in result["details"]["shard_scaling"]
    assert isinstance(result["shard_scaling"], (int, float)) and result["shard_scaling"] > 0
    # memory at 200 connections is a small RSS difference: a number, not necessarily a clean positive one
    assert isinstance(result["kb_per_conn_vs_floor"], (int, float))
    named = [k for k in RATIOS if k != "kb_per_conn_vs_floor"
             and (not colyseus_missing or not k.endswith("colyseus"))]
    for key in named:
        assert isinstance(result[key], (int, float)) and math.isfinite(result[key]) and result[key] > 0, key
    targets = ["everturn", "floor"] + ([] if colyseus_missing else ["colyseus"])
    for target in targets:
        figures = result["figures"][target]
        for key in ("rtt_p50_ms", "rtt_p99_ms", "fanout_p50_ms", "fanout_p99_ms", "acked_per_s"):
            assert figures[key] > 0, (target, key)
        assert figures["fanout_missed"] == 0, target
        assert figures["rss_at_end_mb"] > 0, target
        # the clients all left at once: the server let go of their sockets (within the minute it is given)
        assert figures["sockets_released_s"] is not None and figures["sockets_released_s"] >= 0, target
        assert figures["rss_after_disconnect_mb"] > 0, target
    ours = result["figures"]["everturn"]
    assert ours["rtt_one_campaign_p99_ms"] > 0 and ours["acked_per_s_one_campaign"] > 0
    if colyseus_missing:
        pytest.skip(f"Colyseus skipped, npm could not install it: {colyseus_missing}")


def test_without_node_it_says_so_and_exits_2(monkeypatch, capsys):
    monkeypatch.setattr(peers.shutil, "which", lambda name: None)

    assert peers.run_peers_bench(json_output=True) == 2
    assert "needs node and npm" in capsys.readouterr().err
