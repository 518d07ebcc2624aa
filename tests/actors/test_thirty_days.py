"""30 simulated days, no GM, on trio's MockClock, with a server restart halfway (see tests/thirty_days.py)."""
from __future__ import annotations

import logging

import trio

from actors import RuntimeConfig, TrioClock, open_runtime
from actors.campaign.messages import CreateCampaign, JoinCampaign, Npc, PostAction, SetDeadline, StartEncounter
from actors.kinds import game_kinds
from server.frames import event_body
from snapshots import Store

from .. import thirty_days as plan
from ..campaigns import GM, hero, player

SEED = 20261124
log = logging.getLogger(__name__)


async def set_table(rt) -> None:
    await rt.ask("campaign/c1", CreateCampaign(title="Thirty Days"), by=GM)
    for player_id, (name, perception) in plan.PLAYERS.items():
        await rt.ask("campaign/c1", JoinCampaign(character=hero(name, perception)), by=player(player_id))
    for deadline_id, hours, consequence in plan.DEADLINES:
        await rt.ask("campaign/c1", SetDeadline(deadline_id=deadline_id, in_hours=hours, consequence=consequence),
                     by=GM)
    await rt.ask("campaign/c1", StartEncounter(npcs=tuple(Npc(**g) for g in plan.GOBLINS),
                                               max_rounds=plan.MAX_ROUNDS), by=GM)


def journal(store: Store, address: str, behavior) -> list[dict]:
    return [event_body(behavior.load_event(stored)) for _, stored in store.read_journal(address)]


async def test_thirty_days_without_a_gm(tmp_path, autojump_clock):
    actions = plan.script(SEED)
    log.info("seed %d: %d scripted actions", SEED, len(actions))
    kinds, clock = game_kinds(), TrioClock()
    config = RuntimeConfig(lag_interval=None)
    store = Store.open(tmp_path / "data")
    start = clock.now()
    halves = [[a for a in actions if a.at < 15 * plan.DAY], [a for a in actions if a.at >= 15 * plan.DAY]]
    for i, half in enumerate(halves):          # the server restarts halfway through
        async with open_runtime(store, kinds, clock=clock, config=config) as rt:
            if i == 0:
                await set_table(rt)
            for action in half:
                await trio.sleep(max(0.0, start + action.at - clock.now()))
                await rt.ask("campaign/c1", PostAction(text=action.text), by=player(action.player_id))
            await trio.sleep(max(0.0, start + (15 * plan.DAY if i == 0 else plan.DAYS * plan.DAY) - clock.now()))
        store.close()
        store = Store.open(tmp_path / "data")
    campaign_kind, combat_kind = kinds[:2]
    figures = plan.check(start, actions, journal(store, "campaign/c1", campaign_kind),
                         journal(store, "combat/c1.1", combat_kind))
    store.close()
    log.info("30 days: %s", figures)
    print("30 days:", figures)
    assert figures["auto_skips"] > 0
