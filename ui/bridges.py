"""The console's Bridges tab: each VTT world's emitter, who is connected, and its command queue."""
from __future__ import annotations

from typing import Any

from nicegui import ui

from .link import Link, LinkError, error_text

COLUMNS = [
    {"name": "world", "label": "world", "field": "world", "align": "left"},
    {"name": "emitter", "label": "emitter", "field": "emitter", "align": "left"},
    {"name": "connected", "label": "connected", "field": "connected", "align": "left"},
    {"name": "combat", "label": "combat", "field": "combat"},
    {"name": "chat", "label": "chat", "field": "chat"},
    {"name": "cosmetic", "label": "cosmetic", "field": "cosmetic"},
    {"name": "oldest", "label": "oldest (s)", "field": "oldest"},
    {"name": "expired", "label": "expired", "field": "expired"},
    {"name": "failed", "label": "failed", "field": "failed"},
    {"name": "last", "label": "last trouble", "field": "last", "align": "left"},
]


def bridge_rows(items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """One row a world: ``disconnected`` where no bridge holds the lease."""
    return [{"world": item["world"],
             "emitter": f"{item['emitter']['instance']} ({item['emitter']['for_s']:.0f} s)" if item["emitter"]
             else "disconnected",
             "connected": ", ".join(item["connected"]) or "—", **item["depth"],
             "oldest": item["oldest_age_s"] if item["oldest_age_s"] is not None else "—",
             "expired": item["expired"], "failed": item["failed"],
             "last": trouble_line(item["troubles"][0]) if item["troubles"] else "—"} for item in items]


def trouble_line(trouble: dict[str, Any]) -> str:
    """``failed · apply_damage: no actor Goblin here``: a command the VTT did not carry out, and why."""
    return f"{trouble['status']} · {trouble['kind']}: {trouble['reason'] or 'no reason given'}"


class Bridges:
    def __init__(self, link: Link) -> None:
        self.link = link

    def build(self) -> None:
        with ui.row().classes("items-center gap-2"):
            ui.label("VTT bridges").classes("text-lg")
            ui.button(icon="refresh", on_click=self.refresh).props("flat dense data-test=refresh-bridges")
        self.table = ui.table(columns=COLUMNS, rows=[], row_key="world", pagination=20).classes("w-full").props(
            "dense data-test=bridges")

    async def refresh(self) -> None:
        try:
            items = (await self.link.get("/api/v1/admin/bridges"))["items"]
        except LinkError as exc:
            ui.notify(error_text(exc), type="negative")
            return
        self.table.rows = bridge_rows(items)
        self.table.update()
