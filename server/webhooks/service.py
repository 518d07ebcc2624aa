"""The server's webhook task: from each campaign's journal to its webhooks' outbox, and out.

The runtime's journal listener only marks a campaign with webhooks dirty (it never blocks).
The feed reads that campaign's journal after its cursor, folds each event with the campaign's
own ``evolve``, asks ``actors.campaign.notices`` what the event means for the table, and puts one
delivery per webhook that should hear it into the outbox, with the cursor, in one write.  The
delivery loop sends what is due (a reminder waits for its time, a failure for its retry), on the
server's clock, so a virtual clock drives reminders and retries in tests as it drives timers.
"""
from __future__ import annotations

import logging
import secrets
from collections import OrderedDict
from typing import Any

import httpx
import trio

from actors.campaign.notices import TABLE, Notice, notices, still_due
from actors.campaign.state import GM
from snapshots import Store

from .records import Records
from .sending import Outcome, body, send
from .targets import TargetRefused, resolve

log = logging.getLogger("everturn.webhooks")
STATES_KEPT = 256    # campaigns whose state after their cursor stays in memory
READ_AT_ONCE = 500   # journal entries read per feed of one campaign
AT_ONCE = 4          # deliveries in flight
MAX_BACKOFF_S = 6 * 3600.0
IDLE_POLL_S = 1.0    # the delivery loop looks at the outbox at least this often (the clock may be advanced)


def hears(hook: dict[str, Any], notice: Notice) -> bool:
    """Whether ``hook`` is sent ``notice``: a table's hears what the whole table may see (never a whisper), the
    GM's that and what is for the GM, a player's what is for that player."""
    if notice.kind not in hook["kinds"]:
        return False
    if hook["scope"] == "table":
        return TABLE in notice.to
    if hook["scope"] == "gm":
        return TABLE in notice.to or GM in notice.to
    return hook["player_id"] in notice.to


class Webhooks:
    def __init__(self, store: Store, runtime: Any, allow_private: bool = False, timeout_s: float = 5.0,
                 max_attempts: int = 8, backoff_s: float = 60.0, link_base: str | None = None) -> None:
        self.records = Records(store)
        self.runtime = runtime
        self.allow_private, self.timeout_s = allow_private, timeout_s
        self.max_attempts, self.backoff_s, self.link_base = max_attempts, backoff_s, link_base
        self.campaigns: set[str] = {hook["campaign"] for hook in self.records.hooks()}
        self.dirty: set[str] = set(self.campaigns)  # after a restart: read on from each cursor
        self.fed = trio.Event()
        self.due = trio.Event()
        self.states: OrderedDict[str, tuple[int, Any]] = OrderedDict()
        self.in_flight: set[str] = set()
        self.delivered = self.failed = 0

    # -- the journal listener ------------------------------------------------------------------

    def journaled(self, address: str, first: int, events: list[Any]) -> None:
        kind, _, campaign = address.partition("/")
        if kind == "campaign" and campaign in self.campaigns:
            self.dirty.add(campaign)
            self.fed.set()

    def watch(self, campaign: str) -> None:
        """A campaign got its first webhook."""
        self.campaigns.add(campaign)

    def forget(self, campaign: str) -> None:
        if not self.records.hooks(campaign):
            self.campaigns.discard(campaign)
            self.states.pop(campaign, None)

    # -- tasks -------------------------------------------------------------------------------

    async def run(self, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        async with trio.open_nursery() as nursery:
            nursery.start_soon(self._feed_forever)
            nursery.start_soon(self._deliver_forever)
            self.fed.set()
            task_status.started()

    async def _feed_forever(self) -> None:
        while True:
            await self.fed.wait()
            self.fed = trio.Event()
            while self.dirty:
                campaign = self.dirty.pop()
                try:
                    await self.feed(campaign)
                except Exception:  # a campaign that cannot be read is retried with its next event
                    log.exception("webhooks: reading campaign/%s failed", campaign)

    async def feed(self, campaign: str) -> int:
        """Put the deliveries of the events after the campaign's cursor into the outbox; returns how many."""
        address = f"campaign/{campaign}"
        cursor, hooks = self.records.cursor(campaign), self.records.hooks(campaign)
        if cursor is None or not hooks:
            return 0
        entries = self.runtime.journal(address, after=cursor, limit=READ_AT_ONCE)
        if not entries:
            return 0
        cached = self.states.pop(campaign, None)
        if cached is not None and cached[0] == cursor:
            state = cached[1]
        else:
            state, at = await trio.to_thread.run_sync(self.runtime.state_at, address, cursor)
            if at != cursor:
                return 0
        behavior, now = self.runtime.behavior_of(address), self.runtime.clock.now()
        deliveries = []
        for seq, stored in entries:
            event = behavior.load_event(stored)
            after = behavior.evolve(state, event)
            for notice in notices(state, event, after, now):
                deliveries += [delivery(campaign, hook, notice, now) for hook in hooks if hears(hook, notice)]
            state = after
        self.records.enqueue(campaign, entries[-1][0], deliveries)
        self.states[campaign] = (entries[-1][0], state)
        if len(self.states) > STATES_KEPT:
            self.states.popitem(last=False)
        if len(entries) == READ_AT_ONCE:
            self.dirty.add(campaign)
            self.fed.set()
        if deliveries:
            self.due.set()
        return len(deliveries)

    async def _deliver_forever(self) -> None:
        limiter = trio.CapacityLimiter(AT_ONCE)
        async with httpx.AsyncClient(timeout=self.timeout_s, trust_env=False) as client:
            async with trio.open_nursery() as nursery:
                while True:
                    now = self.runtime.clock.now()
                    for key, record in self.records.due(now):
                        if record["id"] not in self.in_flight:
                            self.in_flight.add(record["id"])
                            nursery.start_soon(self._deliver, client, limiter, key, record, now)
                    with trio.move_on_after(IDLE_POLL_S):
                        await self.due.wait()
                    self.due = trio.Event()

    async def _deliver(self, client: httpx.AsyncClient, limiter: trio.CapacityLimiter, key: bytes,
                       record: dict[str, Any], now: float) -> None:
        try:
            async with limiter:
                outcome, retry = await self.attempt(client, record)
            retry_at = None
            if not outcome.delivered and retry and record["attempts"] + 1 < self.max_attempts:
                retry_at = now + min(MAX_BACKOFF_S, self.backoff_s * 2 ** record["attempts"])
            status = "delivered" if outcome.delivered else "retrying" if retry_at is not None else (
                "skipped" if outcome.status is None and outcome.error == STALE else "failed")
            self.delivered += outcome.delivered
            self.failed += status == "failed"
            self.records.settle(key, record, {
                "id": record["id"], "kind": record["kind"], "text": record["text"][:200], "status": status,
                "attempts": record["attempts"] + 1, "http_status": outcome.status, "error": outcome.error,
                "at": now, "retry_at": retry_at}, retry_at)
        except Exception:
            log.exception("webhooks: delivery %s failed unexpectedly", record.get("id"))
        finally:
            self.in_flight.discard(record["id"])

    async def attempt(self, client: httpx.AsyncClient, record: dict[str, Any]) -> tuple[Outcome, bool]:
        """One try at ``record``: the outcome, and whether a failure is worth another try."""
        hook = self.records.hook(record["campaign"], record["hook"])
        if hook is None:
            return Outcome(False, None, "the webhook was removed"), False
        if record.get("key"):
            state, _ = self.runtime.state_of(f"campaign/{record['campaign']}")
            if not still_due(state, tuple(record["key"])):
                return Outcome(False, None, STALE), False
        try:
            target = await trio.to_thread.run_sync(resolve, hook["url"], self.allow_private)
        except TargetRefused as exc:
            return Outcome(False, None, str(exc)), "cannot resolve" in str(exc)
        link = f"{self.link_base}/campaign/{record['campaign']}?post={record['post']}#post-{record['post']}" if (
            self.link_base and record.get("post")) else None
        outcome = await send(client, target, hook["secret"], record, body(record, link))
        return outcome, not outcome.delivered and (outcome.status is None or outcome.status >= 500
                                                   or outcome.status == 429)


STALE = "no longer true when its time came (the turn was taken, the deadline cleared)"


def delivery(campaign: str, hook: dict[str, Any], notice: Notice, now: float) -> dict[str, Any]:
    return {"id": secrets.token_hex(8), "hook": hook["hook_id"], "campaign": campaign, "kind": notice.kind,
            "title": notice.title, "text": notice.text, "post": notice.post, "key": list(notice.key),
            "attempts": 0, "created": now, "next_at": notice.not_before if notice.not_before is not None else now}
