"""What happens when nobody acts: the plan's thresholds as pure functions of the state.

``plan(state)`` names every durable timer the campaign needs and when it is due;
``enforce(state, now)`` returns the events of everything due by ``now``. The actor turns
the difference between two plans into timer changes, so the timers always say exactly
what the state implies, and ``gm/status`` reads its countdowns from the same ``plan``.
"""
from __future__ import annotations

from collections.abc import Callable, Iterable

from ..messages import Event
from .messages import (
    DeadlineCleared, DeadlineSet, DiceRolled, DormancyChanged, EncounterStarted, OrderChanged, OrderScheduled,
    PlayerActive, PlayerJoined, PlayerStatusChanged, Posted, SceneStarted,
)
from .state import HOUR, Campaign, Player, Post, TurnMeta

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
    """A player is active (not inactive) and no narration came for ``stall_s``: the server advances
    the story, so a table whose GM is silent still moves at least once a ``stall_s``.

    An action arriving after that still leaves the GM ``stall_grace_s`` to answer it.  Nobody
    active: no advancing (the dormancy rule takes over); asleep: nothing.
    """
    if state.dormant_since is not None or not any(p.status != "inactive" for p in state.players.values()):
        return None
    narrated = state.last_narration_at if state.last_narration_at is not None else state.created_at
    due = narrated + state.settings.stall_s
    arrived = next((p.at for p in state.posts if p.kind == "action" and p.at > narrated), None)
    if arrived is not None:  # the first action since the story last moved
        due = max(due, arrived + state.settings.stall_grace_s)
    return due


def quiet_since(state: Campaign) -> float | None:
    """Since when every player has been inactive (None: someone is not, or nobody joined yet)."""
    players = state.players.values()
    if not players or any(p.status != "inactive" for p in players):
        return None
    return max(p.status_since if p.status_since is not None else p.last_seen for p in players)


def dormant_due(state: Campaign) -> float | None:
    """When the campaign goes to sleep: every player inactive and no GM post for ``dormant_after_s``."""
    if state.dormant_since is not None:
        return None
    quiet = quiet_since(state)
    if quiet is None:
        return None
    return max(quiet, state.last_gm_post_at or state.created_at) + state.settings.dormant_after_s


def woken(state: Campaign, events: list[Event], now: float) -> list[Event]:
    """``events`` of a sleeping campaign, after the wake-up when one of them is a player's or the GM's doing."""
    if state.dormant_since is None or not any(_wakes(event) for event in events):
        return events
    return [DormancyChanged(dormant=False, at=now, slept_s=max(0.0, now - state.dormant_since)), *events]


def _wakes(event: Event) -> bool:
    if isinstance(event, Posted):
        return event.post.author != SERVER
    return isinstance(event, (PlayerActive, DiceRolled, PlayerJoined, SceneStarted, EncounterStarted, DeadlineSet,
                              OrderScheduled)) or (isinstance(event, PlayerStatusChanged) and event.status == "active")


def slept(state: Campaign, slept_s: float) -> Campaign:
    """Awake again after ``slept_s``: the story's clocks stood still meanwhile, so deadlines and orders move on
    by as much (nothing fires the moment the table returns)."""
    deadlines = {k: d.model_copy(update={"due": d.due + slept_s}) for k, d in state.deadlines.items()}
    orders = {}
    for k, order in state.orders.items():
        if order.status == "pending":
            order = order.model_copy(update={"due": order.due + slept_s})
        elif order.status == "active" and order.dispatched_at is not None:
            order = order.model_copy(update={"dispatched_at": order.dispatched_at + slept_s})
        orders[k] = order
    return state.model_copy(update={"dormant_since": None, "deadlines": deadlines, "orders": orders})


def plan(state: Campaign) -> dict[str, float]:
    """Every timer the campaign needs now: name -> due (seconds)."""
    if not state.created:
        return {}
    if state.dormant_since is not None:  # asleep: no story clock runs
        return _backstops(state)
    timers = {**_deadline_timers(state), **_order_timers(state)}
    for player in state.players.values():
        _plan_player(timers, state, player)
    return {**timers, **_clock_timers(state), **_backstops(state)}


def replan(before: Campaign, planned: dict[str, float], after: Campaign) -> dict[str, float]:
    """:func:`plan` of ``after``, given ``planned``, the plan of ``before``: only what differs is worked out again.

    States are frozen and ``evolve`` shares every player, deadline and order an event leaves
    alone, so one that is the same object in both states has the same timer (a player's
    depends on the settings and the mode too: when those change, everything is planned
    again). A command to a table of 100 players changes one or two of them.
    """
    if (not before.created or after.settings is not before.settings or after.mode != before.mode
            or before.dormant_since is not None or after.dormant_since is not None):
        return plan(after)
    timers = dict(planned)
    for name in ("stall", "dormant", *_backstops(before)):  # worked out again below
        timers.pop(name, None)
    for field, section in (("deadlines", _deadline_timers), ("orders", _order_timers)):
        if getattr(after, field) is not getattr(before, field):
            for name in section(before):
                timers.pop(name, None)
            timers.update(section(after))
    if after.players is not before.players:
        was = before.players
        for player_id, player in after.players.items():
            if was.get(player_id) is not player:
                timers.pop(f"player.{player_id}", None)
                _plan_player(timers, after, player)
        for player_id in was.keys() - after.players.keys():
            timers.pop(f"player.{player_id}", None)
    timers.update(_clock_timers(after))
    timers.update(_backstops(after))
    return timers


def _deadline_timers(state: Campaign) -> dict[str, float]:
    return {f"deadline.{d.deadline_id}": d.due for d in state.deadlines.values()}


def _order_timers(state: Campaign) -> dict[str, float]:
    return {f"order.{order.order_id}": due for order in state.orders.values() if (due := order.next_due()) is not None}


def _plan_player(timers: dict[str, float], state: Campaign, player: Player) -> None:
    due = player_due(state, player)
    if due is not None:
        timers[f"player.{player.player_id}"] = due[0]


def _clock_timers(state: Campaign) -> dict[str, float]:
    """The story's own clocks: the stall and the dormancy."""
    clocks = {"stall": stall_due(state), "dormant": dormant_due(state)}
    return {name: due for name, due in clocks.items() if due is not None}


def _backstops(state: Campaign) -> dict[str, float]:
    """The narrator's backstops: the template serves by then."""
    return {f"narration.{w.n}": w.due for w in state.narrations.values()}


def post(state: Campaign, kind: str, text: str, at: float, reason: str | None, author: str = SERVER,
         meta: TurnMeta | None = None) -> Posted:
    """The next post; a narration answers every player action since the last one."""
    if author == SERVER and kind == "narration" and meta is None:
        meta = TEMPLATE
    return Posted(post=Post(n=state.post_count + 1, kind=kind, author=author, text=text, at=at, reason=reason,
                            responds_to=state.unanswered if kind == "narration" else (), meta=meta,
                            scene=state.scene.n if state.scene is not None else 0,
                            encounter=state.encounter.n if state.encounter is not None else None))


def enforce(state: Campaign, now: float, evolve: Callable[[Campaign, Event], Campaign]) -> list[Event]:
    """The events of every enforcement due by ``now``, earliest first; none while asleep."""
    events: list[Event] = []
    if state.dormant_since is not None:
        return events

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

    stall = stall_due(state)  # before the players' idling: active until that very moment
    if stall is not None and stall <= now + EPSILON:
        advance = state.settings.templates.advance
        line = advance[state.post_count % len(advance)]
        emit([post(state, "narration", f"{state.scene.title}: {line}" if state.scene else line, now, "stalled")])

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

    dormant = dormant_due(state)
    if dormant is not None and dormant <= now + EPSILON:
        emit([DormancyChanged(dormant=True, at=now), post(state, "notice", state.settings.templates.dormant, now,
                                                           "dormant")])
    return events
