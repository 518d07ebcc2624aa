"""Webhooks, their outbox and their recent deliveries, as records in the store's meta column family.

    hook:<campaign>:<hook id>          a webhook: URL, secret, scope (table, gm or one player), kinds
    hook-seq:<campaign>                how far the campaign's journal has been read for its webhooks
    hook-out:<next ms>:<delivery id>   a delivery waiting for its time (a reminder, a retry), in time order
    hook-log:<hook id>                 the webhook's last deliveries, newest first, for its owner to see

A journal batch's deliveries and the cursor past it are written in one batch: after a kill -9 the
journal is read again from the cursor, so a notice is never lost (and may, at worst, be sent twice
when a kill lands between a delivery and its record's removal: receivers get a delivery id to
de-duplicate).
"""
from __future__ import annotations

from typing import Any, Iterator

from snapshots import Batch, Store, codec
from snapshots.protocol import META

HOOK, SEQ, OUT, LOG = b"hook:", b"hook-seq:", b"hook-out:", b"hook-log:"
LOG_KEPT = 20
HOOKS_PER_CAMPAIGN = 50


def hook_key(campaign: str, hook_id: str) -> bytes:
    return HOOK + f"{campaign}:{hook_id}".encode()


def out_key(next_at: float, delivery_id: str) -> bytes:
    return OUT + f"{max(0, int(next_at * 1000)):016d}:{delivery_id}".encode()


class Records:
    def __init__(self, store: Store) -> None:
        self.store = store

    # -- webhooks ---------------------------------------------------------------------------

    def hooks(self, campaign: str | None = None) -> list[dict[str, Any]]:
        prefix = HOOK + (f"{campaign}:".encode() if campaign is not None else b"")
        return [record for _, record in self.store.meta_items(prefix)]

    def hook(self, campaign: str, hook_id: str) -> dict[str, Any] | None:
        return self.store.get_meta(hook_key(campaign, hook_id))  # type: ignore[no-any-return]

    def add_hook(self, record: dict[str, Any], seq: int) -> None:
        """Store a webhook; a campaign's first one starts its cursor at ``seq`` (nothing before it is sent)."""
        batch = Batch()
        batch.put(META, hook_key(record["campaign"], record["hook_id"]), codec.encode(record))
        if self.cursor(record["campaign"]) is None:
            batch.put(META, SEQ + record["campaign"].encode(), codec.encode(seq))
        self.store.write([batch])

    def remove_hook(self, campaign: str, hook_id: str) -> None:
        batch = Batch()
        batch.delete(META, hook_key(campaign, hook_id))
        batch.delete(META, LOG + hook_id.encode())
        if len(self.hooks(campaign)) <= 1:
            batch.delete(META, SEQ + campaign.encode())
        self.store.write([batch])

    # -- the journal's cursor and the outbox -------------------------------------------------

    def cursor(self, campaign: str) -> int | None:
        return self.store.get_meta(SEQ + campaign.encode())  # type: ignore[no-any-return]

    def enqueue(self, campaign: str, seq: int, deliveries: list[dict[str, Any]]) -> None:
        """The deliveries a journal batch made, and the cursor past it, in one write."""
        batch = Batch()
        for delivery in deliveries:
            batch.put(META, out_key(delivery["next_at"], delivery["id"]), codec.encode(delivery))
        batch.put(META, SEQ + campaign.encode(), codec.encode(seq))
        self.store.write([batch])

    def due(self, now: float, limit: int = 64) -> list[tuple[bytes, dict[str, Any]]]:
        """Up to ``limit`` deliveries whose time has come, earliest first."""
        upto = out_key(now, "~")
        found = []
        for key, record in self.store.meta_items(OUT):
            if key > upto or len(found) >= limit:
                break
            found.append((key, record))
        return found

    def next_at(self) -> float | None:
        for _, record in self.store.meta_items(OUT):
            return float(record["next_at"])
        return None

    def outbox(self) -> Iterator[dict[str, Any]]:
        for _, record in self.store.meta_items(OUT):
            yield record

    def settle(self, key: bytes, delivery: dict[str, Any], outcome: dict[str, Any],
               retry_at: float | None) -> None:
        """A delivery's attempt: out of the outbox (or back in at ``retry_at``), and into its webhook's log."""
        batch = Batch()
        batch.delete(META, key)
        if retry_at is not None:
            delivery = {**delivery, "attempts": delivery["attempts"] + 1, "next_at": retry_at}
            batch.put(META, out_key(retry_at, delivery["id"]), codec.encode(delivery))
        if self.hook(delivery["campaign"], delivery["hook"]) is not None:
            log = [entry for entry in self.log(delivery["hook"]) if entry["id"] != delivery["id"]]
            batch.put(META, LOG + delivery["hook"].encode(), codec.encode([outcome, *log][:LOG_KEPT]))
        self.store.write([batch])

    def log(self, hook_id: str) -> list[dict[str, Any]]:
        return self.store.get_meta(LOG + hook_id.encode()) or []  # type: ignore[no-any-return]
