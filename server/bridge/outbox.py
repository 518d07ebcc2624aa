"""What Everturn tells a VTT world by itself: a campaign's events as bridge commands (pure, no I/O).

A post the world did not send (the narrator, the GM, a player in the browser, a notice) becomes
a chat message there; an encounter beginning, its turn moving (a turn ended here, an idle turn
auto-skipped) and its end become the world's combat's; the combat starts once the encounter has
rolled its initiatives (its first turn), so the VTT's order is Everturn's.  The encounter's own
events (damage, healing, conditions) become its combatants' HP and conditions there.  The turn is a compare-and-swap: the
command names the turn it ended (``from``), so the VTT moves only a combat still there.  Each
command's id is made from the campaign event's seq (``c<seq>-<k>``): mapping an event twice (after
a restart) queues nothing twice.
"""
from __future__ import annotations

from typing import Any

from actors.campaign.messages import EncounterClosed, EncounterUpdated, Posted, PostNarrated
from actors.combat.messages import ConditionChanged, Damaged, Healed

SHOWN = ("action", "narration", "notice", "ooc", "whisper")


def commands_of(world: str, seq: int, event: Any, before: Any,
                encounter: Any = None) -> list[tuple[str, dict[str, Any], str]]:
    """(kind, data, id) of each command for ``world`` (its name, not its key) from the campaign's event
    ``seq``; ``before``: the campaign's state just before it; ``encounter``: the running encounter's state
    (for the combatants of a combat starting), if one runs."""
    made: list[tuple[str, dict[str, Any]]] = []
    if isinstance(event, Posted):
        post = event.post
        if post.via != f"bridge:{world}" and post.kind in SHOWN and not post.pending:
            made.append(("create_chat_message", chat(post, post.text, before)))
    elif isinstance(event, PostNarrated):
        post = next((p for p in reversed(before.posts) if p.n == event.n), None)
        if post is not None and post.via != f"bridge:{world}":
            made.append(("create_chat_message", chat(post, event.text, before)))
    elif isinstance(event, EncounterUpdated):
        now, was = event.encounter, before.encounter
        if was is not None and was.current is None and was.round == 0 and now.current is not None:
            made.append(("start_combat", {"encounter": now.n, "round": now.round, "combatant": now.current,
                                          "combatants": combatants(encounter)}))  # its initiatives are rolled
        elif now.current is not None and was is not None and (now.round, now.current) != (was.round, was.current):
            made.append(("advance_turn", {"encounter": now.n, "round": now.round, "combatant": now.current,
                                          "from": {"round": was.round, "combatant": was.current}}))
    elif isinstance(event, EncounterClosed):
        made.append(("end_combat", {"encounter": event.n}))
    return [(kind, data, f"c{seq}-{k}") for k, (kind, data) in enumerate(made)]


def chat(post: Any, text: str, state: Any) -> dict[str, Any]:
    """A post as the VTT's chat message: who speaks (an NPC's name, a character's, the GM), and to whom."""
    player = state.players.get(post.author)
    speaker = post.speaker or (player.character.name if player is not None else "GM")
    data: dict[str, Any] = {"content": text, "speaker": speaker, "post": post.n}
    if post.to:
        data["whisper_to"] = list(post.to)
    if player is not None:
        data["player_id"] = post.author
    return data


def combatants(encounter: Any) -> list[dict[str, Any]]:
    if encounter is None:
        return []
    return [{"cid": c.cid, "name": c.name, "player_id": c.player_id, "initiative": c.initiative}
            for c in encounter.order()]


def encounter_commands(n: int, seq: int, event: Any) -> list[tuple[str, dict[str, Any], str]]:
    """(kind, data, id) of each command for the worlds from encounter ``n``'s event ``seq``: HP and conditions as
    the encounter has them after it (the VTT sets them, so one answering the VTT's own change changes nothing)."""
    made: list[tuple[str, dict[str, Any]]] = []
    if isinstance(event, Damaged):
        made.append(("apply_damage", {"target": event.cid, "amount": event.amount, "hp": event.hp}))
    elif isinstance(event, Healed):
        made.append(("apply_healing", {"target": event.cid, "amount": event.amount, "hp": event.hp}))
    elif isinstance(event, ConditionChanged):
        slug = event.name.replace("_", "-")  # off_guard is PF2e's off-guard
        made.append(("apply_condition", {"target": event.cid, "condition": slug, "value": event.value})
                    if event.value > 0 else ("remove_condition", {"target": event.cid, "condition": slug}))
    return [(kind, data, f"e{n}.{seq}-{k}") for k, (kind, data) in enumerate(made)]
