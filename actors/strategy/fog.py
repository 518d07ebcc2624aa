"""What each reader of a strategy game may see of it: the fog of war on the state and events.

- An operator or the game's GM (``is_gm``) sees everything: the server sends them the
  state and the events as they are.
- A player seated at a house (its token's character, or id, holds it) sees the setup
  without the seed (the game's dice come from it), the seats, the turn and its deadline,
  which houses have ordered this turn, its own orders only, the winner, the public map
  and ``view(game, its house)`` in place of the board.
- Any other reader (a player who has not joined) sees the same with the public view
  (``NOBODY``): each house's prestige and whether it is still in the game.

Events: ``GameCreated`` without its seed, with the map and the reader's view;
``HouseJoined`` as it is, with the reader's view when the reader is the one who joined;
another house's ``OrdersSubmitted`` as ``{house, turn}``; ``TurnResolved`` with the
reader's own orders only (``autopilot`` stays: which houses missed the turn is public, as
the seats show), the winner and the reader's view after it; ``PolicyAsked`` as it is (which
houses a learned player plays is public: the seats name their personalities) and
``PolicyFellBack`` without its ``error`` (the server's trouble, for the GM).  Which systems and what in
them a house sees is ``engine_ext.strategy_view``'s to decide.

``fold`` applies a projected event to a projected state, so a client follows a game from
one snapshot without ever holding the board:
``fold(project_state(s, r), e.type, project_event(s2, e, r)) == project_state(s2, r)``.
"""
from __future__ import annotations

from typing import Any

from engine_ext.strategy_view import NOBODY, public_map, view

from ..messages import Event
from ..roles import is_gm
from .messages import GameCreated, HouseJoined, OrdersSubmitted, PolicyFellBack, TurnResolved
from .state import Strategy, from_board


def player_of(by: dict[str, Any] | None) -> str | None:
    """Who a principal is at the table: its character, or for a bot without one its token."""
    by = by or {}
    return by.get("character") or by.get("token_id")


def house_of(state: Strategy, viewer: dict[str, Any] | None) -> int | None:
    """The house ``viewer`` holds, if any."""
    player = player_of(viewer)
    return next((s.house for s in state.seats if player is not None and s.player == player), None)


def sight(state: Strategy, viewer: dict[str, Any] | None) -> int | None:
    """Whose view ``viewer`` gets: None (everything), a house, or ``NOBODY``."""
    if is_gm(viewer):
        return None
    house = house_of(state, viewer)
    return NOBODY if house is None else house


def project_state(state: Strategy, viewer: dict[str, Any] | None) -> dict[str, Any]:
    """The game as ``viewer`` sees it, JSON-ready (for everyone who sees all: every order and the whole view)."""
    seeing, house = sight(state, viewer), house_of(state, viewer)
    game = from_board(state) if state.created else None
    submitted = {str(h): orders for h, orders in state.submitted.items() if seeing is None or h == house}
    return {"created": state.created, "rings": state.rings, "turn_limit": state.turn_limit,
            "turn_deadline_s": state.turn_deadline_s, "turn_started_at": state.turn_started_at,
            "seats": [seat.model_dump(mode="json") for seat in state.seats], "turn": state.turn, "house": house,
            "ordered": sorted(state.submitted), "submitted": submitted, "winner": state.winner, "ended": state.ended,
            "map": public_map(game.galaxy) if game is not None else None,
            "view": view(game, seeing) if game is not None else None}


def project_event(state: Strategy, event: Event, viewer: dict[str, Any] | None) -> dict[str, Any]:
    """``event``'s data as ``viewer`` sees it; ``state`` is the game right after the event."""
    seeing, house = sight(state, viewer), house_of(state, viewer)
    data = event.model_dump(mode="json")
    match event:
        case GameCreated():
            game = from_board(state)
            if seeing is not None:
                del data["seed"]
            data.update(map=public_map(game.galaxy), view=view(game, seeing))
        case HouseJoined() if event.house == house:
            data["view"] = view(from_board(state), seeing)
        case OrdersSubmitted() if seeing is not None and event.house != house:
            data = {"house": event.house, "turn": event.turn}
        case PolicyFellBack() if seeing is not None:
            del data["error"]
        case TurnResolved():
            if seeing is not None:
                data["orders"] = {h: orders for h, orders in data["orders"].items() if h == str(house)}
            data.update(winner=state.winner, view=view(from_board(state), seeing))
    return data


def fold(seen: dict[str, Any], kind: str, data: dict[str, Any]) -> dict[str, Any]:
    """A projected state after one projected event (``kind`` is the event's type); pure, for clients."""
    seen = {**seen}
    seats = [{**seat} for seat in seen["seats"]]
    if kind == "GameCreated":
        seats = [{"house": h, "player": None, "personality": p, "missed": 0}
                 for h, p in enumerate(data["personalities"])]
        seen.update(created=True, rings=data["rings"], turn_limit=data["turn_limit"],
                    turn_deadline_s=data["turn_deadline_s"], turn_started_at=data["at"], turn=data["view"]["turn"],
                    map=data["map"], view=data["view"])
    elif kind == "HouseJoined":
        seats[data["house"]].update(player=data["player"], missed=0)
        if "view" in data:
            seen.update(house=data["house"], view=data["view"])
    elif kind == "OrdersSubmitted":
        seats[data["house"]]["missed"] = 0
        seen["ordered"] = sorted({*seen["ordered"], data["house"]})
        if "orders" in data:
            seen["submitted"] = {**seen["submitted"], str(data["house"]): data["orders"]}
    elif kind == "TurnResolved":
        for seat in seats:
            if seat["player"] is not None and seat["house"] in data["autopilot"]:
                seat["missed"] += 1
        seen.update(ordered=[], submitted={}, turn_started_at=data["at"], winner=data["winner"],
                    ended=data["winner"] is not None, turn=data["view"]["turn"], view=data["view"])
    elif kind not in ("PolicyAsked", "PolicyFellBack"):  # the turn resolving: nothing a reader holds changes
        raise ValueError(f"unknown strategy event {kind!r}")
    seen["seats"] = seats
    return seen
