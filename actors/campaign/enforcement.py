"""What happens when nobody acts: the plan's thresholds as pure functions of the state.

``plan(state)`` names every durable timer the campaign needs and when it is due;
``enforce(state, now)`` returns the events of everything due by ``now``. The actor turns
the difference between two plans into timer changes, so the timers always say exactly
what the state implies, and ``gm/status`` reads its countdowns from the same ``plan``.
"""
from __future__ import annotations

from collections.abc import Callable, Iterable

from ..messages import Event
from .messages import DeadlineCleared, OrderChanged, PlayerStatusChanged, Posted
from .state import Campaign, Player, Post, TurnMeta

EPSILON = 0.001  # timers fire on whole milliseconds; never miss a threshold by less
SERVER = "server"
TEMPLATE = TurnMeta(model="template")

def player_due(state: Campaign, player: Player) -> tuple[float, str] | None:
    """When this player's next enforcement falls due, and which one."""
    settings = state.settings
    if player.status == "active" and state.mode == "exploration":
        return player.last_seen + settings.exploration_idle_s, "following"
    if player.status in ("active", "following"):
        return player.last_seen + settings.inactive_s, "inactive"
    return None


def stall_due(state: Campaign) -> float | None:
    """Players acted and no narration came for ``stall_s``: the server advances the story.

    An action arriving after that still leaves the GM ``stall_grace_s`` to answer it.
    """
    if state.awaiting_narration_since is None:
        return None
    narrated = state.last_narration_at if state.last_narration_at is not None else state.created_at
    return max(narrated + state.settings.stall_s, state.awaiting_narration_since + state.settings.stall_grace_s)


def plan(state: Campaign) -> dict[str, float]:
    """Every timer the campaign needs now: name -> due (seconds)."""
    if not state.created:
        return {}
    timers = {f"deadline.{d.deadline_id}": d.due for d in state.deadlines.values()}
    for order in state.orders.values():
        due = order.next_due()
        if due is not None:
            timers[f"order.{order.order_id}"] = due
    for player in state.players.values():
        due = player_due(state, player)
        if due is not None:
            timers[f"player.{player.player_id}"] = due[0]
    stall = stall_due(state)
    if stall is not None:
        timers["stall"] = stall
    for waiting in state.narrations.values():  # the narrator's backstop: the template serves by then
        timers[f"narration.{waiting.n}"] = waiting.due
    return timers


def post(state: Campaign, kind: str, text: str, at: float, reason: str | None, author: str = SERVER,
         meta: TurnMeta | None = None) -> Posted:
    """The next post; a narration answers every player action since the last one."""
    if author == SERVER and kind == "narration" and meta is None:
        meta = TEMPLATE
    return Posted(post=Post(n=state.post_count + 1, kind=kind, author=author, text=text, at=at, reason=reason,
                            responds_to=state.unanswered if kind == "narration" else (), meta=meta,
                            scene=state.scene.n if state.scene is not None else 0))


def enforce(state: Campaign, now: float, evolve: Callable[[Campaign, Event], Campaign]) -> list[Event]:
    """The events of every enforcement due by ``now``, earliest first."""
    events: list[Event] = []

    def emit(new: Iterable[Event]) -> None:
        nonlocal state
        for event in new:
            events.append(event)
            state = evolve(state, event)

    for deadline in sorted(state.deadlines.values(), key=lambda d: (d.due, d.deadline_id)):
        if deadline.due <= now + EPSILON:
            emit([post(state, "narration", deadline.consequence, now, "deadline"),
                  DeadlineCleared(deadline_id=deadline.deadline_id, passed=True)])

    while True:  # orders and their follow-ups, earliest first (several may be due after downtime)
        due_orders = sorted((o.next_due(), o.order_id) for o in state.orders.values() if o.next_due() is not None)
        if not due_orders or due_orders[0][0] > now + EPSILON:
            break
        order = state.orders[due_orders[0][1]]
        step = order.steps_done
        beat = order if step == 0 else order.follow_ups[step - 1]
        status = "completed" if step == len(order.follow_ups) else "active"
        emit([post(state, beat.kind, beat.text, now, "order"),
              OrderChanged(order_id=order.order_id, status=status, steps_done=step + 1, at=now)])

    left_behind = []
    for player in sorted(state.players.values(), key=lambda p: (p.last_seen, p.player_id)):
        due = player_due(state, player)
        if due is None or due[0] > now + EPSILON:
            continue
        idle = now - player.last_seen
        if due[1] == "following":
            emit([PlayerStatusChanged(player_id=player.player_id, status="following", at=now),
                  post(state, "notice", state.settings.templates.following.format(name=player.character.name), now,
                       "following")])
            player = state.players[player.player_id]
            due = player_due(state, player)
        if due is not None and due[1] == "inactive" and idle + EPSILON >= state.settings.inactive_s:
            emit([PlayerStatusChanged(player_id=player.player_id, status="inactive", at=now)])
            left_behind.append(player.character.name)
    if left_behind:
        emit([post(state, "notice", state.settings.templates.left_behind.format(names=", ".join(left_behind)), now,
                   "inactive")])

    stall = stall_due(state)
    if stall is not None and stall <= now + EPSILON:
        advance = state.settings.templates.advance
        emit([post(state, "narration", advance[state.post_count % len(advance)], now, "stalled")])
    return events
