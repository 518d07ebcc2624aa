"""The REST API against its own description: schemathesis drives every operation of ``/openapi.json``.

A real server with the game's kinds (on a virtual clock) answers on a loopback port;
schemathesis loads the document that server serves, generates requests for every
operation, both valid by the document (positive) and not (negative), sends them with an
operator's token and with a player's token scoped to one campaign, and checks every
answer: never a 5xx, a status the operation documents, a body matching the documented
schema, and a request the document calls invalid refused with a 4xx. Hypothesis runs in
a worker thread with a fixed seed and a bounded number of examples per operation, so a
run is the same every time; it takes about a minute on two cores (CI budget: 3 minutes).

``test_fuzz.py`` stays: it throws malformed bytes, headers, framing and websocket frames
at the edge, where no document reaches; this suite holds the server to its documented
contract. ``test_openapi.py`` checks the document itself (every route in it and no other).
"""
from __future__ import annotations

from typing import Any

import schemathesis
import trio
from hypothesis import HealthCheck, given, seed, settings
from schemathesis import GenerationMode
from schemathesis.checks import (
    negative_data_rejection, not_a_server_error, response_schema_conformance, status_code_conformance,
)

from .conftest import WAIT, bearer, command, http_client, operator_token

EXAMPLES = 25  # per operation, token and mode: 37 operations x 2 tokens x 2 modes, about a minute in all
# Not positive_data_acceptance: what the document cannot say (a cursor the server never gave out, a command
# another kind has, a role's required campaign) is refused with a documented 4xx (docs/protocol.md).
CHECKS = [not_a_server_error, status_code_conformance, response_schema_conformance, negative_data_rejection]
FUZZ = settings(max_examples=EXAMPLES, deadline=None, database=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much, HealthCheck.data_too_large])
Statuses = dict[str, dict[int, int]]


async def a_campaign(server: Any) -> str:
    """Campaign ``c1``, created by its GM; returns a player's token scoped to it."""
    gm, _ = server.tokens.create("gm", campaign="c1")
    async with http_client(server) as http:
        created = await http.post("/api/v1/actors/campaign/c1/commands", headers=bearer(gm),
                                  json=command("CreateCampaign", title="Fuzz"))
        assert created.status_code == 200, created.text
    player, _ = server.tokens.create("player", campaign="c1", character="p1")
    return player


def takes_input(operation: Any) -> bool:
    """Whether a negative case can exist: the operation has parameters or a body to get wrong."""
    return bool(operation.definition.raw.get("parameters") or operation.definition.raw.get("requestBody"))


def fuzz_every_operation(url: str, token: str, mode: GenerationMode, statuses: Statuses) -> list[str]:
    """Run each operation of the served document with ``token``; returns the failures, one per operation."""
    schema = schemathesis.openapi.from_url(f"{url}/openapi.json")
    failures = []
    for result in schema.get_all_operations():
        operation = result.ok()
        if mode is GenerationMode.NEGATIVE and not takes_input(operation):
            continue
        name = f"{operation.method.upper()} {operation.path}"
        seen = statuses.setdefault(name, {})

        @seed(20261205)
        @FUZZ
        @given(case=operation.as_strategy(mode))
        def run(case: Any) -> None:
            response = case.call(base_url=url, headers=bearer(token), timeout=WAIT)
            seen[response.status_code] = seen.get(response.status_code, 0) + 1
            try:
                case.validate_response(response, checks=CHECKS)
            except (Exception, BaseExceptionGroup) as exc:
                raise AssertionError(f"{case.as_curl_command()}\n-> {response.status_code} {response.text[:400]}\n"
                                     f"{described(exc)}") from None

        try:
            run()
        except (Exception, BaseExceptionGroup) as exc:  # every operation runs; failures are reported together
            failures.append(f"{name} ({mode.value}): {described(exc)}")
    return failures


def described(exc: BaseException) -> str:
    """A failure, short: each of schemathesis's findings cut to its first lines."""
    parts = exc.exceptions if isinstance(exc, BaseExceptionGroup) else [exc]
    return "\n".join("\n".join(str(part).splitlines()[:20]) for part in parts)


async def test_every_operation_keeps_its_documented_contract_for_operators_and_players(game_server):
    player = await a_campaign(game_server)
    failures: list[str] = []
    by_token: dict[str, Statuses] = {}
    for who, token in (("operator", operator_token(game_server)), ("player", player)):
        statuses = by_token[who] = {}
        for mode in GenerationMode:
            failures += await trio.to_thread.run_sync(fuzz_every_operation, game_server.url, token, mode, statuses)
    assert not failures, "\n\n".join(failures)

    # The fuzz got past the edge: operators were served on most operations, players on theirs.
    served = {who: {op for op, seen in statuses.items() if any(200 <= s < 300 for s in seen)}
              for who, statuses in by_token.items()}
    assert len(served["operator"]) >= 25, sorted(served["operator"])
    assert {"GET /api/v1/rules", "POST /api/v1/rules/ask", "GET /api/v1/search",
            "GET /api/v1/campaigns"} <= served["player"], sorted(served["player"])
    assert not any(op.startswith(("POST /api/v1/admin", "DELETE /api/v1/admin")) for op in served["player"])
    async with http_client(game_server) as http:
        assert (await http.get("/health/ready")).status_code == 200
