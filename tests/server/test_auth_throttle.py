"""Guessing a token's secret is throttled per client address and per token id."""
from __future__ import annotations

import logging

import httpx
import pytest

from server.limits import AuthThrottle

from .conftest import assert_error, bearer, command, http_client, operator_token

PROBE = "/api/v1/actors/ledger/c2"  # c2's own ledger: 200 once authenticated
HOUR = 3600.0  # one failure back per hour: nothing refills while a test runs on the real clock


def from_address(running, address: str) -> httpx.AsyncClient:
    """A client whose connections leave from another loopback address."""
    transport = httpx.AsyncHTTPTransport(local_address=address)
    return httpx.AsyncClient(base_url=running.url, trust_env=False, timeout=10, transport=transport)


async def test_wrong_secrets_for_a_real_token_are_throttled_then_counted_and_logged_without_them(
        launch, open_ws, caplog):
    server = await launch(auth_failure_burst=5, auth_failure_every_s=HOUR)
    victim, principal = server.tokens.create("gm", campaign="c1")
    other, _ = server.tokens.create("gm", campaign="c2")
    guesses = [f"evt_{principal.token_id}_guess{n:03d}" for n in range(600)]
    caplog.set_level(logging.WARNING, logger="everturn.server")
    async with http_client(server) as http:
        assert (await http.post(f"{PROBE}/commands", json=command("Add", amount=1), headers=bearer(other))).is_success
        answers = [await http.get(PROBE, headers=bearer(guess)) for guess in guesses]
        assert [a.status_code for a in answers[:5]] == [401] * 5
        for answer in answers[5:]:
            error = assert_error(answer, 429, "auth/throttled")
            assert error["details"]["per"] == "address"
            assert 0 < float(answer.headers["Retry-After"]) <= HOUR + 1
        # Locked out means unchecked: from this address even the right secret waits.
        assert_error(await http.get(PROBE, headers=bearer(victim)), 429, "auth/throttled")
        assert_error(await http.get(PROBE, headers=bearer(other)), 429, "auth/throttled")
        metrics = (await http.get("/metrics")).text
    assert "everturn_auth_failures_total 5" in metrics
    assert 'everturn_auth_throttled_total{per="address"} 597' in metrics

    async with from_address(server, "127.0.0.2") as elsewhere:   # another address: only the guessed token waits
        assert (await elsewhere.get(PROBE, headers=bearer(other))).status_code == 200
        locked = assert_error(await elsewhere.get(PROBE, headers=bearer(victim)), 429, "auth/throttled")
        assert locked["details"]["per"] == "token"

    ws = await open_ws(server, None, hello=False)
    refused = await ws.request({"type": "hello", "token": victim})
    assert (refused["type"], refused["code"]) == ("error", "auth/throttled") and refused["retry_after"] > 0

    failures = [r for r in caplog.records if r.getMessage() == "authentication failed"]
    assert len(failures) == 5 and {r.token_id for r in failures} == {principal.token_id}
    assert not any("guess" in r.getMessage() or "guess" in str(r.__dict__) for r in caplog.records)


async def test_made_up_token_ids_grow_no_table(launch):
    server = await launch(auth_failure_burst=3, auth_failure_every_s=HOUR)
    async with http_client(server) as http:
        for n in range(3):
            assert_error(await http.get(PROBE, headers=bearer(f"evt_made{n}up_x")), 401, "auth/invalid")
        assert_error(await http.get(PROBE, headers=bearer("evt_madeup_x")), 429, "auth/throttled")
        assert (await http.get("/health/ready")).status_code == 200
        # Missing credentials are no guess: they are not counted.
        assert_error(await http.get(PROBE), 401, "auth/missing")
    async with from_address(server, "127.0.0.3") as elsewhere:
        assert_error(await elsewhere.get(PROBE, headers=bearer(operator_token(server))), 404, "not_found")  # in


async def test_the_throttle_gives_one_attempt_back_per_interval(mock_clock):
    throttle = AuthThrottle(burst=2, per_s=6)
    for _ in range(2):
        assert throttle.locked("10.0.0.1", "abc") is None
        throttle.failed("10.0.0.1", "abc")
    what, wait = throttle.locked("10.0.0.1", "abc")
    assert what == "address" and wait == pytest.approx(6)
    assert throttle.locked("10.0.0.2", "abc")[0] == "token"
    assert throttle.locked("10.0.0.2", "xyz") is None
    mock_clock.jump(5.9)
    assert throttle.locked("10.0.0.1", None) is not None
    mock_clock.jump(0.2)
    assert throttle.locked("10.0.0.1", "abc") is None      # one back; one more failure locks it again
    throttle.failed("10.0.0.1", "abc")
    assert throttle.locked("10.0.0.1", None)[1] == pytest.approx(6, abs=0.2)
