"""``everturn bench training``: a short run gives every figure the issue asks for."""
from __future__ import annotations

import orjson

from .cli import everturn


def test_a_short_bench_reports_samples_per_s_and_the_win_rate_with_its_interval():
    done = everturn("bench", "training", "--minutes", "0.1", "--eval-games", "10", "--json", timeout=300)
    assert done.returncode == 0, done.stderr
    result = orjson.loads(done.stdout)
    assert result["samples_per_s"] > 0
    assert 0 <= result["win_rate_ci_low"] <= result["win_rate_vs_balanced"] <= 1
    details = result["details"]
    assert details["clone_steps"] > 0 and details["eval_games"] == 10 and details["minutes"] == 0.1
    assert set(details["vs"]) == {"aggressive", "economic", "turtle", "expansionist", "balanced"}
    assert details["trained_s"] + details["validating_s"] < 6 + 30  # the budget, give or take the last chunk
