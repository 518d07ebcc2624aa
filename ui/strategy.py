"""A hosted strategy game: the star map as the house's fog of war allows, the order form,
the turn countdown.  Operators see the whole board."""
from __future__ import annotations

import time
from typing import Any

from nicegui import background_tasks, ui

from actors.strategy import StrategyKind
from actors.strategy.state import from_board
from engine_ext.galaxy import LANE_NAMES
from engine_ext.strategy_orders import KINDS
from engine_ext.strategy_view import view

from .format import countdown
from .link import Link, LinkError, error_text
from .live import LiveActor
from .stream import Follower

OWNER_COLORS = ("#e15759", "#4e79a7", "#59a14f", "#f28e2b", "#b07aa1", "#76b7b2", "#edc948", "#ff9da7",
                "#9c755f", "#bab0ac", "#86bcb6", "#d4a6c8")
LANE_STYLES = {"major": (2.5, "solid"), "minor": (1.5, "dashed"), "restricted": (1.0, "dotted")}


def star_map(game: Any, seen: dict[str, Any]) -> dict[str, Any]:
    """An ECharts graph: systems at their hex positions, coloured by owner where visible, lanes by class."""
    visible = set(seen["visible"])
    owners = {c["system"]: c["owner"] for c in seen["colonies"]}
    fleets: dict[int, int] = {}
    for fleet in seen["fleets"]:
        fleets[fleet["system"]] = fleets.get(fleet["system"], 0) + fleet["ships"]
    nodes = []
    for system, (q, r) in enumerate(game.galaxy.coords):
        x, y = q + r / 2, r * 0.866
        known = system in visible
        color = OWNER_COLORS[owners[system] % len(OWNER_COLORS)] if system in owners else (
            "#cccccc" if known else "#555555")
        label = f"{system}" + (f" ⚑{fleets[system]}" if system in fleets else "")
        nodes.append({"name": str(system), "x": x * 40, "y": y * 40, "symbolSize": 18 if system in owners else 10,
                      "itemStyle": {"color": color, "opacity": 1 if known else 0.4},
                      "label": {"show": known, "formatter": label, "fontSize": 9}})
    links = [{"source": str(a), "target": str(b),
              "lineStyle": {"width": LANE_STYLES[LANE_NAMES[kind]][0], "type": LANE_STYLES[LANE_NAMES[kind]][1],
                            "opacity": 0.8 if a in visible or b in visible else 0.2}}
             for a, b, kind in game.galaxy.lanes]
    return {"animation": False, "tooltip": {}, "series": [{
        "type": "graph", "layout": "none", "roam": True, "data": nodes, "links": links,
        "lineStyle": {"color": "#888"}, "emphasis": {"focus": "adjacency"}}]}


class StrategyView:
    def __init__(self, link: Link, game_id: str) -> None:
        self.link, self.game_id = link, game_id
        self.address = f"strategy/{game_id}"
        self.live = LiveActor(StrategyKind())
        self.staged: list[dict[str, Any]] = []
        self.fetched_at = time.time()

    def house(self) -> int | None:
        """My house (None: an operator's whole view, or not seated)."""
        state = self.live.state
        me = self.link.who.character
        return next((s.house for s in state.seats if me is not None and s.player == me), None)

    def build(self) -> None:
        with ui.row().classes("w-full items-center gap-3"):
            self.title = ui.label(f"Strategy game {self.game_id}").classes("text-2xl").props("data-test=game-title")
            self.clock = ui.label("").classes("text-sm").props("data-test=turn-countdown")
            ui.space()
            self.connection = ui.badge("connecting…", color="grey").props("data-test=connection")
        self.problem = ui.label("").classes("text-negative")
        with ui.row().classes("w-full no-wrap items-start gap-4"):
            self.chart = ui.echart({"series": []}).classes("grow h-[60vh]").props("data-test=star-map")
            with ui.column().classes("w-96 shrink-0"):
                self.houses = ui.column().classes("w-full").props("data-test=houses")
                with ui.card().classes("w-full"):
                    ui.label("Orders").classes("text-lg")
                    self.kind = ui.select(list(KINDS), value="set_tax", label="Order").classes("w-full").props(
                        "data-test=order-kind")
                    with ui.row().classes("gap-2"):
                        self.fleet = ui.number("Fleet", precision=0).classes("w-20").props("data-test=order-fleet")
                        self.system = ui.number("System", precision=0).classes("w-20").props("data-test=order-system")
                        self.amount = ui.number("Amount / tax", precision=0).classes("w-28").props(
                            "data-test=order-amount")
                    with ui.row().classes("gap-2"):
                        self.ship = ui.input("Ship", placeholder="destroyer").classes("w-28")
                        self.count = ui.number("Count", value=1, precision=0).classes("w-20")
                        self.field = ui.input("Field / stance", placeholder="weapons").classes("w-28")
                    with ui.row().classes("gap-2"):
                        ui.button("Add order", on_click=self.stage).props("outline data-test=add-order")
                        ui.button("Submit orders", on_click=self.submit).props("data-test=submit-orders")
                        ui.button("Join a house", on_click=self.join).props("flat data-test=join")
                    self.staged_label = ui.label("No orders yet.").classes("text-xs").props("data-test=staged")
                    self.errors = ui.column().classes("text-negative text-sm").props("data-test=order-errors")
        ui.timer(1.0, self.tick)

    def stage(self) -> None:
        kind = self.kind.value
        order: dict[str, Any] = {"kind": kind}
        number = {"fleet": self.fleet.value, "system": self.system.value}
        for key, value in number.items():
            if value is not None:
                order[key] = int(value)
        if self.amount.value is not None:
            order["amount"] = int(self.amount.value)
        if kind == "build":
            order.update(ship=self.ship.value or None, count=int(self.count.value or 1))
        if kind == "research":
            order["field"] = self.field.value or None
        if kind == "diplomacy":
            order.update(stance=self.field.value or None, house=int(self.system.value or 0))
            order.pop("system", None)
        self.staged.append(order)
        self.staged_label.set_text("; ".join(str(o) for o in self.staged))

    async def submit(self) -> None:
        self.errors.clear()
        state = self.live.state
        try:
            await self.link.command(self.address, "SubmitOrders", {"turn": state.turn, "orders": self.staged})
        except LinkError as exc:
            with self.errors:
                ui.label(error_text(exc))
                for detail in exc.details if isinstance(exc.details, list) else []:
                    ui.label(f"order {detail['index'] + 1}: {detail['message']} ({detail['code']})")
            return
        self.staged = []
        self.staged_label.set_text("Orders in; waiting for the turn.")

    async def join(self) -> None:
        try:
            await self.link.command(self.address, "JoinHouse", {})
        except LinkError as exc:
            self.problem.set_text(error_text(exc))

    def render(self, events: list[Any] | None = None) -> None:
        state = self.live.state
        if not state.created:
            self.problem.set_text("This game has not been created yet.")
            return
        self.fetched_at = time.time()
        game = from_board(state)
        mine = self.house()
        seen = view(game, None if self.link.who.operator or mine is None else mine)
        status = f"Turn {state.turn}" + (f" · you are house {mine}" if mine is not None else "")
        if state.ended:
            status += f" · over: house {state.winner} won"
        self.title.set_text(status)
        self.chart.options.clear()
        self.chart.options.update(star_map(game, seen))
        self.chart.update()
        self.houses.clear()
        with self.houses:
            for house in seen["houses"]:
                seat = state.seats[house["hid"]]
                who = seat.player or f"AI ({seat.personality})"
                line = f"House {house['hid']} · {who} · prestige {house['prestige']}"
                if "treasury" in house:
                    line += f" · {house['treasury']} PP · tax {house['tax']}%"
                if seat.autopilot and seat.player:
                    line += " · autopilot"
                ui.label(line).classes("text-sm" + ("" if house["alive"] else " line-through"))

    def tick(self) -> None:
        state = self.live.state
        due = state.turn_due() if state is not None and state.created else None
        # on a virtual clock time stands still between advances: show the whole turn's time
        now = time.time() if self.link.who.clock != "virtual" else state.turn_started_at
        self.clock.set_text("" if due is None else f"turn resolves {countdown(due, now)}")


async def strategy_view(link: Link, game_id: str) -> None:
    page = StrategyView(link, game_id)
    page.build()
    follower = Follower(link, page.address, page.live, page.connection, page.problem, page.render, page.render)
    background_tasks.create(follower.run(ui.context.client), name=f"follow {page.address}")
