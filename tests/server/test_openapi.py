"""The API describes itself: a valid OpenAPI 3.1 document and a page for people."""
from __future__ import annotations

import httpx
from openapi_spec_validator import validate


async def test_openapi_json_is_a_valid_document_naming_every_kinds_commands(server):
    async with httpx.AsyncClient(base_url=server.url) as http:
        spec = (await http.get("/openapi.json")).json()
        page = await http.get("/api")
    validate(spec)
    assert all(ref.rsplit("/", 1)[1] in spec["components"]["schemas"] for ref in refs_in(spec))
    assert spec["openapi"] == "3.1.0"
    body = spec["paths"]["/api/v1/actors/{kind}/{actor_id}/commands"]["post"]["requestBody"]
    names = {ref["$ref"].rsplit("/", 1)[1] for ref in body["content"]["application/json"]["schema"]["oneOf"]}
    assert "ledger_Add" in names and "ledger_TimerFired" not in names
    assert names <= set(spec["components"]["schemas"])          # every reference resolves
    assert spec["components"]["schemas"]["ledger_Add"]["properties"]["type"]["const"] == "Add"
    assert page.status_code == 200 and "/api/v1/actors/{kind}/{actor_id}/commands" in page.text
    assert "style-src 'unsafe-inline'" in page.headers["content-security-policy"]


def refs_in(node):
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "$ref":
                yield value
            else:
                yield from refs_in(value)
    elif isinstance(node, list):
        for value in node:
            yield from refs_in(value)
