from __future__ import annotations

import logging

import pytest
import trio.testing

from snapshots import Store

from .kinds import BOOMS
from .receiver import receiver  # noqa: F401 - a fixture: a local HTTP receiver for webhooks


@pytest.fixture
def autojump_clock() -> trio.testing.MockClock:
    return trio.testing.MockClock(autojump_threshold=0)


@pytest.fixture
def store(tmp_path):
    store = Store.open(tmp_path / "data")
    yield store
    store.close()


@pytest.fixture(autouse=True)
def _reset_booms():
    BOOMS.clear()
    yield
    BOOMS.clear()


@pytest.fixture(autouse=True)
def _replan_is_plan(monkeypatch):
    """Every timer plan a campaign works out from the one before (``enforcement.replan``), in any
    test, must be the plan worked out whole: a mismatch inside ``decide`` would only crash the
    actor, so they are collected and the test fails at its end."""
    from actors.campaign import enforcement

    replan, mismatches = enforcement.replan, []

    def checked(before, planned, after):
        got, whole = replan(before, planned, after), enforcement.plan(after)
        if got != whole:
            mismatches.append((got, whole))
        return got

    monkeypatch.setattr(enforcement, "replan", checked)
    yield
    assert not mismatches, f"replan differs from plan: {mismatches[:3]}"


@pytest.fixture(autouse=True)
def _quiet_crash_logs(caplog):
    caplog.set_level(logging.CRITICAL, logger="everturn")


@pytest.fixture
async def game(store):
    """A runtime with the game's kinds on the trio clock; a test also asks for ``autojump_clock``
    (pytest-trio takes the clock from the test's own arguments only)."""
    from actors import RuntimeConfig, TrioClock, open_runtime
    from actors.kinds import game_kinds

    async with open_runtime(store, game_kinds(), clock=TrioClock(), config=RuntimeConfig(lag_interval=None)) as runtime:
        yield runtime
