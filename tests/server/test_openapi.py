"""The API describes itself: a valid OpenAPI 3.1 document and a page for people."""
from __future__ import annotations

import re

import httpx
import pytest
from jsonschema import Draft202012Validator
from openapi_spec_validator import validate

from server.app import create_app
from server.openapi import build_spec
from server.routes import OPERATIONS, RESOURCES

from .conftest import assert_error, bearer, command, operator_token


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


def documented_operations(spec) -> set[tuple[str, str]]:
    return {(method.upper(), path) for path, item in spec["paths"].items() for method in item}


def routed_operations(app) -> set[tuple[str, str]]:
    """(METHOD, /path/{param}) of every HTTP rule the app routes; websocket routes are docs/protocol.md's."""
    operations = set()
    for rule in app.url_map.iter_rules():
        if rule.websocket or rule.endpoint == "static":
            continue
        path = re.sub(r"<(?:[a-z]+:)?([a-z_]+)>", r"{\1}", rule.rule)
        operations |= {(method, path) for method in rule.methods - {"HEAD", "OPTIONS"}}
    return operations


async def test_every_route_is_documented_and_every_documented_operation_is_routed(game_server):
    async with httpx.AsyncClient(base_url=game_server.url) as http:
        spec = (await http.get("/openapi.json")).json()
    app = create_app(game_server.runtime, game_server.tokens)   # the same routes the server was built with
    routed, documented = routed_operations(app), documented_operations(spec)
    assert len(routed) > 30 and ("DELETE", "/api/v1/admin/rules/{name}") in routed
    assert routed - documented == set(), "routes missing from the document"
    assert documented - routed == set(), "documented operations no route serves"


async def test_every_route_is_registered_through_the_table_and_every_operation_in_the_table_is_routed(game_server):
    """The document is built from the route table: each Quart rule has its operation there, and each operation
    its rule; a route added beside the table (app.route) would be served undocumented."""
    app = create_app(game_server.runtime, game_server.tokens)
    tabled = {(op.method, op.path) for op in OPERATIONS}
    assert routed_operations(app) == tabled
    assert len(tabled) == len(OPERATIONS), "an operation registered twice"
    assert documented_operations(build_spec(game_server.runtime)) == tabled
    websockets = {rule.rule for rule in app.url_map.iter_rules() if rule.websocket}
    assert websockets == {"/ws"}
    assert {resource.blueprint.name for resource in RESOURCES} == set(app.blueprints)


async def test_rulebooks_are_answered_as_documented_without_their_page_numbers(game_server):
    spec = build_spec(game_server.runtime)
    book = spec["components"]["schemas"]["BookInfo"]
    assert "page_numbers" not in book["properties"] and "page_numbers" not in book["required"]
    async with httpx.AsyncClient(base_url=game_server.url) as http:
        books = (await http.get("/api/v1/rules", headers=bearer(operator_token(game_server)))).json()["items"]
    assert books and set(books[0]) == set(book["required"])


@pytest.mark.parametrize("path, body, where", [
    ("/api/v1/rules/ask", {"question": "What is flanking?", "rephrase": 0}, ["rephrase"]),
    ("/api/v1/admin/rules", {"srd": 1}, ["srd"]),
    ("/api/v1/campaigns/c1/encounters/estimate",
     {"npcs": [{"name": "Orc", "stats": {"level": 1, "hp": 20, "ac": 16, "fort": 8, "ref": 5, "will": 4,
                                         "perception": 5, "speed": 25, "shield": 0,
                                         "strikes": [{"name": "axe", "attack": 9, "damage": "1d12+4"}]}}]},
     ["npcs", 0, "stats", "shield"]),
])
async def test_a_number_where_a_boolean_is_documented_is_refused(game_server, path, body, where):
    async with httpx.AsyncClient(base_url=game_server.url) as http:
        op = bearer(operator_token(game_server))
        await http.post("/api/v1/actors/campaign/c1/commands", json=command("CreateCampaign", title="T"), headers=op)
        error = assert_error(await http.post(path, json=body, headers=op), 422, "invalid")
    assert any(d["loc"][-len(where):] == where and d["type"] == "bool_type" for d in error["details"]), error


async def test_a_number_where_a_command_documents_a_boolean_is_refused(game_server):
    async with httpx.AsyncClient(base_url=game_server.url) as http:
        op = bearer(operator_token(game_server))
        refused = await http.post("/api/v1/actors/combat/c1.1/commands", json=command("Control", cid="a1", agent=1),
                                  headers=op)
    error = assert_error(refused, 422, "command/invalid")
    assert [d["loc"] for d in error["details"]] == [["agent"]]


async def test_what_the_document_allows_the_server_accepts_and_what_it_refuses_it_documents(game_server):
    spec = build_spec(game_server.runtime)
    schemas = spec["components"]["schemas"]
    validator = Draft202012Validator({"components": spec["components"], **schemas["RulebookImport"]})
    assert not validator.is_valid({}) and not validator.is_valid({"name": "x"})    # the server refuses both, 422
    assert validator.is_valid({"srd": True}) and validator.is_valid({"name": "house", "text": "[page 1] Hi"})
    assert not validator.is_valid({"srd": True, "text": "x"})
    ask = Draft202012Validator(spec["components"]["schemas"]["AskRequest"])
    assert not ask.is_valid({"question": "%"}) and ask.is_valid({"question": "flanking?"})
    actor_id = spec["paths"]["/api/v1/actors/{kind}/{actor_id}"]["get"]["parameters"][1]["schema"]
    kind = spec["paths"]["/api/v1/actors/{kind}/{actor_id}"]["get"]["parameters"][0]["schema"]
    assert Draft202012Validator(actor_id).is_valid("0") and not Draft202012Validator(kind).is_valid("0")
    async with httpx.AsyncClient(base_url=game_server.url) as http:
        op = bearer(operator_token(game_server))
        created = await http.post("/api/v1/actors/campaign/0/commands", json=command("CreateCampaign", title="Zero"),
                                  headers=op)
        assert created.status_code == 200, created.text
        assert (await http.get("/api/v1/actors/campaign/0", headers=op)).status_code == 200
        assert (await http.get("/api/v1/campaigns/0/gm/status", headers=op)).status_code == 200
        assert_error(await http.get("/api/v1/actors/0/0", headers=op), 400, "runtime/invalid_address")
        assert_error(await http.post("/api/v1/admin/rules", json={}, headers=op), 422, "invalid")
        assert_error(await http.post("/api/v1/rules/ask", json={"question": "%"}, headers=op), 422,
                     "search/invalid_query")
        assert_error(await http.get("/api/v1/search", params={"q": "x", "scene": "-1"}, headers=op), 422,
                     "search/invalid_query")


def boolean_paths(schema, schemas, path=(), seen=frozenset()):
    """Where a request schema declares a boolean: paths of keys (0 for a list's items)."""
    if "$ref" in schema:
        name = schema["$ref"].rsplit("/", 1)[1]
        if name in seen:
            return
        schema, seen = schemas[name], seen | {name}
    if schema.get("type") == "boolean":
        yield path
    for key, inner in schema.get("properties", {}).items():
        yield from boolean_paths(inner, schemas, (*path, key), seen)
    for inner in schema.get("anyOf", []) + schema.get("oneOf", []):
        yield from boolean_paths(inner, schemas, path, seen)
    if isinstance(schema.get("items"), dict):
        yield from boolean_paths(schema["items"], schemas, (*path, 0), seen)
    if isinstance(schema.get("additionalProperties"), dict):
        yield from boolean_paths(schema["additionalProperties"], schemas, (*path, "x"), seen)


def nested(path, value):
    """The body holding ``value`` at ``path`` and nothing else."""
    for key in reversed(path):
        value = [value] if key == 0 else {key: value}
    return value


async def test_every_boolean_any_body_declares_refuses_numbers_and_strings(game_server):
    """Walk every request body of the document; at each boolean send 0, 1 and "true": each is refused there."""
    spec = build_spec(game_server.runtime)
    schemas = spec["components"]["schemas"]
    targets = []  # (path of the request, the body to send, where the boolean sits)
    for path, item in spec["paths"].items():
        body = item.get("post", {}).get("requestBody")
        if body is None:
            continue
        schema = body["content"]["application/json"]["schema"]
        if path == "/api/v1/actors/{kind}/{actor_id}/commands":
            for branch in schema["oneOf"]:
                name = branch["$ref"].rsplit("/", 1)[1]
                kind, command_type = name.split("_", 1)
                data = schemas[name]["properties"]["data"]
                for where in boolean_paths(data, schemas):
                    targets.append((f"/api/v1/actors/{kind}/c1/commands", lambda v, w=where, t=command_type: {
                        "type": t, "data": nested(w, v)}, where))
        else:
            for where in boolean_paths(schema, schemas):
                targets.append((path.replace("{campaign_id}", "c1").replace("{world}", "w1"),
                                lambda v, w=where: nested(w, v), where))
    assert len(targets) >= 10, targets   # shield, agile, ranged, agent, critical, rephrase, srd, ...
    op = bearer(operator_token(game_server))
    async with httpx.AsyncClient(base_url=game_server.url) as http:
        await http.post("/api/v1/actors/campaign/c1/commands", json=command("CreateCampaign", title="T"), headers=op)
        for path, body, where in targets:
            for value in (0, 1, "true"):
                response = await http.post(path, json=body(value), headers=op)
                assert response.status_code == 422, (path, body(value), response.text)
                details = response.json()["error"]["details"] or []
                assert any(d["type"] == "bool_type" and is_subsequence([k for k in where if k != "x"], d["loc"])
                           for d in details), (path, body(value), details)


def is_subsequence(keys, loc) -> bool:
    rest = iter(loc)
    return all(any(key == item for item in rest) for key in keys)
