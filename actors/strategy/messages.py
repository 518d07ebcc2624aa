"""Strategy game commands and events."""
from __future__ import annotations

import secrets
from typing import Any, Literal

from pydantic import Field

from engine_ext.strategy_orders import KINDS

from ..messages import Command, Event, Internal
from .state import Frozen, Personality

OrderKind = Literal[KINDS]  # type: ignore[valid-type]


class OrderSpec(Frozen):
    """One order, as ``engine_ext.strategy_orders.Order`` reads it."""

    kind: OrderKind
    fleet: int | None = Field(None, ge=1)
    system: int | None = Field(None, ge=0)
    ship: str | None = Field(None, max_length=40)
    count: int = Field(1, ge=1, le=100)
    field: str | None = Field(None, max_length=40)
    amount: int = Field(0, ge=0, le=10**9)
    house: int | None = Field(None, ge=0, le=11)
    stance: str | None = Field(None, max_length=20)


class CreateGame(Command):
    """Operator or GM: a new game on a new map."""

    rings: int = Field(4, ge=2, le=12)
    houses: int = Field(4, ge=2, le=12)
    seed: int = Field(default_factory=lambda: secrets.randbits(62), ge=0, le=2**63 - 1,
                      description="the map's and the dice's; default: a random one drawn as the command arrives "
                      "(journaled with the game, hidden from players)")
    turn_limit: int = Field(100, ge=1, le=1000)
    turn_deadline_s: float = Field(24 * 3600.0, ge=1, le=30 * 24 * 3600.0, description="a turn resolves by then")
    personalities: tuple[Personality, ...] = Field((), max_length=12, description="how the AI plays each house "
                                                   "when it must (default: balanced)")


class JoinHouse(Command):
    """Take a house (default: the first free one)."""

    house: int | None = Field(None, ge=0, le=11)


class SubmitOrders(Command):
    """This turn's orders for your house; ``turn`` names the turn (a late submission is refused)."""

    turn: int = Field(ge=1)
    orders: list[OrderSpec] = Field(max_length=500)


class PolicyOrders(Internal):
    """The learned players' orders for ``turn`` (house -> compact orders), from the policy worker."""

    turn: int
    orders: dict[int, list[dict[str, Any]]]


class PolicyFailed(Internal):
    """The policy worker could not give ``turn``'s orders (an error, or the worker crashed)."""

    turn: int
    error: str


class GameCreated(Event):
    rings: int
    seed: int
    turn_limit: int
    turn_deadline_s: float
    personalities: tuple[str, ...]
    at: float


class HouseJoined(Event):
    house: int
    player: str


class OrdersSubmitted(Event):
    house: int
    turn: int
    orders: list[dict[str, Any]]


class TurnResolved(Event):
    """Every house's orders of ``turn`` (the AI's for those missing) and who was on autopilot."""

    turn: int
    orders: dict[int, list[dict[str, Any]]]
    autopilot: tuple[int, ...]
    at: float


class PolicyAsked(Event):
    """The turn must resolve; the learned players of ``houses`` compute their orders in the policy worker."""

    turn: int
    houses: tuple[int, ...]
    at: float


class PolicyFellBack(Event):
    """The learned players of ``houses`` gave no usable orders for ``turn`` (``error`` says why): the
    balanced AI plays those houses this turn (``TurnResolved`` follows)."""

    turn: int
    houses: tuple[int, ...]
    error: str
    at: float
