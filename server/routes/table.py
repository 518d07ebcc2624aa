"""The route table: each route is registered with what the OpenAPI document says of it.

    actors = Resource("actors", tag="actors")

    @actors.get("/api/v1/actors/{kind}/{actor_id}", "an actor's current state", response=ActorState)
    async def get_actor(kind: str, actor_id: str) -> Response: ...

registers the handler on the resource's blueprint (the path in OpenAPI's ``{name}`` form
becomes Quart's ``<name>``) and records an :class:`Operation`; ``server.openapi`` builds
``paths`` from the operations, and its components from their request and response models,
so the document cannot name a route the server lacks nor miss one it serves.
"""
from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal

from pydantic import BaseModel
from quart import Blueprint

COMMAND = "command"  # a body that is one of the addressed kind's client commands ({"type", "data"})
Body = type[BaseModel] | Literal["command"] | None
Answer = type[BaseModel] | dict[str, Any] | None  # a model, a whole OpenAPI response object, or any JSON object


@dataclass(frozen=True)
class Operation:
    """One method on one path, as the document describes it."""

    method: str                # GET, POST, PUT, DELETE
    path: str                  # /api/v1/actors/{kind}/{actor_id}
    summary: str
    tag: str
    response: Answer = None
    body: Body = None          # validated as this model (server.requests.validated), or a command
    status: int = 200          # the success status
    secured: bool = True       # a bearer token is required
    paged: bool = False        # takes ?cursor=&limit=
    query: tuple[dict[str, Any], ...] = ()    # other parameters, as OpenAPI parameter objects
    headers: tuple[dict[str, Any], ...] = ()  # header parameters, likewise
    handler: str = ""

    @property
    def path_params(self) -> list[str]:
        return re.findall(r"\{([a-z_]+)\}", self.path)


@dataclass
class Resource:
    """A blueprint and the operations registered on it."""

    name: str
    tag: str
    blueprint: Blueprint = field(init=False)
    operations: list[Operation] = field(default_factory=list, init=False)

    def __post_init__(self) -> None:
        self.blueprint = Blueprint(self.name, __name__)

    def route(self, method: str, path: str, summary: str, **described: Any) -> Callable[[Any], Any]:
        def register(handler: Any) -> Any:
            rule = re.sub(r"\{([a-z_]+)\}", r"<\1>", path)
            self.blueprint.add_url_rule(rule, view_func=handler, methods=[method])
            self.operations.append(Operation(method, path, summary, described.pop("tag", self.tag),
                                             handler=handler.__name__, **described))
            return handler
        return register

    def get(self, path: str, summary: str, **described: Any) -> Callable[[Any], Any]:
        return self.route("GET", path, summary, **described)

    def post(self, path: str, summary: str, **described: Any) -> Callable[[Any], Any]:
        return self.route("POST", path, summary, **described)

    def put(self, path: str, summary: str, **described: Any) -> Callable[[Any], Any]:
        return self.route("PUT", path, summary, **described)

    def delete(self, path: str, summary: str, **described: Any) -> Callable[[Any], Any]:
        return self.route("DELETE", path, summary, **described)

    def websocket(self, path: str) -> Callable[[Any], Any]:
        """A websocket route: described by docs/protocol.md, not by the OpenAPI document."""
        return self.blueprint.websocket(path)
