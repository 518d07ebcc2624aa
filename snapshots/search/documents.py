"""What the index holds, built from stored records: rulebook passages, campaign posts and
encounter summaries.

Journal events are read in their stored form (``{"t": type, "v": version, "d": data}``),
so the search layer needs nothing of the actor code, and the live index and a rebuilt one
read exactly the same bytes.  Every document has a deterministic id, so adding one again
replaces it:

    rules/<book>/<page>/<i>          the i-th passage (section) of a rulebook page
    posts/<campaign address>/<seq>   a ``Posted`` event of ``campaign/<id>`` (with its final text)
    encounters/<combat address>      one finished encounter ``combat/<id>.<n>``
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Iterable

from .rules import Book

CAMPAIGN, COMBAT = "campaign", "combat"
KINDS = frozenset({CAMPAIGN, COMBAT})  # the actor kinds whose journals feed the index
SERVER = "server"  # the author of what the server posts by itself


def rule_documents(book: Book) -> list[dict[str, Any]]:
    """One document per passage: the page's text under one heading."""
    docs = []
    for page in book.pages:
        for i, passage in enumerate(page.passages):
            docs.append({
                "id": f"rules/{book.name}/{page.page}/{i}", "source": "rules", "book": book.name,
                "book_title": book.title, "page": page.page, "title": passage.section, "body": passage.text,
                "attribution": book.attribution or "", "license": book.license or "",
            })
    return docs


@dataclass
class CampaignFacts:
    """What documents of one campaign need from its journal beyond the event itself: facts that,
    once journaled, never change (scene titles, characters' names, encounter starts and ends),
    and the posts the narrator is still writing.

    ``seq``: the journal position they were read up to.  Because the facts only accumulate, a
    post's document is the same whether they were read up to the post or far past it.
    """

    seq: int = 0
    names: dict[str, str] = field(default_factory=dict)       # player_id -> character name
    scenes: dict[int, str] = field(default_factory=dict)      # scene n -> title
    scene: int = 0                                            # the current scene
    started: dict[int, dict[str, Any]] = field(default_factory=dict)   # encounter n -> {scene, at, address}
    closed: dict[int, dict[str, Any]] = field(default_factory=dict)    # encounter n -> {reason, at, xp}
    pending: dict[int, tuple[int, dict[str, Any]]] = field(default_factory=dict)  # post n -> (its seq, the post)
    narrated: dict[int, tuple[int, int, dict[str, Any]]] = field(default_factory=dict)  # post n -> (PostNarrated's
    # seq, the post's seq, the post with its final text): settled, its document not made yet

    def read(self, seq: int, stored: dict[str, Any]) -> None:
        """Take in the event at ``seq`` (in journal order)."""
        self.seq = seq
        kind, data = stored.get("t"), stored.get("d") or {}
        if kind == "PlayerJoined":
            player = data["player"]
            self.names[player["player_id"]] = player["character"]["name"]
        elif kind == "SceneStarted":
            scene = data["scene"]
            self.scenes[scene["n"]] = scene["title"]
            self.scene = scene["n"]
        elif kind == "EncounterStarted":
            view = data["encounter"]
            self.started[view["n"]] = {"scene": self.scene, "at": view["started_at"], "address": view["address"]}
        elif kind == "EncounterClosed":
            self.closed[data["n"]] = {"reason": data["reason"], "at": data["at"], "xp": data.get("xp", 0)}
        elif kind == "Posted" and data["post"].get("pending"):
            self.pending[data["post"]["n"]] = (seq, data["post"])
        elif kind == "PostNarrated":
            posted = self.pending.pop(data["n"], None)
            if posted is not None:
                self.narrated[data["n"]] = (seq, posted[0], {**posted[1], "text": data["text"], "pending": False})

    def forget(self, upto: int) -> None:
        """Drop settled posts whose documents were made (their PostNarrated at or before ``upto``)."""
        for n in [n for n, (seq, _, _) in self.narrated.items() if seq <= upto]:
            del self.narrated[n]

    def author_name(self, author: str) -> str:
        if author == SERVER:
            return "Server"
        return self.names.get(author, "GM")


def campaign_id(address: str) -> str:
    """``campaign/c1`` -> ``c1``; ``combat/c1.2`` -> ``c1``."""
    return address.split("/", 1)[1].split(".", 1)[0]


def post_documents(address: str, seq: int, stored: dict[str, Any], facts: CampaignFacts) -> list[dict[str, Any]]:
    """The document a campaign event makes of a post: a ``Posted`` one at once, unless the narrator is
    still writing it; then its ``PostNarrated`` makes it, with the final text (so each post is indexed
    once).  ``facts`` must have read the event already."""
    kind = stored.get("t")
    if kind == "Posted" and not stored["d"]["post"].get("pending"):
        return [post_document(address, seq, stored["d"]["post"], facts)]
    if kind == "PostNarrated":
        settled = facts.narrated.pop(stored["d"]["n"], None)
        if settled is not None:
            return [post_document(address, settled[1], settled[2], facts)]
    return []


def post_document(address: str, seq: int, post: dict[str, Any], facts: CampaignFacts) -> dict[str, Any]:
    """The document of the post journaled at ``seq`` of ``campaign/<id>``."""
    scene = int(post.get("scene", 0))
    author = post["author"]
    return {
        "id": f"posts/{address}/{seq}", "source": "posts", "campaign": campaign_id(address), "address": address,
        "seq": seq, "n": post["n"], "kind": post["kind"], "author": author, "names": facts.author_name(author),
        "scene": scene, "title": facts.scenes.get(scene, ""), "body": post["text"], "at": float(post["at"]),
        "reason": post.get("reason") or "",
    }


def encounter_number(address: str) -> int | None:
    """``combat/c1.2`` -> 2 (None if the id has no encounter number)."""
    tail = address.split("/", 1)[1].rsplit(".", 1)
    return int(tail[1]) if len(tail) == 2 and tail[1].isdigit() else None


def finished(facts: CampaignFacts, n: int, combat: list[dict[str, Any]]) -> bool:
    """An encounter is finished once its campaign closed it and the encounter ended itself (or
    failed, when it never will); only then is its summary indexed, once."""
    closed = facts.closed.get(n)
    if closed is None:
        return False
    return str(closed["reason"]).startswith("failed") or any(e.get("t") == "EncounterEnded" for e in combat)


def encounter_document(address: str, facts: CampaignFacts, combat: Iterable[dict[str, Any]]) -> dict[str, Any] | None:
    """The summary of the finished encounter at ``address`` (``combat/<id>.<n>``) from its journal
    (stored events, in order) and its campaign's facts; None until it is finished."""
    n = encounter_number(address)
    events = list(combat)
    if n is None or not finished(facts, n, events):
        return None
    closed, started = facts.closed[n], facts.started.get(n, {})
    names: dict[str, str] = {}
    players: list[str] = []
    creatures: list[str] = []
    rounds, dealt, fates = 0, {}, []
    for stored in events:
        kind, data = stored.get("t"), stored.get("d") or {}
        if kind == "EncounterBegun":
            for combatant in data["combatants"]:
                names[combatant["cid"]] = combatant["name"]
                (players if combatant.get("player_id") else creatures).append(combatant["name"])
        elif kind == "TurnStarted":
            rounds = max(rounds, int(data["round"]))
        elif kind == "ActionTaken" and data.get("attack") and data["attack"].get("damage"):
            name = names.get(data["cid"], data["cid"])
            dealt[name] = dealt.get(name, 0) + int(data["attack"]["damage"])
        elif kind == "Damaged" and (data.get("dead") or data.get("hp") == 0):
            who = names.get(data["cid"], data["cid"])
            what = "died" if data.get("dead") else "was knocked out"
            if (who, what) not in {(w, h) for w, h, _ in fates}:
                fates.append((who, what, rounds))
        elif kind == "Fled":
            fates.append((names.get(data["cid"], data["cid"]), "fled", rounds))
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
    return {
        "id": f"encounters/{address}", "source": "encounters", "campaign": campaign_id(address), "address": address,
        "n": n, "title": f"Encounter {n}", "body": "\n".join(lines), "names": " ".join(players + creatures),
        "scene": scene, "scene_title": scene_title, "outcome": outcome, "rounds": rounds,
        "at": float(closed["at"]), "started_at": float(started.get("at", closed["at"])),
    }


OUTCOMES = {"victory": "victory", "defeat": "defeat (the party fell)", "max_rounds": "ended at its last round",
            "gm": "ended by the GM", "nobody_left": "ended with nobody left to fight", "failed": "broke off (failed)"}


def _listed(names: list[str]) -> str:
    if len(names) <= 1:
        return "".join(names)
    return ", ".join(names[:-1]) + " and " + names[-1]
