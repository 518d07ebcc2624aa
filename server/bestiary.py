"""A campaign's bestiary: the GM's saved creature stat blocks, reused encounter after encounter.

A GM's library, not the campaign's story: records in the store's meta column family
(``bestiary:<campaign>:<creature id>``), kept out of the journal and out of what players see.
"""
from __future__ import annotations

from typing import Any

from snapshots import Batch, Store, codec
from snapshots.protocol import META

PREFIX = b"bestiary:"
KEPT = 200  # creatures per campaign


def key(campaign: str, creature_id: str) -> bytes:
    return PREFIX + f"{campaign}:{creature_id}".encode()


class Bestiary:
    def __init__(self, store: Store) -> None:
        self.store = store

    def creatures(self, campaign: str) -> list[dict[str, Any]]:
        return sorted((record for _, record in self.store.meta_items(PREFIX + f"{campaign}:".encode())),
                      key=lambda record: (record["name"].lower(), record["creature_id"]))

    def get(self, campaign: str, creature_id: str) -> dict[str, Any] | None:
        return self.store.get_meta(key(campaign, creature_id))  # type: ignore[no-any-return]

    def put(self, campaign: str, record: dict[str, Any]) -> None:
        batch = Batch()
        batch.put(META, key(campaign, record["creature_id"]), codec.encode(record))
        self.store.write([batch])

    def delete(self, campaign: str, creature_id: str) -> None:
        batch = Batch()
        batch.delete(META, key(campaign, creature_id))
        self.store.write([batch])
