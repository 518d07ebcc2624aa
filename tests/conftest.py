from __future__ import annotations

import logging

import pytest
import trio.testing

from snapshots import Store

from .kinds import BOOMS


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
def _quiet_crash_logs(caplog):
    caplog.set_level(logging.CRITICAL, logger="everturn")
