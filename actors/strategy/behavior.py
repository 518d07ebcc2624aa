"""``strategy/{id}``: a hosted game; no missing orders ever hold a turn up.

A turn resolves as soon as every house whose player is present has given its orders, or
when the turn's durable timer fires (the deadline): the rule-based AI gives the orders of
every house without them.  A player who misses three turns in a row is on autopilot until
they give orders again.  ``TurnResolved`` journals every house's orders; ``evolve`` replays
the engine's ``resolve`` on them, so the journal is small and replay is exact.  Players
read the game through its fog of war (``fog.py``): never the board, the seed or another
house's orders.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any, Callable

from engine_ext.strategy_ai import orders as ai_orders
from engine_ext.strategy_orders import Order, compact, validate
from engine_ext.strategy_turn import resolve
from engine_ext.strategy_state import Game, new_game

from ..behavior import Behavior, planned_timers
from ..errors import Forbidden, Rejected
from ..messages import Command, Context, Decision, Event, TimerFired
from ..roles import is_gm
from . import fog
from .messages import CreateGame, GameCreated, HouseJoined, JoinHouse, OrdersSubmitted, SubmitOrders, TurnResolved
from .state import Seat, Strategy, from_board, to_board

EPSILON = 0.001


class StrategyKind(Behavior[Strategy]):
    kind = "strategy"
    State = Strategy
    commands = (CreateGame, JoinHouse, SubmitOrders, TimerFired)
    events = (GameCreated, HouseJoined, OrdersSubmitted, TurnResolved)
    snapshot_every = 20  # a turn's replay runs the resolver: keep replays short

    def __init__(self, models: Path | str = "models") -> None:
        self.models = Path(models)
        self._players: dict[str, Any] = {}

    def ai(self, personality: str) -> Callable[[Game, int], list[Order]]:
        """How the AI plays a house: a rule-based personality, or a learned policy that passed the
        registry's gate (loaded once; its orders are journaled, so replays never need it)."""
        if not personality.startswith("policy:"):
            return lambda game, hid: ai_orders(game, hid, personality)
        player = self._players.get(personality)
        if player is None:
            from training.registry import Registry, RegistryError  # torch loads with the first learned player

            try:
                player = self._players[personality] = Registry(self.models).player(personality)
            except RegistryError as exc:
                raise Rejected("strategy/no_such_policy", str(exc)) from exc
        return player

    def decide(self, state: Strategy, command: Command, ctx: Context) -> Decision:
        now = ctx.now.timestamp()
        events = self._handle(state, command, ctx, now)
        after = self.replay(state, events)
        fired = command.name if isinstance(command, TimerFired) else None
        return Decision(events=events, timers=planned_timers(plan(state), plan(after), fired))

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
            for personality in set(personalities):
                self.ai(personality)  # a learned one must be playable now
            return [GameCreated(rings=command.rings, seed=command.seed, turn_limit=command.turn_limit,
                                turn_deadline_s=command.turn_deadline_s, personalities=personalities, at=now)]
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
                return [submitted, self.resolution(after, now)]
            case TimerFired():
                due = state.turn_due()
                if due is None or due > now + EPSILON:
                    return []
                return [self.resolution(state, now)]
        raise AssertionError(f"unhandled command {command!r}")

    def resolution(self, state: Strategy, now: float) -> TurnResolved:
        """The turn's orders: each house's own, the AI's for the rest."""
        game = from_board(state)
        orders: dict[int, list[dict[str, Any]]] = {}
        autopilot: list[int] = []
        for seat in state.seats:
            if not game.houses[seat.house].alive:
                continue
            if seat.house in state.submitted:
                orders[seat.house] = state.submitted[seat.house]
            else:
                autopilot.append(seat.house)
                orders[seat.house] = [compact(o) for o in self.ai(seat.personality)(game, seat.house)]
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
                    "board": to_board(game), "submitted": {}, "seats": seats, "turn_started_at": at,
                    "winner": report.winner, "ended": report.winner is not None})
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


def plan(state: Strategy) -> dict[str, float]:
    due = state.turn_due()
    return {} if due is None else {"turn": due}
