"""The server's routes, one blueprint per resource, each route registered with its description.

``RESOURCES`` is the route table: ``server.app.create_app`` registers every blueprint,
``server.openapi.build_spec`` describes every operation.  To add an endpoint, add a handler
to the resource's module with ``@resource.get(path, summary, response=..., body=...)``;
a new resource also goes into ``RESOURCES``.
"""
from __future__ import annotations

from .actors import actors
from .admin import admin
from .bestiary import bestiary
from .bridge import bridge
from .campaigns import campaigns
from .health import health
from .invites import invites
from .narrator import narrator
from .search import search
from .table import COMMAND, Operation, Resource
from .webhooks import webhooks
from .ws import sockets

RESOURCES: tuple[Resource, ...] = (health, actors, campaigns, invites, bestiary, bridge, admin, narrator, search, webhooks, sockets)
OPERATIONS: tuple[Operation, ...] = tuple(op for resource in RESOURCES for op in resource.operations)

__all__ = ["COMMAND", "OPERATIONS", "RESOURCES", "Operation", "Resource"]
