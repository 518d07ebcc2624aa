"""``everturn serve --shards N``: one server as N processes, each owning a part of the actors.

- ``supervisor``: binds the sockets, starts the shard processes, starts a dead one again, stops them
- ``peers``: one shard's view of the others (who owns an address, how to reach each)
- ``routing``: HTTP requests forwarded to the owner, gathered from all, or broadcast; ``merge``
  makes gathered answers one; ``forwarding``: a shard's HTTP client to the others;
  ``internal``: what shards ask of each other (a token's copy)
- ``handoff``: a websocket moved to the shard that owns its campaign, socket and all
- ``relay``: a websocket session's frames for another shard's actors, sent there and answered back

Which shard owns an actor, and where each keeps its data: ``snapshots.layout``. The design,
and how it grows past one machine: docs/scaling.md.
"""
# Nothing is imported here: a single-process server loads only what it touches (``peers``),
# and the supervisor's command imports ``supervisor`` itself.
