"""A hosted strategy game: the star map as the house's fog of war allows, the order form,
the turn countdown.

The page shows what the server sends: a player's token gets its house's view of the game
(``actors.strategy.fog``), never the board, and the page follows it by folding each
projected event into the projected snapshot (``fog.fold``).  Operators and the game's GM
get the whole state, kept with the kind's own ``evolve`` and shown whole."""
from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from nicegui import background_tasks, ui

from actors.strategy import StrategyKind, fog
from actors.strategy.state import MISSES_TO_AUTOPILOT, Strategy
from engine_ext.galaxy import LANE_NAMES
from engine_ext.strategy_orders import KINDS

from .format import countdown
from .link import Link, LinkError, error_text
from .stream import Follower

OWNER_COLORS = ("#e15759", "#4e79a7", "#59a14f", "#f28e2b", "#b07aa1", "#76b7b2", "#edc948", "#ff9da7",
                "#9c755f", "#bab0ac", "#86bcb6", "#d4a6c8")
LANE_STYLES = {"major": (2.5, "solid"), "minor": (1.5, "dashed"), "restricted": (1.0, "dotted")}


def star_map(public: dict[str, Any], seen: dict[str, Any]) -> dict[str, Any]:
    """An ECharts graph: systems at their hex positions, coloured by owner where visible, lanes by class.

    ``public`` is the game's public map (``strategy_view.public_map``), ``seen`` the reader's view."""
    visible = set(seen["visible"])
    owners = {c["system"]: c["owner"] for c in seen["colonies"]}
    fleets: dict[int, int] = {}
    for fleet in seen["fleets"]:
        fleets[fleet["system"]] = fleets.get(fleet["system"], 0) + fleet["ships"]
    nodes = []
    for system, (q, r) in enumerate(public["coords"]):
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
             for a, b, kind in public["lanes"]]
    return {"animation": False, "tooltip": {}, "series": [{
        "type": "graph", "layout": "none", "roam": True, "data": nodes, "links": links,
        "lineStyle": {"color": "#888"}, "emphasis": {"focus": "adjacency"}}]}


@dataclass
class SeenGame:
    """The game as this page's token sees it, kept from the stream (a ``Follower``'s live state).

    ``seen`` has the shape of ``fog.project_state``: from a player's projected frames as
    they come, or from the whole state an operator or GM receives (shown whole)."""

    kind: StrategyKind
    seen: dict[str, Any] | None = None
    whole: Strategy | None = None  # the full state, when the server sends it
    seq: int = 0

    def apply(self, message: dict[str, Any]) -> bool:
        """Take one stream message; True when the game changed (a snapshot or an event)."""
        if message.get("type") == "snapshot":
            state = message["state"]
            self.whole = Strategy.model_validate(state) if "board" in state else None
            self.seen = fog.project_state(self.whole, None) if self.whole is not None else state
            self.seq = message["seq"]
            return True
        if message.get("type") != "event" or self.seen is None or message["seq"] <= self.seq:
            return False
        body = message["event"]
        if self.whole is not None:
            event = self.kind.load_event({"t": body["type"], "v": body["version"], "d": body["data"]})
            self.whole = self.kind.evolve(self.whole, event)
            self.seen = fog.project_state(self.whole, None)
        else:
            self.seen = fog.fold(self.seen, body["type"], body["data"])
        self.seq = message["seq"]
        return True

    def take_events(self) -> list[Any]:
        return []  # the page redraws from ``seen`` alone

class StrategyView:
    def __init__(self, link: Link, game_id: str) -> None:
        self.link, self.game_id = link, game_id
        self.address = f"strategy/{game_id}"
        self.live = SeenGame(StrategyKind())
        self.staged: list[dict[str, Any]] = []
        self.fetched_at = time.time()

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
        seen = self.live.seen
        try:
            await self.link.command(self.address, "SubmitOrders", {"turn": seen["turn"] if seen else 0,
                                                                   "orders": self.staged})
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
        seen = self.live.seen
        if seen is None or not seen["created"]:
            self.problem.set_text("This game has not been created yet.")
            return
        self.fetched_at = time.time()
        mine, board = seen["house"], seen["view"]
        status = f"Turn {seen['turn']}" + (f" · you are house {mine}" if mine is not None else "")
        if seen["ended"]:
            status += f" · over: house {seen['winner']} won"
        self.title.set_text(status)
        self.chart.options.clear()
        self.chart.options.update(star_map(seen["map"], board))
        self.chart.update()
        self.houses.clear()
        with self.houses:
            for house in board["houses"]:
                seat = seen["seats"][house["hid"]]
                who = seat["player"] or f"AI ({seat['personality']})"
                line = f"House {house['hid']} · {who} · prestige {house['prestige']}"
                if "treasury" in house:
                    line += f" · {house['treasury']} PP · tax {house['tax']}%"
                if seat["player"] and seat["missed"] >= MISSES_TO_AUTOPILOT:
                    line += " · autopilot"
                if house["hid"] in seen["ordered"]:
                    line += " · orders in"
                ui.label(line).classes("text-sm" + ("" if house["alive"] else " line-through"))

    def tick(self) -> None:
        seen = self.live.seen
        due = None if seen is None or not seen["created"] or seen["ended"] else (
            seen["turn_started_at"] + seen["turn_deadline_s"])
        # on a virtual clock time stands still between advances: show the whole turn's time
        now = time.time() if self.link.who.clock != "virtual" or seen is None else seen["turn_started_at"]
        self.clock.set_text("" if due is None else f"turn resolves {countdown(due, now)}")


async def strategy_view(link: Link, game_id: str) -> None:
    page = StrategyView(link, game_id)
    page.build()
    follower = Follower(link, page.address, page.live, page.connection, page.problem, page.render, page.render)
    background_tasks.create(follower.run(ui.context.client), name=f"follow {page.address}")
