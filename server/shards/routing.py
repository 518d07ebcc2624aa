"""HTTP requests on a sharded server: each answered by the shard that owns what it names.

Every shard accepts on the public port, so a request may land on any of them. Before a
handler runs (``before_request``), :func:`route` decides:

- a route naming an actor (``{kind}/{actor_id}``) or a campaign (``{campaign_id}``) that
  another shard owns is **forwarded** there, whole (method, path, query, headers, body), to
  its private loopback port, and its answer returned as it came;
- a route over everything (the supervision tree, runtime figures, the campaign list, dead
  letters, health, metrics, search, a backup) is **gathered**: every shard answers (or
  takes its part) for itself and the answers are merged (:mod:`server.shards.merge`);
- a change to what every shard keeps (the clock, a revoked token, the narrator, the search
  index) is **broadcast**: every shard applies it; the answer is this shard's, or the first
  refusal;
- the rulebooks live on the **system shard** (0), which imports, lists, indexes and answers
  them; its search index holds them, the others' their campaigns only;
- anything else (live health, the OpenAPI document, a token's creation: replicated by its
  handler) is answered here.

What one shard sends another (:mod:`server.shards.forwarding`) is answered there for that
shard alone, and its ``x-forwarded-for`` counts as the client's address (auth throttling
counts the real client).
"""
from __future__ import annotations

from typing import Any

from quart import Response, request

from .forwarding import Shards, relayed
from .merge import GATHERED

BROADCAST = frozenset({
    "admin.admin_clock_advance", "admin.admin_revoke", "search.admin_reindex",
    "narrator.admin_narrator_pause", "narrator.admin_narrator_resume",
})
SYSTEM = frozenset({"search.rulebooks", "search.ask_rules", "search.admin_import_rules", "search.admin_remove_rules"})


def keyed_address(view_args: dict[str, Any] | None) -> str | None:
    """The actor a route names by its path, if it names one."""
    if not view_args:
        return None
    if "actor_id" in view_args:
        return f"{view_args.get('kind', 'campaign')}/{view_args['actor_id']}"
    if "campaign_id" in view_args:
        return f"campaign/{view_args['campaign_id']}"
    return None


async def route(shards: Shards) -> Response | None:
    """This request's answer from the shards that own it; None: this shard answers it itself."""
    if request.endpoint is None or shards.internal():
        return None
    peers = shards.peers
    address = keyed_address(request.view_args)
    if address is not None:
        owner = peers.owner(address)
        return None if owner == peers.index else relayed(await shards.send(owner))
    merge = GATHERED.get(request.endpoint)
    if merge is not None:
        return await merge(shards)
    if request.endpoint in SYSTEM:
        return await shards.to_system()
    if request.endpoint in BROADCAST:
        answers = await shards.send_all()
        refused = next((answer for answer in answers if answer.status_code >= 300), None)
        return relayed(refused if refused is not None else answers[peers.index])
    return None
