"""Prometheus text exposition of the server's and the runtime's figures."""
from __future__ import annotations

from bisect import bisect_left
from collections import Counter
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from actors import Runtime

BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0)


class ServerMetrics:
    def __init__(self) -> None:
        self.requests: Counter[tuple[str, str, int]] = Counter()
        self.latency: dict[str, list[int]] = {}
        self.latency_sum: Counter[str] = Counter()
        self.websockets = 0
        self.ws_frames_in = 0
        self.ws_frames_out = 0
        self.ws_resyncs = 0
        self.auth_failures = 0                       # tokens presented that did not verify
        self.auth_throttled: Counter[str] = Counter()  # attempts refused unchecked, by "address" or "token"

    def observe_request(self, method: str, route: str, status: int, seconds: float) -> None:
        self.requests[(method, route, status)] += 1
        counts = self.latency.setdefault(route, [0] * (len(BUCKETS) + 1))
        counts[bisect_left(BUCKETS, seconds)] += 1
        self.latency_sum[route] += seconds

    def render(self, runtime: "Runtime") -> str:
        out: list[str] = []

        def metric(name: str, kind: str, help_: str, samples: list[tuple[str, float]]) -> None:
            out.append(f"# HELP {name} {help_}")
            out.append(f"# TYPE {name} {kind}")
            out.extend(f"{name}{labels} {value}" for labels, value in samples)

        metric("everturn_http_requests_total", "counter", "HTTP requests by route and status",
               [(f'{{method="{m}",route="{r}",status="{s}"}}', n) for (m, r, s), n in sorted(self.requests.items())])
        samples = []
        for route, counts in sorted(self.latency.items()):
            total = 0
            for bound, count in zip((*BUCKETS, float("inf")), counts, strict=True):
                total += count
                le = "+Inf" if bound == float("inf") else repr(bound)
                samples.append((f'_bucket{{route="{route}",le="{le}"}}', total))
            samples.append((f'_sum{{route="{route}"}}', round(self.latency_sum[route], 6)))
            samples.append((f'_count{{route="{route}"}}', total))
        out.append("# HELP everturn_http_request_seconds HTTP request latency")
        out.append("# TYPE everturn_http_request_seconds histogram")
        out.extend(f"everturn_http_request_seconds{suffix} {value}" for suffix, value in samples)
        figures = runtime.figures()
        depths = [len(cell.mailbox) for cell in runtime.cells.values()]
        metric("everturn_websocket_connections", "gauge", "open websocket connections", [("", self.websockets)])
        metric("everturn_websocket_frames_total", "counter", "websocket frames by direction",
               [('{direction="in"}', self.ws_frames_in), ('{direction="out"}', self.ws_frames_out)])
        metric("everturn_websocket_resyncs_total", "counter", "subscriptions cut loose for being slow",
               [("", self.ws_resyncs)])
        metric("everturn_auth_failures_total", "counter", "presented tokens that did not verify",
               [("", self.auth_failures)])
        metric("everturn_auth_throttled_total", "counter",
               "authentications refused unchecked after too many failures, by what was throttled",
               [(f'{{per="{per}"}}', self.auth_throttled[per]) for per in ("address", "token")])
        metric("everturn_actors_active", "gauge", "actors in memory", [("", figures["active"])])
        metric("everturn_actor_activations_total", "counter", "actor activations", [("", figures["activations"])])
        metric("everturn_actor_passivations_total", "counter", "actor passivations", [("", figures["passivations"])])
        metric("everturn_mailbox_depth_max", "gauge", "deepest mailbox", [("", max(depths, default=0))])
        metric("everturn_mailbox_depth_total", "gauge", "messages waiting in all mailboxes", [("", sum(depths))])
        metric("everturn_journal_commit_writes_total", "counter", "synced RocksDB writes (group commits)",
               [("", figures["commit_writes"])])
        metric("everturn_journal_commit_batches_total", "counter", "batches written (commands, snapshots)",
               [("", figures["commit_batches"])])
        metric("everturn_journal_commit_group_max", "gauge", "largest group commit", [("", figures["commit_largest_group"])])
        storage = figures["storage"]
        metric("everturn_storage_degraded", "gauge",
               "1 while the disk refuses writes (reads go on), by cause: storage/full, storage/read_only, storage/io",
               [(f'{{code="{code}"}}', int(storage["code"] == code))
                for code in ("storage/full", "storage/read_only", "storage/io")])
        metric("everturn_storage_faults_total", "counter", "writes that failed on the disk, by cause",
               [(f'{{code="{code}"}}', storage["faults"].get(code, 0))
                for code in ("storage/full", "storage/read_only", "storage/io")])
        metric("everturn_storage_writes_refused_total", "counter", "writes refused at once while the disk was at fault",
               [("", storage["refused"])])
        metric("everturn_storage_recoveries_total", "counter", "times the store took writes again after a fault",
               [("", storage["recoveries"])])
        if storage["free_bytes"] is not None:
            metric("everturn_storage_free_bytes", "gauge", "bytes free on the data directory's file system",
                   [("", storage["free_bytes"])])
        metric("everturn_actors_corrupt", "gauge", "actors not started: stored history unreadable",
               [("", len(figures["corrupt"]))])
        metric("everturn_actors_stopped", "gauge", "actors stopped by an operator", [("", len(figures["stopped"]))])
        metric("everturn_timers_fired_total", "counter", "durable timers delivered", [("", figures["timers_fired"])])
        if figures["timers_stored"] is not None:
            metric("everturn_timers_stored", "gauge", "durable timers stored, due or not",
                   [("", figures["timers_stored"])])
        metric("everturn_event_loop_lag_ms", "gauge", "last measured trio loop lag", [("", round(figures["loop_lag_ms"], 3))])
        metric("everturn_event_loop_lag_ms_max", "gauge", "worst trio loop lag", [("", round(figures["loop_lag_ms_max"], 3))])
        pools = runtime.workers.statistics()
        metric("everturn_worker_crashes_total", "counter", "worker processes that died (a signal, OOM), by pool",
               [(f'{{pool="{p.name}"}}', p.crashes) for p in pools])
        metric("everturn_worker_timeouts_total", "counter", "worker processes killed past a call's time limit, by pool",
               [(f'{{pool="{p.name}"}}', p.timeouts) for p in pools])
        metric("everturn_worker_calls_total", "counter", "calls worker processes answered, by pool",
               [(f'{{pool="{p.name}"}}', p.calls) for p in pools])
        metric("everturn_worker_busy", "gauge", "calls running in worker processes, by pool",
               [(f'{{pool="{p.name}"}}', p.busy) for p in pools])
        metric("everturn_worker_processes", "gauge", "live worker processes, by pool",
               [(f'{{pool="{p.name}"}}', p.workers) for p in pools])
        return "\n".join(out) + "\n"
