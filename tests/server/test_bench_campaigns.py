"""``everturn bench campaigns`` on a small world: it runs, fires timers, and keeps most campaigns passivated."""
from __future__ import annotations

from server.bench.campaigns import format_report, measure, run


async def test_a_small_campaign_bench_fires_timers_with_most_campaigns_passivated(tmp_path):
    result = await run(campaigns=50, days=2, data_dir=tmp_path / "bench", seed=7)

    for key in ("sim_days_per_s", "timer_lag_ms_p99", "rss_mb"):
        assert isinstance(result[key], (int, float)) and result[key] > 0, key
    details = result["details"]
    assert details["seed"] == 7 and details["campaigns"] == 50 and details["days"] == 2
    # Two days at the default 12 h / 24 h thresholds: quiet players follow, then are left behind.
    assert details["timers_fired"] > 50 and 0 < details["timer_lag_samples"] <= details["timers_fired"]
    assert details["events_written"] > details["scripted_commands"] > 0
    assert details["active_at_end"] <= details["max_active"] < 25
    assert details["passivated_at_end"] == 50 - details["active_at_end"] > 25
    assert details["disk_bytes_per_campaign"] > 0
    assert "timer_lag_ms_p99" in format_report(result) and "seed 7" in format_report(result)


def test_shards_play_the_same_world_each_its_own_campaigns(tmp_path):
    # Every shard plans the whole world from the seed and keeps its own campaigns (placed as
    # ``serve --shards`` places them): what the campaigns do cannot depend on the shard count.
    one = measure(campaigns=40, days=1, data_dir=tmp_path / "one", seed=3)["details"]
    two = measure(campaigns=40, days=1, data_dir=tmp_path / "two", seed=3, shards=2)["details"]

    assert two["shards"] == 2 and len(two["play_s_by_shard"]) == 2 and one["shards"] == 1
    for key in ("campaigns", "creation_commands", "scripted_commands", "timers_fired", "events_total"):
        assert one[key] == two[key] > 0, key
    assert sorted(path.name for path in (tmp_path / "two" / "shards").iterdir()) == ["0", "1"]
