"""``strategy/{id}``: a hosted game; no missing orders ever hold a turn up.

A turn resolves as soon as every house whose player is present has given its orders, or
when the turn's durable timer fires (the deadline): the AI gives the orders of every house
without them.  A player who misses three turns in a row is on autopilot until they give
orders again.  ``TurnResolved`` journals every house's orders; ``evolve`` replays the
engine's ``resolve`` on them, so the journal is small and replay is exact.  Players read
the game through its fog of war (``fog.py``): never the board, the seed or another house's
orders.

The rule-based personalities play inline (fast pure Python).  A learned one
(``policy:NAME[@VERSION]``, a model that passed the registry's gate) never runs on the
loop: the turn journals ``PolicyAsked`` for those houses and the ``policy`` worker process
computes their orders (``Policies.orders``, given at composition: ``training.hosted``); ``PolicyOrders`` brings them back and the turn
resolves.  Until then the turn is resolving: its timer is off and orders for it are
refused (``strategy/turn_resolving``).  If the worker fails, crashes or does not answer
within ``POLICY_LIMIT_S`` (it is then killed: ``PolicyFailed``), or gives orders that do
not validate, the balanced AI plays those houses for that turn (``PolicyFellBack`` says
which and why).  A result for another turn is stale and changes nothing.

Nothing of the request is stored but ``PolicyAsked``: with it, the game schedules its
durable ``policy`` timer, due ``POLICY_TIMER_S`` later, past the worker's own limit.  In a
running server the answer (or the failure) comes first and the timer is cancelled with the
turn's resolution; the timer fires when the request was lost (the server stopped while the
turn resolved, or the answer could not be delivered).  Then the game asks once more
(``PolicyAsked`` again, with a new timer): a restart is rarely the learned player's fault,
so its house still gets its orders.  If that timer too finds the turn resolving, the
balanced AI plays those houses (``PolicyFellBack``): at most ``ASKS`` requests a turn, so
a game never loops, and a stored game costs nothing at start.  (A policy pool so far
behind that a request waits 15 s for a free worker also lets the timer fire first: the
second request joins the queue, the first answer for the turn resolves it, the other is
stale.)
"""
from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from engine_ext.strategy_ai import orders as ai_orders
from engine_ext.strategy_orders import Order, compact, validate
from engine_ext.strategy_turn import resolve
from engine_ext.strategy_state import Game, new_game

from ..behavior import Behavior, planned_timers
from ..errors import Forbidden, Rejected
from ..messages import Command, Context, Decision, Event, TimerFired, Work
from ..roles import is_gm
from . import fog
from .messages import (
    CreateGame, GameCreated, HouseJoined, JoinHouse, OrdersSubmitted, PolicyAsked, PolicyFailed, PolicyFellBack,
    PolicyOrders, SubmitOrders, TurnResolved,
)
from .policies import Policies
from .state import Seat, Strategy, from_board, to_board

log = logging.getLogger("everturn.actors")
EPSILON = 0.001
# A learned player's orders take milliseconds; a worker's first call also imports torch and loads the model
# (1-3 s). A worker still busy after this is hung: it is killed and the balanced AI plays.
POLICY_LIMIT_S = 30.0
# The durable backstop after PolicyAsked: past the worker's limit (with room for starting a worker), so it fires
# only when the request was lost (a restart), never before the worker's answer or failure in a running server.
POLICY_TIMER_S = POLICY_LIMIT_S + 15.0
ASKS = 2  # requests a turn: the first, and one more if the timer finds it lost; then the balanced AI


class StrategyKind(Behavior[Strategy]):
    kind = "strategy"
    State = Strategy
    commands = (CreateGame, JoinHouse, SubmitOrders, TimerFired, PolicyOrders, PolicyFailed)
    creates = (CreateGame,)
    events = (GameCreated, HouseJoined, OrdersSubmitted, PolicyAsked, PolicyFellBack, TurnResolved)
    snapshot_every = 20  # a turn's replay runs the resolver: keep replays short
    def __init__(self, models: Path | str = "models", policies: Policies | None = None) -> None:
        """``policies``: the learned players this server offers (given by the composition root); None: none."""
        self.models = Path(models)
        self.policies = policies
        self.worker_preload = policies.preload if policies is not None else ()

    def decide(self, state: Strategy, command: Command, ctx: Context) -> Decision:
        now = ctx.now.timestamp()
        events = self._handle(state, command, ctx, now)
        after = self.replay(state, events)
        fired = command.name if isinstance(command, TimerFired) else None
        asks = any(isinstance(e, PolicyAsked) for e in events)
        if asks and self.policies is None:  # a game stored by a server that offered them: the balanced AI plays
            events += self._learned(after, PolicyFailed(turn=after.turn, error="this server offers no learned "
                                                        "players"), now)
            after, asks = self.replay(state, events), False
        return Decision(events=events, timers=planned_timers(plan(state), plan(after), fired),
                        work=[self.ask(after)] if asks else [])

    def ask(self, state: Strategy) -> Work:
        """The learned players' orders for the houses ``state`` is asking for, computed in the policy worker."""
        turn = state.turn
        players = {seat.house: seat.personality for seat in state.seats if seat.house in state.asking}
        assert self.policies is not None  # a game seats learned players only where the server offers them
        return Work(self.policies.orders, (str(self.models), players, state),
                    lambda orders: PolicyOrders(turn=turn, orders=orders),
                    lambda error: PolicyFailed(turn=turn, error=error), where="process", pool="policy",
                    timeout_s=POLICY_LIMIT_S)

    def _handle(self, state: Strategy, command: Command, ctx: Context, now: float) -> list[Event]:
        by = ctx.by or {}
        if isinstance(command, CreateGame):
            if not is_gm(by):
                raise Forbidden("strategy/gm_only", "only a GM or an operator creates a game")
            if state.created:
                raise Rejected("strategy/exists", "this game exists")
            personalities = tuple(command.personalities) + ("balanced",) * (command.houses - len(command.personalities))
            if len(personalities) != command.houses:
                raise Rejected("strategy/too_many_personalities", f"{command.houses} houses, "
                               f"{len(command.personalities)} personalities")
            for personality in sorted(set(personalities)):
                if personality.startswith("policy:"):
                    if self.policies is None:
                        raise Rejected("strategy/no_such_policy", f"{personality}: this server offers no learned "
                                       "players")
                    try:  # a learned one must be playable now
                        self.policies.pin(personality)
                    except ValueError as exc:
                        raise Rejected("strategy/no_such_policy", str(exc)) from exc
            return [GameCreated(rings=command.rings, seed=command.seed, turn_limit=command.turn_limit,
                                turn_deadline_s=command.turn_deadline_s, personalities=personalities, at=now)]
        if isinstance(command, (PolicyOrders, PolicyFailed)):
            return self._learned(state, command, now)
        if not state.created:
            if isinstance(command, TimerFired):
                return []
            raise Rejected("strategy/not_created", "create the game first (CreateGame)")
        if state.ended:
            if isinstance(command, TimerFired):
                return []
            raise Rejected("strategy/ended", f"the game is over (house {state.winner} won)")
        match command:
            case JoinHouse(house=house):
                player = fog.player_of(by)
                if not player:
                    raise Forbidden("strategy/no_player", "join with a player or bot token")
                if any(s.player == player for s in state.seats):
                    raise Rejected("strategy/already_seated", f"{player} already holds a house")
                free = [s.house for s in state.seats if s.player is None]
                if house is None:
                    if not free:
                        raise Rejected("strategy/full", "every house is taken")
                    house = free[0]
                elif house >= len(state.seats):
                    raise Rejected("strategy/no_such_house", f"houses are 0 to {len(state.seats) - 1}")
                elif house not in free:
                    raise Rejected("strategy/house_taken", f"house {house} is taken")
                return [HouseJoined(house=house, player=player)]
            case SubmitOrders(turn=turn, orders=specs):
                seat = seat_of(state, by)
                if turn != state.turn:
                    raise Rejected("strategy/turn_moved", f"it is turn {state.turn}, not {turn}",
                                   {"turn": state.turn})
                if state.asking:
                    raise Rejected("strategy/turn_resolving", f"turn {turn} is resolving; orders for turn {turn + 1} "
                                   "open once it has", {"turn": state.turn})
                game = from_board(state)
                if not game.houses[seat.house].alive:
                    raise Rejected("strategy/eliminated", f"house {seat.house} is out of the game")
                given = [Order(**spec.model_dump()) for spec in specs]
                refusals = validate(game, seat.house, given)
                if refusals:
                    raise Rejected("strategy/invalid_orders", f"{len(refusals)} order(s) refused; nothing was "
                                   f"submitted: {refusals[0].message}",
                                   [{"index": r.index, "code": r.code, "message": r.message} for r in refusals])
                submitted = OrdersSubmitted(house=seat.house, turn=turn,
                                            orders=[spec.model_dump(exclude_defaults=True) for spec in specs])
                after = self.evolve(state, submitted)
                if after.waiting_for():
                    return [submitted]
                return [submitted, *self.resolve_or_ask(after, now)]
            case TimerFired(name="policy"):
                return self.request_lost(state, now)
            case TimerFired():
                due = state.turn_due()
                if due is None or due > now + EPSILON:
                    return []
                return self.resolve_or_ask(state, now)
        raise AssertionError(f"unhandled command {command!r}")

    def request_lost(self, state: Strategy, now: float) -> list[Event]:
        """The ``policy`` timer: a turn still resolving this long after ``PolicyAsked`` lost its request (the
        server stopped meanwhile): ask again, or after ``ASKS`` requests let the balanced AI play."""
        if not state.asking or state.asked_at + POLICY_TIMER_S > now + EPSILON:
            return []  # answered meanwhile (a timer delivered twice), or not yet due
        if state.asks < ASKS:
            log.warning("strategy turn %d: no answer for the learned players of houses %s within %.0f s (a restart?); "
                        "asking again", state.turn, list(state.asking), POLICY_TIMER_S)
            return [PolicyAsked(turn=state.turn, houses=state.asking, at=now)]
        error = (f"no answer from the policy worker within {POLICY_TIMER_S:g} s, asked {state.asks} times (the "
                 "requests were lost: the server restarted while the turn resolved?)")
        log.warning("strategy turn %d: %s; the balanced AI plays houses %s this turn", state.turn, error,
                    list(state.asking))
        return [PolicyFellBack(turn=state.turn, houses=state.asking, error=error, at=now), self.resolution(state, now)]

    def _learned(self, state: Strategy, command: PolicyOrders | PolicyFailed, now: float) -> list[Event]:
        """The policy worker's answer while the turn waits for learned players."""
        if not state.asking or command.turn != state.turn:
            return []  # nothing asked, or a stale answer
        if isinstance(command, PolicyFailed):
            log.warning("strategy turn %d: the learned players of houses %s failed (%s); the balanced AI plays "
                        "them this turn", state.turn, list(state.asking), command.error)
            return [PolicyFellBack(turn=state.turn, houses=state.asking, error=command.error, at=now),
                    self.resolution(state, now)]
        game, usable, refused = from_board(state), {}, {}
        for house in state.asking:
            try:
                given = [Order(**order) for order in command.orders[house]]
                refusals = validate(game, house, given)
            except (KeyError, TypeError, ValueError) as exc:
                refused[house] = f"house {house}: {type(exc).__name__}: {exc}"
                continue
            if refusals:
                refused[house] = f"house {house}: {len(refusals)} order(s) refused: {refusals[0].message}"
            else:
                usable[house] = [compact(order) for order in given]
        if not refused:
            return [self.resolution(state, now, usable)]
        error = "the learned player's orders do not validate: " + "; ".join(refused.values())
        log.warning("strategy turn %d: %s; the balanced AI plays those houses this turn", state.turn, error)
        return [PolicyFellBack(turn=state.turn, houses=tuple(refused), error=error, at=now),
                self.resolution(state, now, usable)]

    def resolve_or_ask(self, state: Strategy, now: float) -> list[Event]:
        """The turn resolved now, or, when learned players must give orders, ``PolicyAsked`` for their houses."""
        game = from_board(state)
        learned_houses = tuple(seat.house for seat in state.seats if game.houses[seat.house].alive
                               and seat.house not in state.submitted and seat.personality.startswith("policy:"))
        if learned_houses:
            return [PolicyAsked(turn=state.turn, houses=learned_houses, at=now)]
        return [self.resolution(state, now)]

    def resolution(self, state: Strategy, now: float, learned_orders: dict[int, list[dict[str, Any]]] | None = None
                   ) -> TurnResolved:
        """The turn's orders: each house's own, the learned players' from ``learned_orders``, the rule-based
        AI's for the rest (balanced for a learned player's house missing from ``learned_orders``)."""
        game = from_board(state)
        learned_orders = learned_orders or {}
        orders: dict[int, list[dict[str, Any]]] = {}
        autopilot: list[int] = []
        for seat in state.seats:
            if not game.houses[seat.house].alive:
                continue
            if seat.house in state.submitted:
                orders[seat.house] = state.submitted[seat.house]
                continue
            autopilot.append(seat.house)
            if seat.house in learned_orders:
                orders[seat.house] = learned_orders[seat.house]
            else:
                orders[seat.house] = rule_based(game, seat)
        return TurnResolved(turn=state.turn, orders=orders, autopilot=tuple(autopilot), at=now)

    def evolve(self, state: Strategy, event: Event) -> Strategy:
        match event:
            case GameCreated():
                game = new_game(event.rings, len(event.personalities), event.seed)
                seats = tuple(Seat(house=h, personality=p) for h, p in enumerate(event.personalities))
                return state.model_copy(update={
                    "created": True, "rings": event.rings, "seed": event.seed, "turn_limit": event.turn_limit,
                    "turn_deadline_s": event.turn_deadline_s, "turn_started_at": event.at, "seats": seats,
                    "board": to_board(game)})
            case HouseJoined(house=house, player=player):
                seats = tuple(s.model_copy(update={"player": player, "missed": 0}) if s.house == house else s
                              for s in state.seats)
                return state.model_copy(update={"seats": seats})
            case PolicyAsked(houses=houses, at=at):
                return state.model_copy(update={"asking": houses, "asked_at": at, "asks": state.asks + 1})
            case PolicyFellBack():
                return state
            case OrdersSubmitted(house=house, orders=orders):
                seats = tuple(s.model_copy(update={"missed": 0}) if s.house == house else s for s in state.seats)
                return state.model_copy(update={"submitted": {**state.submitted, house: orders}, "seats": seats})
            case TurnResolved(orders=orders, autopilot=autopilot, at=at):
                game, report = resolve(from_board(state), {int(h): [Order(**o) for o in given]
                                                           for h, given in orders.items()},
                                       turn_limit=state.turn_limit)
                seats = tuple(s.model_copy(update={"missed": s.missed + 1})
                              if s.player is not None and s.house in autopilot else s for s in state.seats)
                return state.model_copy(update={
                    "board": to_board(game), "submitted": {}, "asking": (), "asks": 0, "seats": seats,
                    "turn_started_at": at, "winner": report.winner, "ended": report.winner is not None})
        raise AssertionError(f"unknown event {event!r}")

    # -- the fog of war (fog.py): players see their house's view, never the board ---------

    def projects(self, viewer: dict[str, Any] | None) -> bool:
        return not is_gm(viewer)

    def project_state(self, state: Strategy, viewer: dict[str, Any] | None) -> dict[str, Any]:
        return fog.project_state(state, viewer)

    def project_event(self, state: Strategy, event: Event, viewer: dict[str, Any] | None) -> dict[str, Any]:
        return fog.project_event(state, event, viewer)


def seat_of(state: Strategy, by: dict[str, Any]) -> Seat:
    player = fog.player_of(by)
    seat = next((s for s in state.seats if s.player is not None and s.player == player), None)
    if seat is None:
        raise Forbidden("strategy/not_seated", "join a house first (JoinHouse)")
    return seat


def rule_based(game: Game, seat: Seat) -> list[dict[str, Any]]:
    """A house's orders from its rule-based personality (balanced for a learned one that could not play)."""
    personality = "balanced" if seat.personality.startswith("policy:") else seat.personality
    return [compact(order) for order in ai_orders(game, seat.house, personality)]


def plan(state: Strategy) -> dict[str, float]:
    """The game's durable timers: the turn's deadline, or while it resolves the lost-request backstop."""
    if state.asking:
        return {"policy": state.asked_at + POLICY_TIMER_S}
    due = state.turn_due()
    return {} if due is None else {"turn": due}
