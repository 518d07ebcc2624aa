"""The server's and the runtime's figures for Prometheus, through ``prometheus_client``.

Each app has its own ``CollectorRegistry`` (``metrics_registry``); its collectors read the
figures when ``/metrics`` is scraped: the server's counters (:class:`ServerMetrics`, bumped
by the request hooks and the websocket sessions), the runtime's figures, and the
narrator's.  The library writes the text and escapes label values (a route, a pool name).
"""
from __future__ import annotations

from bisect import bisect_left
from collections import Counter
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

from prometheus_client import CollectorRegistry
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, HistogramMetricFamily, Metric
from prometheus_client.exposition import CONTENT_TYPE_PLAIN_0_0_4, generate_latest

if TYPE_CHECKING:
    from actors import Runtime
    from actors.narration.service import Narrator

BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0)
CONTENT_TYPE = CONTENT_TYPE_PLAIN_0_0_4  # the text generate_latest writes
STORAGE_CODES = ("storage/full", "storage/read_only", "storage/io")


class ServerMetrics:
    """The server's own counters: requests by route and status with latencies, websockets, authentication."""

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


def counter(name: str, help_: str, value: float | None = None, labels: tuple[str, ...] = (),
            samples: Iterator[tuple[tuple[str, ...], float]] | list[tuple[tuple[str, ...], float]] = ()) -> Metric:
    """A counter family: one unlabelled ``value``, or ``samples`` of (label values, value)."""
    family = CounterMetricFamily(name, help_, value=value, labels=labels or None)
    for values, sample in samples:
        family.add_metric(list(values), sample)
    return family


def gauge(name: str, help_: str, value: float | None = None, labels: tuple[str, ...] = (),
          samples: Iterator[tuple[tuple[str, ...], float]] | list[tuple[tuple[str, ...], float]] = ()) -> Metric:
    """A gauge family, likewise."""
    family = GaugeMetricFamily(name, help_, value=value, labels=labels or None)
    for values, sample in samples:
        family.add_metric(list(values), sample)
    return family


class ServerCollector:
    """``everturn_http_*``, ``everturn_websocket_*``, ``everturn_auth_*`` from :class:`ServerMetrics`."""

    def __init__(self, metrics: ServerMetrics) -> None:
        self.metrics = metrics

    def collect(self) -> Iterator[Metric]:
        m = self.metrics
        yield counter("everturn_http_requests_total", "HTTP requests by route and status",
                      labels=("method", "route", "status"),
                      samples=[((method, route, str(status)), n) for (method, route, status), n in sorted(m.requests.items())])
        latency = HistogramMetricFamily("everturn_http_request_seconds", "HTTP request latency", labels=["route"])
        for route, counts in sorted(m.latency.items()):
            total, buckets = 0, []
            for bound, count in zip((*BUCKETS, float("inf")), counts, strict=True):
                total += count
                buckets.append(("+Inf" if bound == float("inf") else repr(bound), total))
            latency.add_metric([route], buckets, round(m.latency_sum[route], 6))
        yield latency
        yield gauge("everturn_websocket_connections", "open websocket connections", m.websockets)
        yield counter("everturn_websocket_frames_total", "websocket frames by direction", labels=("direction",),
                      samples=[(("in",), m.ws_frames_in), (("out",), m.ws_frames_out)])
        yield counter("everturn_websocket_resyncs_total", "subscriptions cut loose for being slow", m.ws_resyncs)
        yield counter("everturn_auth_failures_total", "presented tokens that did not verify", m.auth_failures)
        yield counter("everturn_auth_throttled_total",
                      "authentications refused unchecked after too many failures, by what was throttled",
                      labels=("per",), samples=[((per,), m.auth_throttled[per]) for per in ("address", "token")])


class RuntimeCollector:
    """Actors, mailboxes, group commits, storage, timers, the event loop and worker pools, from the runtime."""

    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime

    def collect(self) -> Iterator[Metric]:
        runtime = self.runtime
        figures = runtime.figures()
        depths = [len(cell.mailbox) for cell in runtime.cells.values()]
        yield gauge("everturn_actors_active", "actors in memory", figures["active"])
        yield counter("everturn_actor_activations_total", "actor activations", figures["activations"])
        yield counter("everturn_actor_passivations_total", "actor passivations", figures["passivations"])
        yield gauge("everturn_mailbox_depth_max", "deepest mailbox", max(depths, default=0))
        yield gauge("everturn_mailbox_depth_total", "messages waiting in all mailboxes", sum(depths))
        yield counter("everturn_journal_commit_writes_total", "synced RocksDB writes (group commits)",
                      figures["commit_writes"])
        yield counter("everturn_journal_commit_batches_total", "batches written (commands, snapshots)",
                      figures["commit_batches"])
        yield gauge("everturn_journal_commit_group_max", "largest group commit", figures["commit_largest_group"])
        storage = figures["storage"]
        yield gauge("everturn_storage_degraded",
                    "1 while the disk refuses writes (reads go on), by cause: storage/full, storage/read_only, "
                    "storage/io", labels=("code",),
                    samples=[((code,), int(storage["code"] == code)) for code in STORAGE_CODES])
        yield counter("everturn_storage_faults_total", "writes that failed on the disk, by cause", labels=("code",),
                      samples=[((code,), storage["faults"].get(code, 0)) for code in STORAGE_CODES])
        yield counter("everturn_storage_writes_refused_total", "writes refused at once while the disk was at fault",
                      storage["refused"])
        yield counter("everturn_storage_recoveries_total", "times the store took writes again after a fault",
                      storage["recoveries"])
        if storage["free_bytes"] is not None:
            yield gauge("everturn_storage_free_bytes", "bytes free on the data directory's file system",
                        storage["free_bytes"])
        yield gauge("everturn_actors_corrupt", "actors not started: stored history unreadable",
                    len(figures["corrupt"]))
        yield gauge("everturn_actors_stopped", "actors stopped by an operator", len(figures["stopped"]))
        yield counter("everturn_timers_fired_total", "durable timers delivered", figures["timers_fired"])
        if figures["timers_stored"] is not None:
            yield gauge("everturn_timers_stored", "durable timers stored, due or not", figures["timers_stored"])
        yield gauge("everturn_event_loop_lag_ms", "last measured trio loop lag", round(figures["loop_lag_ms"], 3))
        yield gauge("everturn_event_loop_lag_ms_max", "worst trio loop lag", round(figures["loop_lag_ms_max"], 3))
        pools = runtime.workers.statistics()

        def by_pool(figure: Callable[[Any], float]) -> list[tuple[tuple[str, ...], float]]:
            return [((pool.name,), figure(pool)) for pool in pools]

        yield counter("everturn_worker_crashes_total", "worker processes that died (a signal, OOM), by pool",
                      labels=("pool",), samples=by_pool(lambda p: p.crashes))
        yield counter("everturn_worker_timeouts_total", "worker processes killed past a call's time limit, by pool",
                      labels=("pool",), samples=by_pool(lambda p: p.timeouts))
        yield counter("everturn_worker_calls_total", "calls worker processes answered, by pool",
                      labels=("pool",), samples=by_pool(lambda p: p.calls))
        yield gauge("everturn_worker_busy", "calls running in worker processes, by pool",
                    labels=("pool",), samples=by_pool(lambda p: p.busy))
        yield gauge("everturn_worker_processes", "live worker processes, by pool",
                    labels=("pool",), samples=by_pool(lambda p: p.workers))


class NarratorCollector:
    """``everturn_narrator_*``: calls by outcome, tokens, generation time, pauses and workers (none without one)."""

    def __init__(self, narrator: Callable[[], Narrator | None]) -> None:
        self.narrator = narrator  # read at each scrape: the server may get its narrator after the app is made

    def collect(self) -> Iterator[Metric]:
        narrator = self.narrator()
        if narrator is None:
            return
        status = narrator.status()
        figures = narrator.figures
        yield counter("everturn_narrator_calls_total", "narrator calls by outcome", labels=("outcome",),
                      samples=[((outcome,), n) for outcome, n in status["outcomes"].items()])
        yield counter("everturn_narrator_tokens_total", "tokens read (prompt) and written (completion)",
                      labels=("kind",), samples=[(("prompt",), figures.prompt_tokens),
                                                 (("completion",), figures.completion_tokens)])
        yield counter("everturn_narrator_generation_seconds_total", "time spent generating",
                      round(figures.generation_s, 6))
        yield gauge("everturn_narrator_paused", "1 while failures or an operator pause the narrator",
                    int(status["health"]["state"] == "paused"))
        yield gauge("everturn_narrator_busy", "generations running now", status["busy"])
        yield counter("everturn_narrator_worker_crashes_total",
                      "narrator worker processes that died (signal or exit)", status["worker_crashes"])
        yield counter("everturn_narrator_worker_restarts_total",
                      "narrator worker processes killed on purpose and restarted (a request past its deadline)",
                      status["worker_restarts"])
        yield gauge("everturn_narrator_workers_ready", "narrator worker processes loaded and running",
                    sum(w["state"] in ("ready", "busy") for w in status["workers"]))


def metrics_registry(metrics: ServerMetrics, runtime: Runtime, narrator: Callable[[], Narrator | None]
                     ) -> CollectorRegistry:
    """A registry of one app's collectors, in the order ``/metrics`` lists them."""
    registry = CollectorRegistry(auto_describe=False)
    for collector in (ServerCollector(metrics), RuntimeCollector(runtime), NarratorCollector(narrator)):
        registry.register(collector)  # type: ignore[arg-type]
    return registry


def exposition(registry: CollectorRegistry) -> bytes:
    """The Prometheus text of ``registry`` (format 0.0.4, :data:`CONTENT_TYPE`)."""
    return generate_latest(registry)
