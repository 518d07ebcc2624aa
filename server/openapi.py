"""The OpenAPI 3.1 description of the REST API, generated from the route table and its pydantic models.

Every route is registered with what the document says of it (``server.routes.table``):
``paths`` is built from those operations, the components from the models they validate
bodies with and answer in.  Command bodies come from the actor kinds the server runs:
each kind's client commands become a ``oneOf`` of ``{"type": <name>, "data": <the
command's schema>}``.
"""
from __future__ import annotations

from collections.abc import Iterable
from typing import Any, Literal

from pydantic import BaseModel, create_model
from pydantic.json_schema import models_json_schema

from actors import Internal, Runtime
from actors.address import ID as ACTOR_ID

from .routes import COMMAND, OPERATIONS, Operation
from .schemas import ErrorBody


def _json(schema: dict[str, Any], description: str = "") -> dict[str, Any]:
    return {"description": description or "OK", "content": {"application/json": {"schema": schema}}}


ERRORS = {str(code): _json({"$ref": "#/components/schemas/ErrorBody"}, text) for code, text in [
    (400, "malformed request"), (401, "missing or invalid token"), (403, "the token may not do this"), (404, "not found or not visible"),
    (409, "rejected by the actor or in conflict"), (413, "body too large"), (422, "invalid command or body"),
    (429, "rate limited or mailbox full; see Retry-After"),
    (503, "unavailable; see Retry-After: shutting down, actor stopped or unanswered, stored history unreadable "
          "(storage/corrupt), or the disk does not write (storage/read_only, storage/io: details.applied false, or "
          "null when unknown)"),
    (507, "the disk is full (storage/full): the write was not saved (details.applied false); reads work and "
          "writes resume by themselves once space is freed; see Retry-After")]}


def build_spec(runtime: Runtime, operations: Iterable[Operation] = OPERATIONS) -> dict[str, Any]:
    """The OpenAPI document for ``operations`` (default: every route of the server) and the runtime's kinds."""
    operations = list(operations)
    bodies: list[type[BaseModel]] = []
    for behavior in runtime.behaviors.values():
        for command in behavior.commands:
            if issubclass(command, Internal):
                continue
            bodies.append(create_model(f"{behavior.kind}_{command.__name__}",
                                       type=(Literal[command.__name__], ...), data=(command, ...)))
    requests = [*unique(op.body for op in operations if isinstance(op.body, type)), *bodies]
    responses = unique([ErrorBody, *(op.response for op in operations if isinstance(op.response, type))])
    # Bodies are described as the server validates them, answers as it serializes them (a field the
    # server never sends, such as BookInfo.page_numbers, is then not promised).
    refs, definitions = models_json_schema([(m, "validation") for m in requests] +
                                           [(m, "serialization") for m in responses],
                                           ref_template="#/components/schemas/{model}")
    schemas = definitions.get("$defs", {})
    named = {model.__name__: ref["$ref"].rsplit("/", 1)[1] for (model, _), ref in refs.items()}

    def ref(model: type[BaseModel]) -> dict[str, str]:
        return {"$ref": f"#/components/schemas/{named.get(model.__name__, model.__name__)}"}

    command_body = {"oneOf": [refs[(b, "validation")] for b in bodies]} if bodies else {"type": "object"}
    actor_id = {"type": "string", "pattern": f"^{ACTOR_ID}$"}  # what parse_address accepts
    path_schemas = {"kind": {"type": "string", "enum": sorted(runtime.behaviors)}, "actor_id": actor_id,
                    "campaign_id": actor_id}
    page = [{"name": "cursor", "in": "query", "schema": {"type": "string"}},
            {"name": "limit", "in": "query", "schema": {"type": "integer", "minimum": 1, "maximum": 200, "default": 50}}]

    def described(op: Operation) -> dict[str, Any]:
        if isinstance(op.response, dict):
            response = op.response
        else:
            response = _json(ref(op.response) if op.response is not None else {"type": "object"})
        operation: dict[str, Any] = {"summary": op.summary, "tags": [op.tag],
                                     "responses": {str(op.status): response, **ERRORS}}
        params = [{"name": name, "in": "path", "required": True, "schema": path_schemas.get(name, {"type": "string"})}
                  for name in op.path_params]
        params += [*(page if op.paged else []), *op.query, *op.headers]
        if params:
            operation["parameters"] = params
        if op.body is not None:
            body = command_body if op.body == COMMAND else ref(op.body)  # type: ignore[arg-type]
            operation["requestBody"] = {"required": True, "content": {"application/json": {"schema": body}}}
        if op.secured:
            operation["security"] = [{"bearer": []}]
        return operation

    paths: dict[str, dict[str, Any]] = {}
    for op in operations:
        paths.setdefault(op.path, {})[op.method.lower()] = described(op)
    return {
        "openapi": "3.1.0",
        "info": {"title": "Everturn", "version": "1",
                 "description": "Actor-based game server. Websocket protocol v1 at /ws: see docs/protocol.md."},
        "paths": paths,
        "components": {"schemas": schemas,
                       "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer",
                                                      "description": "evt_<id>_<secret> from everturn token create"}}},
    }


def unique(models: Iterable[Any]) -> list[Any]:
    """Each model once, in the order first named."""
    return list(dict.fromkeys(models))
