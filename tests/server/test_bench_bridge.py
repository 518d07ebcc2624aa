"""``everturn bench bridge`` on a small run: both transports deliver every command, acked, and an emitter's
going away hands the world to the other bridge at once, on either transport."""
from __future__ import annotations

from server.bench.bridge import format_report, measure


def test_a_small_bridge_bench_measures_both_transports_side_by_side():
    result = measure(backlog=60, burst=10, rounds=2)
    for transport in ("ws", "long_poll"):
        assert result[f"commands_per_s_{transport}"] > 0
        assert 0 < result[f"delivery_p50_ms_{transport}"] <= result[f"delivery_p99_ms_{transport}"]
    # the closed socket, the hung-up long-poll: each freed the lease at once, no waiting 10 s for it to lapse
    assert result["failover_ms_ws"] < 5_000 and result["failover_ms_long_poll"] < 5_000
    assert result["long_poll_vs_ws"] > 0 and result["details"]["backlog"] == 60
    assert "failover ms" in format_report(result)
