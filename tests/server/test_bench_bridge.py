"""``everturn bench bridge`` on a small run: both transports deliver every command, acked, and an emitter's
going away hands the world to the other bridge (at once on the websocket, within the lease on the long-poll)."""
from __future__ import annotations

from server.bench.bridge import format_report, measure


def test_a_small_bridge_bench_measures_both_transports_side_by_side():
    result = measure(backlog=60, burst=10, rounds=2)
    for transport in ("ws", "long_poll"):
        assert result[f"commands_per_s_{transport}"] > 0
        assert 0 < result[f"delivery_p50_ms_{transport}"] <= result[f"delivery_p99_ms_{transport}"]
    assert result["failover_ms_ws"] < 5_000  # the closed socket freed the lease: no waiting for it to lapse
    assert 5_000 < result["failover_ms_long_poll"] < 15_000  # a silent long-poll's lease lapses at 10 s
    assert result["long_poll_vs_ws"] > 0 and result["details"]["backlog"] == 60
    assert "failover ms" in format_report(result)
