"""Shared pieces for campaign tests: principals, characters, a started campaign."""
from __future__ import annotations

from actors.campaign.messages import CreateCampaign, JoinCampaign
from actors.campaign.state import Character, Saves
from actors.kinds import game_kinds

GM = {"token_id": "gm1", "role": "gm", "campaign": "c1"}
KINDS = game_kinds()


def player(character: str, campaign: str = "c1") -> dict:
    return {"token_id": f"tok-{character}", "role": "player", "campaign": campaign, "character": character}


def hero(name: str, perception: int = 7) -> Character:
    return Character(name=name, level=3, max_hp=40, hp=40, ac=19, saves=Saves(fortitude=8, reflex=9, will=6),
                     perception=perception, skills={"athletics": 9}, strikes=())


async def started(rt, campaign: str = "c1", names: tuple[str, ...] = ("ayla", "bram"), **create) -> None:
    await rt.ask(f"campaign/{campaign}", CreateCampaign(title="The Sunken Crown", **create), by=GM)
    for i, name in enumerate(names):
        await rt.ask(f"campaign/{campaign}", JoinCampaign(character=hero(name.title(), perception=7 + i)),
                     by=player(name, campaign))


def posts(rt, reason: str | None = None, campaign: str = "c1") -> list:
    return [p for p in rt.state_of(f"campaign/{campaign}")[0].posts if reason is None or p.reason == reason]
