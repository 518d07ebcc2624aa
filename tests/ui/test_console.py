"""The console's header line: what the runtime holds, timers stored apart from timers firing."""
from __future__ import annotations

from ui.console import header_text

FIGURES = {"active": 2, "passivated": 5, "stopped": [], "timers_pending": 0, "timers_stored": 3,
           "websocket_clients": 1, "loop_lag_ms": 0.42}


def test_the_header_counts_the_campaigns_stored_timers_not_only_those_firing():
    assert header_text(FIGURES) == ("2 active · 5 passivated · 0 stopped · 3 timers stored · 0 firing · "
                                    "1 websocket clients · loop lag 0.4 ms")


def test_a_store_that_cannot_be_read_shows_an_unknown_count():
    assert "? timers stored · 1 firing" in header_text({**FIGURES, "timers_stored": None, "timers_pending": 1})
