"""Resolving a strategy turn: the compiled resolver when built, else the reference.

``resolve`` is what games call: ``strategy_ref.screen`` judges every house's orders (one
place for what an order may do), then the turn is settled by ``_strategy.settle`` on the
game's flat arrays (``strategy_flat``) or, without the extension, by
``strategy_ref.settle``.  Both give the same game, die for die (``tests/engine_ext``).
``EVERTURN_NO_EXTENSIONS=1`` forces the reference; ``COMPILED`` says which one serves.
"""
from __future__ import annotations

from array import array
from types import ModuleType

from . import strategy_flat as flat
from . import strategy_ref
from .compiled import pick
from .strategy_orders import Order
from .strategy_ref import Report
from .strategy_state import Game

_serving, COMPILED = pick("._strategy", ".strategy_ref")


def resolve(game: Game, orders: dict[int, list[Order]], turn_limit: int | None = None) -> tuple[Game, Report]:
    """The next turn's state and what happened; ``game`` is not changed."""
    accepted, refused = strategy_ref.screen(game, orders)
    after, report = settle(game, accepted, turn_limit)
    report.refused = refused
    return after, report


def settle(game: Game, accepted: dict[int, list[Order]], turn_limit: int | None = None) -> tuple[Game, Report]:
    """The accepted orders' turn, settled by the compiled resolver when built."""
    if not COMPILED:
        return strategy_ref.settle(game, accepted, turn_limit)
    return settle_compiled(game, accepted, turn_limit)


def settle_compiled(game: Game, accepted: dict[int, list[Order]], turn_limit: int | None = None,
                    kernel: ModuleType | None = None) -> tuple[Game, Report]:
    """The turn settled on the game's flat arrays by ``kernel`` (the built ``_strategy``: its
    resolver, and its twins of ``strategy_flat.pack`` and ``unpack``)."""
    kernel = kernel or _serving
    board, rows = flat.board(game, accepted, turn_limit, kernel.pack)
    settle_flat(board, rows, flat.routes(game.galaxy), kernel)
    return kernel.unpack(board, game.galaxy), flat.report_of(board, game.turn)


def settle_flat(board: flat.Flat, rows: array, routes: flat.Routes, kernel: ModuleType | None = None) -> None:
    """The compiled resolver on a packed board, in place (``board.meta`` then holds the report's counters)."""
    (kernel or _serving).settle(board.seed, board.meta, board.houses, board.colonies, board.fleets, board.diplomacy,
                                board.events, rows, routes)
