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
from engine_ext.strategy_orders import FLEET_ORDERS, KINDS
from engine_ext.strategy_rules import ARMY_COST, FIELDS, SHIPS, SHIPYARD_COST, STARBASE, STARBASES_MAX

from .format import ServerClock, countdown
from .link import Link, LinkError, error_text
from .stream import Follower

OWNER_COLORS = ("#e15759", "#4e79a7", "#59a14f", "#f28e2b", "#b07aa1", "#76b7b2", "#edc948", "#ff9da7",
                "#9c755f", "#bab0ac", "#86bcb6", "#d4a6c8")
LANE_STYLES = {"major": (2.5, "solid"), "minor": (1.5, "dashed"), "restricted": (1.0, "dotted")}


def star_map(public: dict[str, Any], seen: dict[str, Any], selected: int | None = None) -> dict[str, Any]:
    """An ECharts graph: systems at their hex positions, coloured by owner where visible, lanes by class;
    ``selected`` (a system) ringed.  Labels that would overlap are hidden, never drawn over each other.

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
        ring = {"borderColor": "#111", "borderWidth": 3} if system == selected else {}
        nodes.append({"name": str(system), "value": system, "x": x * 40, "y": y * 40,  # NiceGUI's clicks read value
                      "symbolSize": (18 if system in owners else 10) + (8 if system == selected else 0),
                      "itemStyle": {"color": color, "opacity": 1 if known else 0.4, **ring},
                      "label": {"show": known, "formatter": label, "fontSize": 9, "position": "right"}})
    links = [{"source": str(a), "target": str(b),
              "lineStyle": {"width": LANE_STYLES[LANE_NAMES[kind]][0], "type": LANE_STYLES[LANE_NAMES[kind]][1],
                            "opacity": 0.8 if a in visible or b in visible else 0.2}}
             for a, b, kind in public["lanes"]]
    return {"animation": False, "tooltip": {}, "series": [{
        "type": "graph", "layout": "none", "roam": True, "data": nodes, "links": links,
        "labelLayout": {"hideOverlap": True}, "lineStyle": {"color": "#888"}, "emphasis": {"focus": "adjacency"}}]}


def buildable(seen: dict[str, Any], system: int) -> dict[str, str]:
    """What this house may build at its colony in ``system`` now: ``{ship: "destroyer (120 PP)"}``; empty for
    a system that is not its colony.  The rules check again when the orders go in."""
    board, mine = seen["view"], seen["house"]
    colony = next((c for c in board["colonies"] if c["system"] == system and c["owner"] == mine), None)
    house = next((h for h in board["houses"] if h["hid"] == mine), None)
    if colony is None or house is None or "tech" not in house:
        return {}
    construction = house["tech"][FIELDS.index("construction")]
    options = {}
    if colony.get("docks", 0) > 0:
        options.update({ship.name: f"{ship.name.replace('_', ' ')} ({ship.cost} PP)" for ship in SHIPS
                        if ship.tech <= construction})
    if construction >= STARBASE.tech and colony["starbases"] < STARBASES_MAX:
        options["starbase"] = f"starbase ({STARBASE.cost} PP)"
    options["shipyard"] = f"shipyard: one more dock ({SHIPYARD_COST} PP)"
    options["army"] = f"army ({ARMY_COST} PP)"
    return options


def my_fleets(seen: dict[str, Any], system: int) -> list[dict[str, Any]]:
    return [f for f in seen["view"]["fleets"] if f["system"] == system and f["owner"] == seen["house"]]


def order_text(order: dict[str, Any]) -> str:
    """An order as a person reads it: ``fleet 3: move to system 12``, ``build 2 destroyer at system 4``."""
    kind = order["kind"]
    if kind in FLEET_ORDERS:
        where = f" system {order['system']}" if order.get("system") is not None else ""
        verb = {"move": "move to", "patrol": "patrol", "hold": "hold", "colonize": "colonize", "blockade": "blockade",
                "bombard": "bombard", "invade": "invade"}[kind]
        return f"fleet {order.get('fleet')}: {verb}{where}"
    if kind == "build":
        return f"build {order.get('count', 1)} {str(order.get('ship')).replace('_', ' ')} at system {order.get('system')}"
    if kind == "research":
        return f"research {order.get('field')} with {order.get('amount', 0)} PP"
    if kind == "set_tax":
        return f"set tax to {order.get('amount', 0)}%"
    return f"{order.get('stance')} toward house {order.get('house')}"


def turn_report(before: dict[str, Any] | None, after: dict[str, Any], orders: list[dict[str, Any]]) -> list[str]:
    """The last turn, for this house: its orders and what changed (treasury, colonies, fleets, ships)."""
    lines = [f"Turn {after['turn'] - 1} resolved."]
    lines += [f"Ordered: {order_text(order)}" for order in orders] or ["No orders of yours (the AI played them)."]
    if before is None:
        return lines
    mine = after["house"]

    def figures(view: dict[str, Any]) -> tuple[int | None, int, int, int]:
        house = next((h for h in view["houses"] if h["hid"] == mine), {})
        fleets = [f for f in view["fleets"] if f["owner"] == mine]
        return (house.get("treasury"), sum(1 for c in view["colonies"] if c["owner"] == mine), len(fleets),
                sum(f["ships"] for f in fleets))

    (treasury0, colonies0, fleets0, ships0), (treasury1, colonies1, fleets1, ships1) = figures(before), figures(
        after["view"])
    if treasury0 is not None and treasury1 is not None:
        lines.append(f"Treasury {treasury0} → {treasury1} PP.")
    for what, was, now in (("Colonies", colonies0, colonies1), ("Fleets", fleets0, fleets1),
                           ("Ships", ships0, ships1)):
        if was != now:
            lines.append(f"{what} {was} → {now}.")
    return lines


@dataclass
class SeenGame:
    """The game as this page's token sees it, kept from the stream (a ``Follower``'s live state).

    ``seen`` has the shape of ``fog.project_state``: from a player's projected frames as
    they come, or from the whole state an operator or GM receives (shown whole)."""

    kind: StrategyKind
    seen: dict[str, Any] | None = None
    whole: Strategy | None = None  # the full state, when the server sends it
    seq: int = 0
    resolved: dict[str, Any] | None = None  # the last TurnResolved's data this reader was sent

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
        if body["type"] == "TurnResolved":
            self.resolved = body["data"]
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
        self.selected: int | None = None        # the system clicked last
        self.fleet_chosen: int | None = None    # the fleet a click on another system gives an order
        self.shown_turn: int | None = None
        self.last_view: dict[str, Any] | None = None  # the board before the turn resolved, for its report
        self.server_clock = ServerClock(link.who.clock == "virtual")

    def build(self) -> None:
        with ui.row().classes("w-full items-center gap-3"):
            self.title = ui.label(f"Strategy game {self.game_id}").classes("text-2xl").props("data-test=game-title")
            self.clock = ui.label("").classes("text-sm").props("data-test=turn-countdown")
            ui.space()
            self.connection = ui.badge("connecting…", color="grey").props("data-test=connection")
        self.problem = ui.label("").classes("text-negative")
        with ui.element("div").classes("w-full flex flex-col md:flex-row md:flex-nowrap items-start gap-4"):
            self.chart = ui.echart({"series": []}, on_point_click=self.clicked).classes(
                "w-full md:grow h-[60vh]").props("data-test=star-map")
            with ui.column().classes("w-full md:w-96 shrink-0"):
                self.report = ui.column().classes("w-full").props("data-test=turn-report")
                with ui.card().classes("w-full").props("data-test=selection"):
                    ui.label("On the map").classes("text-lg")
                    self.hint = ui.label("Click a system: your fleets there and what its colony may build."
                                         ).classes("text-sm text-grey-8").props("data-test=map-hint")
                    self.fleet_action = ui.select({k: k for k in FLEET_ORDERS if k != "hold"}, value="move",
                                                  label="A click on another system orders the fleet to").classes(
                        "w-full").props("data-test=fleet-action")
                    self.selection = ui.column().classes("w-full gap-1")
                self.staged_box = ui.column().classes("w-full gap-0").props("data-test=staged-orders")
                self.houses = ui.column().classes("w-full").props("data-test=houses")
                with ui.expansion("Any order by hand", icon="edit_note", value=True).classes("w-full"):
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
        ui.timer(15.0, self.read_clock)

    # -- the map -------------------------------------------------------------------------

    def clicked(self, event: Any) -> None:
        """A system clicked: with a fleet chosen, that fleet's order to it; else what is there."""
        if event.series_type != "graph" or event.data_type != "node" or self.live.seen is None:
            return
        system = int(event.name)
        if self.fleet_chosen is not None and system != self.selected:
            self.add({"kind": self.fleet_action.value, "fleet": self.fleet_chosen, "system": system})
            self.fleet_chosen = None
        self.selected = system
        self.render()

    def choose_fleet(self, fid: int) -> None:
        self.fleet_chosen = fid
        self.render()

    def show_selection(self, seen: dict[str, Any]) -> None:
        self.selection.clear()
        system = self.selected
        if self.fleet_chosen is not None:
            self.hint.set_text(f"Fleet {self.fleet_chosen} chosen: click where it should go.")
        elif system is None:
            return
        else:
            self.hint.set_text(f"System {system}.")
        if system is None:
            return
        with self.selection:
            for fleet in my_fleets(seen, system):
                classes = ", ".join(f"{n} {k.replace('_', ' ')}" for k, n in fleet.get("classes", {}).items())
                ui.button(f"Fleet {fleet['fid']}: {classes or str(fleet['ships']) + ' ships'}",
                          on_click=lambda f=fleet["fid"]: self.choose_fleet(f)).props(
                    f"outline dense no-caps data-test=pick-fleet-{fleet['fid']}").classes("w-full")
            options = buildable(seen, system)
            if options:
                with ui.row().classes("w-full items-end gap-2 no-wrap"):
                    ship = ui.select(options, value=next(iter(options)), label="Build here").props(
                        "data-test=build-ship").classes("grow")
                    count = ui.number("Count", value=1, min=1, max=20, precision=0).classes("w-16")
                    ui.button("Add", on_click=lambda: self.add({"kind": "build", "system": system, "ship": ship.value,
                                                               "count": int(count.value or 1)})).props(
                        "outline dense data-test=add-build")

    def add(self, order: dict[str, Any]) -> None:
        self.staged.append(order)
        self.show_staged()

    def drop(self, index: int) -> None:
        del self.staged[index]
        self.show_staged()

    def show_staged(self) -> None:
        self.staged_label.set_text("; ".join(order_text(o) for o in self.staged) or "No orders yet.")
        self.staged_box.clear()
        with self.staged_box:
            for i, order in enumerate(self.staged):
                with ui.row().classes("w-full items-center gap-2 text-sm no-wrap"):
                    ui.label(order_text(order)).classes("grow").props(f"data-test=staged-{i}")
                    ui.button(icon="close", on_click=lambda i=i: self.drop(i)).props("flat dense round size=xs")

    async def read_clock(self) -> None:
        try:
            clock = await self.link.get("/api/v1/clock")
        except LinkError:
            return
        self.server_clock.set(clock["now"])

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
        self.add(order)

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
        self.show_staged()
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
        self.chart.options.update(star_map(seen["map"], board, self.selected))
        self.chart.update()
        if self.shown_turn is not None and seen["turn"] > self.shown_turn:
            orders = (self.live.resolved or {}).get("orders", {})
            mine = orders.get(str(seen["house"]), orders.get(seen["house"], [])) if seen["house"] is not None else []
            self.report.clear()
            with self.report, ui.card().classes("w-full bg-blue-grey-1"):
                for line in turn_report(self.last_view, seen, mine):
                    ui.label(line).classes("text-sm")
        self.shown_turn, self.last_view = seen["turn"], board
        self.show_selection(seen)
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
        # before the clock is read, a virtual one shows the whole turn's time
        unread = seen["turn_started_at"] if self.link.who.clock == "virtual" and seen is not None else None
        now = self.server_clock.now(unread)
        self.clock.set_text("" if due is None else f"turn resolves {countdown(due, now)}")


async def strategy_view(link: Link, game_id: str) -> None:
    page = StrategyView(link, game_id)
    page.build()
    follower = Follower(link, page.address, page.live, page.connection, page.problem, page.render, page.render)
    background_tasks.create(follower.run(ui.context.client), name=f"follow {page.address}")
    await page.read_clock()
