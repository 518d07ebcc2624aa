"""The campaign's own commands for its VTT worlds, followed on a real runtime and the trio clock (issue 24):
queued as the campaign's events come, and a campaign no bridge has asked about for an hour let go."""
from __future__ import annotations

import trio
import trio.testing

from actors.campaign.messages import PostNarration
from server.bridge.hub import Hub
from server.bridge.outgoing import IDLE_S, PLACE, Outgoing

from ..campaigns import GM, started

WORLD = "c1/world-1"


async def narrate(game, text: str) -> None:
    await game.ask("campaign/c1", PostNarration(text=text), by=GM)
    await trio.testing.wait_all_tasks_blocked()


class Vtt:
    """The world's bridge, taking what it has not seen."""

    def __init__(self, hub: Hub) -> None:
        self.hub, self.since = hub, 0

    def chats(self) -> list[str]:
        commands = self.hub.queue.pending(WORLD, now=0.0, after=self.since)
        self.since = max([self.since, *(c["seq"] for c in commands)])
        return [c["data"]["content"] for c in commands]

    async def queued(self) -> list[str]:
        """The chats queued once the follower caught up: it reads the journal in a worker thread, which
        ``wait_all_tasks_blocked`` does not wait for, so a millisecond of the mock clock at a time."""
        for _ in range(2000):
            found = self.chats()
            if found:
                return found
            await trio.sleep(0.001)
        return []


async def test_a_campaign_is_followed_while_its_bridges_ask_and_let_go_an_hour_after(game, store, autojump_clock):
    await started(game)
    hub = Hub(store)
    vtt = Vtt(hub)
    outgoing = Outgoing(hub, game, store)
    async with trio.open_nursery() as nursery:
        await nursery.start(outgoing.run)
        await narrate(game, "Before any bridge.")
        hub.heartbeat(WORLD, "tok:gm-1", "tok")  # a bridge asks: followed from now on
        await narrate(game, "The torch gutters.")
        assert await vtt.queued() == ["The torch gutters."]
        assert store.get_meta(PLACE + b"c1") is not None

        await trio.sleep(IDLE_S / 2)
        hub.heartbeat(WORLD, "tok:gm-1", "tok")  # still there
        await trio.sleep(IDLE_S * 0.9)
        assert "c1" in outgoing.followed
        await trio.sleep(IDLE_S * 0.3)  # an hour and more of silence
        assert "c1" not in outgoing.followed and store.get_meta(PLACE + b"c1") is None
        await narrate(game, "Nobody is bridged to hear this.")
        assert await vtt.queued() == []

        hub.heartbeat(WORLD, "tok:gm-1", "tok")  # back: followed afresh, from now
        await narrate(game, "Welcome back.")
        assert await vtt.queued() == ["Welcome back."]
        nursery.cancel_scope.cancel()
