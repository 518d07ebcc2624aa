"""``GET /api/v1/campaigns/{id}/gm/status``: what the GM must do next, computed from the state.

Prescriptive, not suggestive: every task names the exact endpoint and body to send.  The
countdowns come from ``enforcement.plan`` and the encounter's own turn timer, so the
times promised here are the times the durable timers fire.
"""
from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

from .enforcement import dormant_due, player_due, plan, quiet_since, stall_due
from .state import HOUR, Campaign, Player

API = "/api/v1"
URGENCY = ("critical", "high", "normal", "low")
PRESSURE = (  # how near the nearest deadline is, most urgent first: words for any scene
    (2 * HOUR, "Almost out of time"),
    (8 * HOUR, "Time is running short"),
    (float("inf"), "The clock is ticking"),
)


def gm_status(state: Campaign, campaign_id: str, now: float) -> dict[str, Any]:
    timers = plan(state)
    players = [activity(state, p, timers, now) for p in sorted(state.players.values(), key=lambda p: p.player_id)]
    encounter = encounter_status(state, now)
    deadlines = [{"deadline_id": d.deadline_id, "due": iso(d.due), "consequence": d.consequence,
                  "remaining_s": seconds(max(0.0, d.due - now)), "overdue_s": seconds(max(0.0, now - d.due)),
                  "remaining": span(d.due - now) if d.due > now else f"overdue by {span(now - d.due)}"}
                 for d in sorted(state.deadlines.values(), key=lambda d: (d.due, d.deadline_id))]
    orders = [{"order_id": o.order_id, "status": o.status, "text": o.text, "next_due": iso(o.next_due()),
               "next_in_s": seconds(o.next_due() - now), "steps_done": o.steps_done,
               "steps": 1 + len(o.follow_ups)}
              for o in sorted(state.orders.values(), key=lambda o: (o.next_due() or float("inf"), o.order_id))
              if o.next_due() is not None]
    stall = stall_due(state)
    left_behind = [p for p in state.players.values() if p.status == "inactive" and state.dormant_since is None
                   and (p.status_since or 0.0) >= (state.last_gm_post_at or 0.0)]
    waited = now - state.awaiting_narration_since if state.awaiting_narration_since is not None else 0.0
    reasons = []
    if left_behind:
        reasons.append(f"{names(left_behind)} went inactive (over {span(state.settings.inactive_s)} without acting): "
                       "advance the story without them now.")
    if stall is not None and waited >= state.settings.stall_s / 2:
        reasons.append(f"Players have waited {span(waited)} for narration: answer them now; the server advances "
                       f"the story itself in {span(stall - now)}.")
    skip = encounter is not None and encounter["skip_required"]
    tasks = gm_tasks(state, campaign_id, now, encounter, deadlines, left_behind, waited, players)
    return {
        "headline": tasks[0]["task"],  # the first line: what matters most now, in words
        "campaign_id": campaign_id,
        "title": state.title,
        "now": iso(now),
        "mode": state.mode,
        "scene": None if state.scene is None else {"n": state.scene.n, "title": state.scene.title,
                                                   "started_at": iso(state.scene.started_at)},
        "needs_attention": any(t["urgency"] in ("critical", "high") for t in tasks),
        "dormant": dormancy(state, now),
        "waiting_for": waiting_for(state, now),
        "player_activity": players,
        "must_advance": bool(reasons),
        "must_advance_reason": " ".join(reasons) or None,
        "skip_required": skip,
        "skip_required_player": encounter["player_id"] if skip else None,
        "auto_skip_in": encounter["auto_skip_in"] if encounter else None,
        "auto_skip_at": encounter["auto_skip_at"] if encounter else None,
        "encounter": encounter,
        "story_deadlines": deadlines,
        "scheduled_orders": orders,
        "stall": None if stall is None else {"awaiting_narration_since": iso(state.awaiting_narration_since),
                                             "auto_advance_at": iso(stall), "auto_advance_in": seconds(stall - now)},
        "gm_tasks": tasks,
        "what_to_do_next": next_step(tasks, state, now),
        "settings": state.settings.model_dump(),
    }


def activity(state: Campaign, player: Player, timers: dict[str, float], now: float) -> dict[str, Any]:
    idle = now - player.last_seen
    settings = state.settings
    if player.status == "inactive":
        ladder = "abandoned"
    elif player.last_action_at is None:
        ladder = "never_acted"
    elif idle < settings.combat_turn_idle_s:
        ladder = "active"
    elif idle < settings.exploration_idle_s:
        ladder = "overdue"
    elif idle < settings.inactive_s:
        ladder = "stale"
    else:
        ladder = "abandoned"
    due = player_due(state, player)
    countdown = None
    if due is not None:
        at = timers[f"player.{player.player_id}"]
        countdown = {"action": due[1], "at": iso(at), "in_s": seconds(at - now)}
    view = state.encounter
    turn = view is not None and view.player_id == player.player_id and view.turn_due is not None
    return {
        "player_id": player.player_id,
        "name": player.character.name,
        "status": player.status,
        "last_action_at": iso(player.last_action_at),
        "inactive_hours": round(idle / HOUR, 2),
        "inactive_status": ladder,
        "next_enforcement": countdown,
        "auto_skip_in": seconds(view.turn_due - now) if turn else None,
    }


def dormancy(state: Campaign, now: float) -> dict[str, Any] | None:
    """Asleep (``since``), or every player inactive and when it falls asleep (``at``); None while anyone plays."""
    if state.dormant_since is not None:
        return {"since": iso(state.dormant_since), "for_s": seconds(now - state.dormant_since), "at": None}
    due = dormant_due(state)
    if due is None:
        return None
    quiet = quiet_since(state)
    return {"since": None, "quiet_since": iso(quiet), "at": iso(due), "in_s": seconds(due - now)}


def encounter_status(state: Campaign, now: float) -> dict[str, Any] | None:
    view = state.encounter
    if view is None:
        return None
    due = view.turn_due
    waited = now - view.turn_started_at if view.turn_started_at is not None else 0.0
    return {
        "n": view.n, "address": view.address, "round": view.round, "turn": view.turn,
        "current": view.current, "name": view.name, "player_id": view.player_id,
        "turn_started_at": iso(view.turn_started_at), "turn_waited_s": seconds(waited),
        "auto_skip_at": iso(due), "auto_skip_in": seconds(due - now) if due is not None else None,
        "skip_required": view.player_id is not None and due is not None
        and waited >= state.settings.combat_turn_idle_s / 2,
        "paused": view.paused,
    }


def waiting_for(state: Campaign, now: float) -> dict[str, Any]:
    view = state.encounter
    if state.dormant_since is not None:
        return {"who": "players", "player_id": None, "name": None, "since": iso(state.dormant_since),
                "what": "a player's return: the campaign is dormant"}
    if view is not None and view.paused:
        return {"who": "players", "player_id": None, "name": None, "since": iso(view.turn_started_at),
                "what": f"a player's return: encounter {view.n} is paused, every character is out of the initiative"}
    if view is not None and view.current is not None:
        who = "player" if view.player_id else "gm"
        return {"who": who, "player_id": view.player_id, "name": view.name, "since": iso(view.turn_started_at),
                "what": f"{view.name}'s turn (round {view.round}, turn {view.turn})"}
    if state.awaiting_narration_since is not None:
        return {"who": "gm", "player_id": None, "name": None, "since": iso(state.awaiting_narration_since),
                "what": f"narration answering {len(state.unanswered)} player action(s)"}
    return {"who": "players", "player_id": None, "name": None, "since": iso(state.last_narration_at),
            "what": "the players' next actions"}


def gm_tasks(state: Campaign, campaign_id: str, now: float, encounter: dict[str, Any] | None,
             deadlines: list[dict[str, Any]], left_behind: list[Player], waited: float,
             players: list[dict[str, Any]]) -> list[dict[str, Any]]:
    commands = f"{API}/actors/campaign/{campaign_id}/commands"
    tasks: list[tuple[int, float, dict[str, Any]]] = []

    def task(urgency: str, due_in: float | None, text: str, endpoint: dict[str, Any]) -> None:
        tasks.append((URGENCY.index(urgency), due_in if due_in is not None else float("inf"),
                      {"task": text, "urgency": urgency, "due_in": seconds(due_in), "endpoint": endpoint}))

    if state.dormant_since is not None:
        task("normal", None, f"Dormant since {day_time(state.dormant_since)}: every player has been inactive, so the "
             "campaign sleeps (no timers, no narration; deadlines and orders resume where they stood). It wakes when "
             "a player acts or you post: narrate what the returning players find.",
             call(commands, "PostNarration", {"text": "..."}))
        return [t for _, _, t in tasks]
    if encounter is not None and encounter["paused"]:
        task("high", None, f"Encounter {encounter['n']} is paused: every character is out of the initiative "
             "(their players went inactive). End it, or it resumes when one of them acts.",
             call(commands, "EndEncounter", {}))
    if encounter is not None and encounter["current"] is not None:
        combat = f"{API}/actors/{encounter['address']}/commands"
        turn = {"round": encounter["round"], "turn": encounter["turn"]}
        if encounter["skip_required"]:
            task("critical", encounter["auto_skip_in"],
                 f"{encounter['name']}'s turn has waited {span(encounter['turn_waited_s'])}. SKIP NOW; the server "
                 f"skips it in {span(encounter['auto_skip_in'])}.", call(combat, "SkipTurn", turn))
        elif encounter["player_id"] is None:
            task("high", encounter["auto_skip_in"], f"Run {encounter['name']}'s turn: narrate it, then end it.",
                 call(combat, "EndTurn", {**turn, "action": "..."}))
    if left_behind:
        task("critical", None, f"{names(left_behind)} went inactive. Advance the story without them now.",
             call(commands, "PostNarration", {"text": "..."}))
    if state.awaiting_narration_since is not None:
        stall = stall_due(state)
        urgency = "critical" if waited >= state.settings.stall_s / 2 else "high"
        task(urgency, None if stall is None else stall - now,
             f"Answer {len(state.unanswered)} player action(s) waiting {span(waited)}. Narrate what happens.",
             call(commands, "PostNarration", {"text": "..."}))
    for p in players:
        if p["inactive_status"] == "stale" and p["status"] == "active":
            task("normal", (p["next_enforcement"] or {}).get("in_s"),
                 f"{p['name']} inactive {span(p['inactive_hours'] * HOUR)}. Default their action (they follow the "
                 "party) or advance without them.", call(commands, "MarkFollowing", {"player_id": p["player_id"]}))
    for d in deadlines:
        if d["remaining_s"] <= 2 * HOUR:
            built = (state.last_gm_post_at or 0.0) >= now + d["remaining_s"] - 2 * HOUR  # the GM posted since
            task("normal" if built else "high", d["remaining_s"], f"Deadline {d['deadline_id']} lands in {d['remaining']}: "
                 f"{d['consequence']} Build the pressure (or clear it with ClearDeadline).",
                 call(commands, "PostNarration", {"text": "..."}))
    quiet, asleep_at = quiet_since(state), dormant_due(state)
    if quiet is not None and asleep_at is not None and not left_behind:
        task("normal", asleep_at - now, f"Every player has been inactive since {day_time(quiet)}. Unless one acts or you "
             f"post, the campaign goes dormant in {span(asleep_at - now)}; reach out to your players.",
             call(commands, "PostNarration", {"text": "..."}))
    if not tasks:
        first = next((d for d in deadlines if d["remaining_s"] > 0), None)  # they come earliest first
        if first is not None:
            task("low", first["remaining_s"], f"Nothing waits on you. Deadline {first['deadline_id']} lands in "
                 f"{first['remaining']}: {first['consequence']}", call(commands, "PostNarration", {"text": "..."}))
        else:
            task("low", None, "Nothing waits on you. Keep the pressure on: set a story deadline.",
                 call(commands, "SetDeadline", {"deadline_id": "...", "in_hours": 24, "consequence": "..."}))
    return [t for _, _, t in sorted(tasks, key=lambda t: (t[0], t[1]))]


def next_step(tasks: list[dict[str, Any]], state: Campaign, now: float) -> dict[str, Any]:
    first = tasks[0]
    return {"instruction": first["task"], "endpoint": first["endpoint"],
            "narrative_suggestion": pressure(state, now)}


def pressure(state: Campaign, now: float) -> str:
    """A line of time pressure for the next narration, from the nearest deadline if any."""
    if state.dormant_since is not None:
        return "When they return, remind them where the story stood and what has been waiting for them."
    upcoming = sorted((d.due, d.deadline_id) for d in state.deadlines.values() if d.due > now)
    if not upcoming:
        return "Nothing is ticking yet: set a story deadline to give them a clock to beat."
    due, deadline_id = upcoming[0]
    line = next(text for limit, text in PRESSURE if due - now <= limit)
    return f"{line}: {span(due - now)} left before {state.deadlines[deadline_id].consequence}"


def call(path: str, command: str, data: dict[str, Any]) -> dict[str, Any]:
    return {"method": "POST", "path": path, "body": {"type": command, "data": data}}


def names(players: list[Player]) -> str:
    return ", ".join(sorted(p.character.name for p in players))


def iso(at: float | None) -> str | None:
    if at is None:
        return None
    return datetime.fromtimestamp(at, tz=timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def day_time(at: float) -> str:
    """2026-01-05 00:00 UTC: for people."""
    return datetime.fromtimestamp(at, tz=timezone.utc).strftime("%Y-%m-%d %H:%M UTC")


def seconds(value: float | None) -> float | None:
    return None if value is None else round(value, 3)


def span(value: float, *, seconds: bool = False) -> str:
    """4h 32m, 2d 3h, 45s: a duration (seconds) for people, in the API's texts and the UI alike.

    ``seconds``: down to the second, the smaller units two digits wide (4h 32m 05s, 1d 01h 01m 01s,
    45s), for a countdown that must visibly tick.
    """
    value = max(0, int(value))
    days, rest = divmod(value, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    if seconds:
        units = [(days, "d"), (hours, "h"), (minutes, "m"), (secs, "s")]
        while len(units) > 1 and units[0][0] == 0:
            units.pop(0)
        return " ".join(f"{n}{unit}" if i == 0 else f"{n:02d}{unit}" for i, (n, unit) in enumerate(units))
    if days:
        return f"{days}d {hours}h"
    if hours:
        return f"{hours}h {minutes}m"
    return f"{minutes}m" if minutes else f"{secs}s"


def summary(state: Campaign, campaign_id: str) -> dict[str, Any]:
    """One line of ``GET /api/v1/campaigns``: enough to pick a campaign from a list."""
    last = state.posts[-1] if state.posts else None
    return {
        "campaign_id": campaign_id,
        "title": state.title,
        "mode": state.mode,
        "scene": state.scene.title if state.scene else None,
        "players": [{"player_id": p.player_id, "name": p.character.name, "status": p.status}
                    for p in state.players.values()],
        "post_count": state.post_count,
        "last_post_at": iso(last.at if last else None),
        "created_at": iso(state.created_at),
        "awaiting_narration": state.awaiting_narration_since is not None,
        "dormant": state.dormant_since is not None,
        "dormant_since": iso(state.dormant_since),
    }
