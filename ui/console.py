"""The operator console: the supervision tree, actions, the inspector, dead letters, gauges,
headless runs, training jobs and the model registry (``ui.training``), the narrator (``ui.narrator``).

Everything here is the operator API (``/api/v1/admin``) polled every ``POLL_S`` seconds;
an action answers with a notification and the next poll shows its effect.
"""
from __future__ import annotations

import time
from datetime import datetime, timezone
from typing import Any

import orjson
from nicegui import background_tasks, ui

from .access import Access
from .bridges import Bridges
from .format import clock_time, matches
from .gauges import SERIES, Gauges
from .link import Link, LinkError, error_text
from .narrator import Narrator
from .runs import Runs
from .training import Models, Training

POLL_S = 2.0
JOURNAL_PAGE = 20
COLUMNS = [
    {"name": "address", "label": "actor", "field": "label", "align": "left", "sortable": True},
    {"name": "status", "label": "status", "field": "status", "sortable": True},
    {"name": "mailbox", "label": "mailbox", "field": "mailbox", "sortable": True},
    {"name": "handled", "label": "handled", "field": "handled", "sortable": True},
    {"name": "p50", "label": "p50 ms", "field": "handle_ms_p50"},
    {"name": "p99", "label": "p99 ms", "field": "handle_ms_p99", "sortable": True},
    {"name": "restarts", "label": "restarts", "field": "restarts", "sortable": True},
    {"name": "journal", "label": "journal", "field": "journal_length", "sortable": True},
    {"name": "error", "label": "last error", "field": "last_error", "align": "left"},
]


def flatten(tree: dict[str, Any]) -> list[dict[str, Any]]:
    """The supervision tree as table rows, children indented under their parents; then stopped actors."""
    rows: list[dict[str, Any]] = []

    def walk(node: dict[str, Any], depth: int) -> None:
        row = {k: v for k, v in node.items() if k != "children"}
        row["label"] = "\u2003" * depth + node["address"]
        row["handle_ms_p50"] = _ms(node.get("handle_ms_p50"))
        row["handle_ms_p99"] = _ms(node.get("handle_ms_p99"))
        rows.append(row)
        for child in node["children"]:
            walk(child, depth + 1)

    for kind in tree["children"]:
        for node in kind["children"]:
            walk(node, 0)
    for status in ("stopped", "corrupt"):  # not in memory: stopped by an operator, or history unreadable
        for address in tree.get(status, []):
            rows.append({"address": address, "label": address, "kind": address.split("/", 1)[0], "status": status,
                         "mailbox": 0, "handled": None, "handle_ms_p50": None, "handle_ms_p99": None,
                         "restarts": None, "journal_length": None,
                         "last_error": "stored history unreadable: see the server log and 'everturn verify'"
                         if status == "corrupt" else None})
    return rows


def storage_text(figures: dict[str, Any], now: float) -> str:
    """The banner over the console while the disk refuses writes ("" while it takes them)."""
    storage = figures.get("storage") or {}
    if storage.get("state") != "degraded":
        return ""
    since = time.strftime("%H:%M:%S", time.localtime(storage["since"])) if storage.get("since") else "?"
    minutes = (now - storage["since"]) / 60 if storage.get("since") else 0.0
    retry = storage.get("next_attempt_in_s")
    return (f"Storage degraded since {since} ({minutes:.0f} min): {storage.get('what') or storage['code']}"
            f" — {storage['cause']}. Writes are refused ({storage['refused']} so far), reads and live views work. "
            f"It recovers by itself once the disk writes again"
            + (f"; next attempt in {retry:.0f} s." if retry is not None else ".")
            + " See 'Storage faults' in docs/operations.md.")


def _ms(value: float | None) -> float | None:
    return None if value is None else round(value, 2)


def header_text(figures: dict[str, Any]) -> str:
    """The console's line of runtime figures."""
    return (f"{figures['active']} active · {figures['passivated']} passivated · {len(figures['stopped'])} stopped · "
            f"{timers_text(figures)} · {figures['websocket_clients']} websocket clients · "
            f"loop lag {figures['loop_lag_ms'] or 0:.1f} ms{workers_text(figures)}")


def timers_text(figures: dict[str, Any]) -> str:
    """``3 timers stored · 0 firing``: durable timers waiting in the store (due or not), then those
    delivered to an actor and not yet handled."""
    stored = figures.get("timers_stored")
    return f"{'?' if stored is None else stored} timers stored · {figures['timers_pending']} firing"


def workers_text(figures: dict[str, Any]) -> str:
    """The runtime's worker processes (training, learned players) in the header, once one crashed or hung."""
    crashes, timeouts = figures.get("worker_crashes", 0), figures.get("worker_timeouts", 0)
    if not crashes and not timeouts:
        return ""
    return f" · worker processes: {crashes} crashed, {timeouts} killed past their time limit"


class Console:
    def __init__(self, link: Link, origin: str) -> None:
        self.link = link
        self.access = Access(link, origin)
        self.bridges = Bridges(link)
        self.gauges = Gauges()
        self.rows: list[dict[str, Any]] = []
        self.selected: str | None = None
        self.journal_cursors: list[str | None] = [None]   # cursors of the pages seen (for "back")
        self.letters_cursor: str | None = None
        self.models = Models(link)
        self.training = Training(link, self.models)
        self.narrator = Narrator(link)

    def build(self) -> None:
        with ui.row().classes("w-full items-center gap-4"):
            ui.label("Operator console").classes("text-2xl")
            self.figures = ui.label("").classes("text-sm text-grey-8").props("data-test=figures")
        self.storage = ui.label("").classes("w-full p-2 text-white bg-negative rounded").props("data-test=storage")
        self.storage.set_visibility(False)
        if self.link.who.clock == "virtual":
            self.clock_controls()
        with ui.grid(columns=3).classes("w-full gap-2"):
            self.charts = {key: ui.echart(self.gauges.chart(key)).classes("h-40 w-full").props(f"data-test=gauge-{key}")
                           for key in SERIES}
        with ui.tabs() as tabs:
            tree_tab = ui.tab("Actors")
            letters_tab = ui.tab("Dead letters")
            runs_tab = ui.tab("Headless runs")
            training_tab = ui.tab("Training").props("data-test=tab-training")
            models_tab = ui.tab("Models").props("data-test=tab-models")
            narrator_tab = ui.tab("Narrator").props("data-test=tab-narrator")
            access_tab = ui.tab("Access").props("data-test=tab-access")
            bridges_tab = ui.tab("Bridges").props("data-test=tab-bridges")
        with ui.tab_panels(tabs, value=tree_tab).classes("w-full"):
            with ui.tab_panel(tree_tab):
                self.tree_panel()
            with ui.tab_panel(letters_tab):
                self.letters = ui.column().classes("w-full").props("data-test=dead-letters")
                ui.button("Load dead letters", on_click=lambda: self.load_letters(first=True)).props("outline")
            with ui.tab_panel(runs_tab):
                Runs().build()
            with ui.tab_panel(training_tab):
                self.training.build()
            with ui.tab_panel(models_tab):
                self.models.build()
            with ui.tab_panel(narrator_tab):
                self.narrator.build()
            with ui.tab_panel(access_tab):
                self.access.build()
            with ui.tab_panel(bridges_tab):
                self.bridges.build()
        opened = {"Access": self.access.refresh, "Bridges": self.bridges.refresh}
        tabs.on_value_change(lambda e: background_tasks.create(opened[e.value](), name=e.value)
                             if e.value in opened else None)
        ui.timer(POLL_S, self.poll)

    # -- the tree ----------------------------------------------------------------------

    def tree_panel(self) -> None:
        with ui.row().classes("w-full items-center gap-2"):
            self.search = ui.input("Filter", placeholder="address or error").props(
                "dense clearable data-test=filter")
            self.status_filter = ui.select({"": "any status", "running": "running", "stopped": "stopped",
                                            "crashed": "crashed"}, value="").props("dense")
            self.search.on_value_change(self.show_rows)
            self.status_filter.on_value_change(self.show_rows)
            ui.space()
            self.inspect_input = ui.input("Inspect address", placeholder="campaign/c1").props(
                "dense data-test=inspect-address")
            ui.button("Inspect", on_click=lambda: self.inspect(self.inspect_input.value or "")).props("outline")
        self.table = ui.table(columns=COLUMNS, rows=[], row_key="address", pagination=50,
                              selection="single").classes("w-full").props("data-test=actors")
        self.table.on_select(self.on_select)
        with ui.row().classes("items-center gap-2"):
            self.target = ui.label("Select an actor").classes("font-mono").props("data-test=target")
            ui.button("Restart", on_click=lambda: self.act("restart")).props("data-test=restart")
            ui.button("Passivate", on_click=lambda: self.act("passivate")).props("outline").props("data-test=passivate")
            self.stop_reason = ui.input("Stop reason", placeholder="why").props("dense")
            ui.button("Stop", on_click=lambda: self.act("stop"), color="negative").props("data-test=stop")
            ui.button("Start", on_click=lambda: self.act("start"), color="positive").props("data-test=start")
        self.inspector = ui.column().classes("w-full").props("data-test=inspector")

    def show_rows(self) -> None:
        text, status = self.search.value or "", self.status_filter.value or None
        self.table.rows = [row for row in self.rows if matches(row, text, status)]
        self.table.update()

    async def on_select(self, event: Any) -> None:
        if event.selection:
            await self.inspect(event.selection[0]["address"])

    async def poll(self) -> None:
        try:
            tree = await self.link.get("/api/v1/admin/actors")
            figures = await self.link.get("/api/v1/admin/runtime")
        except LinkError as exc:
            self.figures.set_text(f"server: {error_text(exc)}")
            return
        self.rows = flatten(tree)
        self.show_rows()
        await self.training.poll()
        await self.narrator.poll()
        self.gauges.add(figures["at"], figures)
        for key, chart in self.charts.items():
            chart.options.update(self.gauges.chart(key))
            chart.update()
        self.figures.set_text(header_text(figures))
        banner = storage_text(figures, time.time())
        self.storage.set_text(banner)
        self.storage.set_visibility(bool(banner))

    async def act(self, action: str) -> None:
        address = self.selected
        if not address:
            ui.notify("Select an actor first (click its row, or inspect an address).", type="warning")
            return
        body = {"reason": self.stop_reason.value or "stopped from the console"} if action == "stop" else None
        try:
            answer = await self.link.post(f"/api/v1/admin/actors/{address}/{action}", body)
        except LinkError as exc:
            ui.notify(error_text(exc), type="negative")
            return
        ui.notify(f"{action}: {address} → {orjson.dumps(answer).decode()}", type="positive")
        await self.poll()
        await self.inspect(address)

    # -- the inspector -----------------------------------------------------------------

    async def inspect(self, address: str) -> None:
        address = address.strip()
        if "/" not in address:
            ui.notify("An actor address looks like kind/id, e.g. campaign/c1.", type="warning")
            return
        self.selected = address
        self.target.set_text(address)
        self.journal_cursors = [None]
        try:
            actor = await self.link.get(f"/api/v1/admin/actors/{address}")
        except LinkError as exc:
            ui.notify(error_text(exc), type="negative")
            return
        self.inspector.clear()
        with self.inspector:
            with ui.row().classes("items-center gap-4"):
                ui.label(address).classes("text-lg font-mono")
                ui.badge("active" if actor["active"] else "not in memory",
                         color="positive" if actor["active"] else "grey")
                ui.label(f"seq {actor['seq']}")
                if actor["stopped"]:
                    ui.badge(f"stopped: {actor['stopped'].get('reason')}", color="negative")
            if actor["timers"]:
                ui.label("Timers: " + ", ".join(f"{t['name']} at {clock_time(t['due_ms'] / 1000)}"
                                                for t in actor["timers"]))
            with ui.expansion("State", value=False).classes("w-full"):
                ui.code(orjson.dumps(actor["state"], option=orjson.OPT_INDENT_2).decode(), language="json").classes(
                    "w-full max-h-96 overflow-auto")
            ui.label("Journal").classes("text-lg")
            self.journal = ui.column().classes("w-full").props("data-test=journal")
        await self.load_journal()

    async def load_journal(self, cursor: str | None = None) -> None:
        address = self.selected
        try:
            page = await self.link.get(f"/api/v1/actors/{address}/events", limit=JOURNAL_PAGE, cursor=cursor)
        except LinkError as exc:
            ui.notify(error_text(exc), type="negative")
            return
        self.journal.clear()
        with self.journal:
            rows = [{"seq": item["seq"], "type": item["type"], "data": orjson.dumps(item["data"]).decode()[:300]}
                    for item in page["items"]]
            ui.table(columns=[{"name": "seq", "label": "seq", "field": "seq"},
                              {"name": "type", "label": "event", "field": "type", "align": "left"},
                              {"name": "data", "label": "data", "field": "data", "align": "left"}],
                     rows=rows, row_key="seq").classes("w-full").props("dense")
            with ui.row():
                if len(self.journal_cursors) > 1:
                    ui.button("Previous page", on_click=self.journal_back).props("outline")
                if page["next_cursor"]:
                    ui.button("Next page", on_click=lambda: self.journal_next(page["next_cursor"])).props(
                        "data-test=journal-next")

    async def journal_next(self, cursor: str) -> None:
        self.journal_cursors.append(cursor)
        await self.load_journal(cursor)

    async def journal_back(self) -> None:
        self.journal_cursors.pop()
        await self.load_journal(self.journal_cursors[-1])

    # -- dead letters ------------------------------------------------------------------

    async def load_letters(self, first: bool = False) -> None:
        try:
            page = await self.link.get("/api/v1/admin/dead-letters", limit=50,
                                       cursor=None if first else self.letters_cursor)
        except LinkError as exc:
            ui.notify(error_text(exc), type="negative")
            return
        self.letters_cursor = page["next_cursor"]
        self.letters.clear()
        with self.letters:
            if not page["items"]:
                ui.label("No dead letters.")
            for letter in page["items"]:
                ui.code(orjson.dumps(letter, option=orjson.OPT_INDENT_2).decode(), language="json").classes("w-full")
            if self.letters_cursor:
                ui.button("More", on_click=self.load_letters)

    # -- virtual time ------------------------------------------------------------------

    def clock_controls(self) -> None:
        with ui.row().classes("items-center gap-2").props("data-test=clock"):
            self.clock_label = ui.label("virtual clock").props("data-test=clock-now")
            for label, seconds in (("+1 h", 3600), ("+4 h", 4 * 3600), ("+1 day", 86400)):
                ui.button(label, on_click=lambda s=seconds: self.advance(s)).props(
                    f"outline data-test=advance-{seconds}")

    async def advance(self, seconds: float) -> None:
        try:
            answer = await self.link.post("/api/v1/admin/clock/advance", {"seconds": seconds})
        except LinkError as exc:
            ui.notify(error_text(exc), type="negative")
            return
        now = datetime.fromtimestamp(answer["now"], timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC")
        self.clock_label.set_text(f"virtual clock: {now} ({answer['fired']} timers fired)")
        if not answer["settled"]:
            ui.notify("Some timers were still being handled after 30 s; the clock stopped there.", type="warning")


async def console(link: Link, origin: str) -> None:
    view = Console(link, origin)
    view.build()
    try:                                         # the plots start with the server's last ten minutes
        for sample in (await link.get("/api/v1/admin/runtime/history"))["samples"]:
            view.gauges.add(sample["at"], sample)
    except LinkError as exc:
        ui.notify(error_text(exc), type="warning")
    await view.poll()
    await view.models.load()
