"""Runtime gauges over the last minutes, from samples of ``GET /api/v1/admin/runtime``.

Counters (journal batches and writes) become rates between neighbouring samples; gauges
(loop lag, actors, websocket clients) are plotted as sampled.
"""
from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field
from typing import Any

SERIES = {
    "loop_lag_ms": "event-loop lag (ms)",
    "active": "active actors",
    "passivated": "passivated actors",
    "appends_per_s": "journal appends/s",
    "group_size": "group commit size",
    "websocket_clients": "websocket clients",
}


@dataclass
class Gauges:
    window_s: float = 600.0
    samples: deque[tuple[float, dict[str, Any]]] = field(default_factory=deque)

    def add(self, at: float, figures: dict[str, Any]) -> None:
        """Record one sample taken at ``at`` (seconds, any monotonic origin)."""
        if self.samples and at <= self.samples[-1][0]:
            return
        self.samples.append((at, figures))
        while self.samples and at - self.samples[0][0] > self.window_s:
            self.samples.popleft()

    def points(self) -> list[dict[str, float]]:
        """One point per sample after the first: every series' value, and ``t`` (s before now)."""
        out: list[dict[str, float]] = []
        if len(self.samples) < 2:
            return out
        last = self.samples[-1][0]
        previous = self.samples[0]
        for at, figures in list(self.samples)[1:]:
            before = previous[1]
            dt = at - previous[0]
            batches = figures["commit_batches"] - before["commit_batches"]
            writes = figures["commit_writes"] - before["commit_writes"]
            out.append({
                "t": round(at - last, 1),
                "loop_lag_ms": round(figures.get("loop_lag_ms") or 0.0, 2),
                "active": figures["active"],
                "passivated": figures.get("passivated", 0),
                "appends_per_s": round(max(0, batches) / dt, 1),
                "group_size": round(batches / writes, 2) if writes > 0 else 0.0,
                "websocket_clients": figures.get("websocket_clients", 0),
            })
            previous = (at, figures)
        return out

    def chart(self, key: str) -> dict[str, Any]:
        """An ECharts option for one series."""
        points = self.points()
        return {
            "animation": False,
            "title": {"text": SERIES[key], "textStyle": {"fontSize": 12}},
            "grid": {"left": 40, "right": 10, "top": 30, "bottom": 25},
            "xAxis": {"type": "value", "name": "s", "max": 0},
            "yAxis": {"type": "value", "min": 0},
            "series": [{"type": "line", "showSymbol": False, "data": [[p["t"], p[key]] for p in points]}],
        }
