"""The search index's projection of encounters: one summary document per finished encounter.

``encounters/<combat address>``: who fought whom, how long, how it ended, who fell or fled and
the damage each dealt, from the encounter's typed events and its campaign's facts
(``actors.campaign.search.CampaignFacts``).  The indexer is given it through
``actors.campaign.search.SearchProjection``.
"""
from __future__ import annotations

from typing import Any, Iterable, Protocol

from ..messages import Event
from .messages import ActionTaken, Damaged, EncounterBegun, EncounterEnded, Fled, TurnStarted


class CampaignFacts(Protocol):
    """What an encounter's document needs of its campaign's facts (``actors.campaign.search.CampaignFacts``,
    which imports this module: typed here by what is read)."""

    closed: dict[int, dict[str, Any]]   # encounter n -> {reason, at, xp}
    started: dict[int, dict[str, Any]]  # encounter n -> {scene, at, address}
    scenes: dict[int, str]              # scene n -> title

OUTCOMES = {"victory": "victory", "defeat": "defeat (the party fell)", "max_rounds": "ended at its last round",
            "gm": "ended by the GM", "nobody_left": "ended with nobody left to fight", "failed": "broke off (failed)"}


def encounter_number(address: str) -> int | None:
    """``combat/c1.2`` -> 2 (None if the id has no encounter number)."""
    tail = address.split("/", 1)[1].rsplit(".", 1)
    return int(tail[1]) if len(tail) == 2 and tail[1].isdigit() else None


def finished(facts: CampaignFacts, n: int, combat: list[Event]) -> bool:
    """An encounter is finished once its campaign closed it and the encounter ended itself (or
    failed, when it never will); only then is its summary indexed, once."""
    closed = facts.closed.get(n)
    if closed is None:
        return False
    return str(closed["reason"]).startswith("failed") or any(isinstance(e, EncounterEnded) for e in combat)


def encounter_document(address: str, facts: CampaignFacts, combat: Iterable[Event]) -> dict[str, Any] | None:
    """The summary of the finished encounter at ``address`` (``combat/<id>.<n>``) from its journal
    (typed events, in order) and its campaign's facts; None until it is finished."""
    n = encounter_number(address)
    events = list(combat)
    if n is None or not finished(facts, n, events):
        return None
    closed, started = facts.closed[n], facts.started.get(n, {})
    names: dict[str, str] = {}
    players: list[str] = []
    creatures: list[str] = []
    rounds, dealt, fates = 0, {}, []
    for event in events:
        match event:
            case EncounterBegun(combatants=combatants):
                for combatant in combatants:
                    names[combatant.cid] = combatant.name
                    (players if combatant.player_id else creatures).append(combatant.name)
            case TurnStarted(round=round_):
                rounds = max(rounds, int(round_))
            case ActionTaken(cid=cid, attack=attack) if attack is not None and attack.damage:
                name = names.get(cid, cid)
                dealt[name] = dealt.get(name, 0) + int(attack.damage)
            case Damaged(cid=cid, dead=dead, hp=hp) if dead or hp == 0:
                who = names.get(cid, cid)
                what = "died" if dead else "was knocked out"
                if (who, what) not in {(w, h) for w, h, _ in fates}:
                    fates.append((who, what, rounds))
            case Fled(cid=cid):
                fates.append((names.get(cid, cid), "fled", rounds))
    reason = str(closed["reason"])
    outcome = "failed" if reason.startswith("failed") else reason
    scene = int(started.get("scene", 0))
    scene_title = facts.scenes.get(scene, "")
    where = f" in scene {scene} ({scene_title})" if scene and scene_title else ""
    lines = [f"Encounter {n}{where}: {_listed(players) or 'nobody'} against {_listed(creatures) or 'nobody'}."]
    lines.append(f"{rounds} round{'s' if rounds != 1 else ''}. Outcome: {OUTCOMES.get(outcome, outcome)}"
                 + (f"; each character earned {closed['xp']} XP." if closed.get("xp") else "."))
    if fates:
        lines.append(" ".join(f"{who} {what} in round {at}." for who, what, at in fates))
    if dealt:
        lines.append("Damage dealt: " + ", ".join(f"{who} {amount}" for who, amount in
                                                    sorted(dealt.items(), key=lambda kv: (-kv[1], kv[0]))) + ".")
    campaign = address.split("/", 1)[1].split(".", 1)[0]
    return {
        "id": f"encounters/{address}", "source": "encounters", "campaign": campaign, "address": address,
        "n": n, "title": f"Encounter {n}", "body": "\n".join(lines), "names": " ".join(players + creatures),
        "scene": scene, "scene_title": scene_title, "outcome": outcome, "rounds": rounds,
        "at": float(closed["at"]), "started_at": float(started.get("at", closed["at"])),
    }


def _listed(names: list[str]) -> str:
    if len(names) <= 1:
        return "".join(names)
    return ", ".join(names[:-1]) + " and " + names[-1]
