"""The GM's bestiary on the setup page: saved creatures to add, edit and reuse in encounters."""
from __future__ import annotations

from typing import Any

from nicegui import ui

from .forms import FormError, creature_data, creature_id
from .link import Link, LinkError, error_text

NUMBERS = (("level", "Level", 1), ("max_hp", "HP", 20), ("ac", "AC", 16), ("fortitude", "Fort", 5),
           ("reflex", "Ref", 5), ("will", "Will", 5), ("perception", "Perception", 5))


def creature_line(creature: dict[str, Any]) -> str:
    stats = creature["stats"]
    strikes = ", ".join(f"{s['name']} {s['attack']:+d} ({s['damage']})" for s in stats["strikes"])
    return (f"level {stats['level']} · HP {stats['max_hp']} · AC {stats['ac']} · Fort {stats['fortitude']:+d} "
            f"Ref {stats['reflex']:+d} Will {stats['will']:+d} · {strikes}")


def strike_lines(stats: dict[str, Any]) -> str:
    return "\n".join(f"{s['name']} {s['attack']:+d} {s['damage']} {s.get('damage_type', 'physical')}"
                     + (" agile" if s.get("agile") else "") + (" ranged" if s.get("ranged") else "")
                     for s in stats["strikes"])


class BestiaryPanel:
    def __init__(self, link: Link, campaign_id: str) -> None:
        self.link, self.campaign_id = link, campaign_id
        self.path = f"/api/v1/campaigns/{campaign_id}/bestiary"
        self.creatures: list[dict[str, Any]] = []
        self.editing: str | None = None

    def build(self) -> None:
        with ui.card().classes("w-full").props("data-test=bestiary"):
            ui.label("Bestiary").classes("text-lg")
            ui.label("Creatures saved here join encounters from the table's builder, normal, weak or elite."
                     ).classes("text-sm text-grey-7")
            self.listing = ui.column().classes("w-full gap-1")
            self.heading = ui.label("New creature").classes("text-sm font-bold mt-2")
            self.fields: dict[str, Any] = {"name": ui.input("Name", placeholder="Goblin warrior").props(
                "data-test=creature-name").classes("w-full")}
            with ui.row().classes("w-full gap-2"):
                for key, label, value in NUMBERS:
                    self.fields[key] = ui.number(label, value=value, precision=0).props(
                        f"data-test=creature-{key}").classes("w-20")
            self.fields["skills"] = ui.input("Skills", placeholder="Stealth +5, Athletics +7").classes("w-full")
            self.fields["strikes"] = ui.textarea("Strikes, one a line", placeholder="Dogslicer +7 1d6 slashing agile"
                                                 ).props("autogrow data-test=creature-strikes").classes("w-full")
            with ui.row().classes("items-center gap-2"):
                self.fields["tactics"] = ui.select({"brute": "fights on", "cowardly": "flees when hurt"},
                                                   value="brute", label="Tactics").classes("w-40")
                self.fields["shield"] = ui.switch("Shield")
            self.fields["notes"] = ui.input("Notes", placeholder="Bestiary p. 198").classes("w-full")
            with ui.row().classes("gap-2"):
                ui.button("Save creature", on_click=self.save).props("data-test=save-creature")
                ui.button("New", on_click=self.clear).props("flat")

    async def refresh(self) -> None:
        try:
            self.creatures = (await self.link.get(self.path))["items"]
        except LinkError as exc:
            ui.notify(error_text(exc), type="negative")
            return
        self.listing.clear()
        with self.listing:
            if not self.creatures:
                ui.label("No creatures yet.").classes("text-grey-7")
            for creature in self.creatures:
                with ui.row().classes("w-full items-center gap-2 no-wrap").props(
                        f"data-test=creature-{creature['creature_id']}"):
                    with ui.column().classes("grow gap-0 min-w-0"):
                        ui.label(creature["name"]).classes("font-bold")
                        ui.label(creature_line(creature)).classes("text-xs text-grey-8 break-words")
                    ui.button(icon="edit", on_click=lambda c=creature: self.edit(c)).props("flat dense round size=sm")
                    ui.button(icon="delete", on_click=lambda c=creature: self.remove(c)).props(
                        "flat dense round size=sm")

    def edit(self, creature: dict[str, Any]) -> None:
        self.editing = creature["creature_id"]
        self.heading.set_text(f"Editing {creature['name']}")
        stats = creature["stats"]
        self.fields["name"].set_value(creature["name"])
        for key, _, _ in NUMBERS:
            self.fields[key].set_value(stats[key])
        self.fields["skills"].set_value(", ".join(f"{k} {v:+d}" for k, v in stats["skills"].items()))
        self.fields["strikes"].set_value(strike_lines(stats))
        self.fields["tactics"].set_value(stats["tactics"])
        self.fields["shield"].set_value(stats["shield"])
        self.fields["notes"].set_value(creature["notes"])

    def clear(self) -> None:
        self.editing = None
        self.heading.set_text("New creature")
        for key in ("name", "skills", "strikes", "notes"):
            self.fields[key].set_value("")

    async def save(self) -> None:
        try:
            body = creature_data({key: field.value for key, field in self.fields.items()})
        except FormError as exc:
            ui.notify(str(exc), type="warning")
            return
        target = self.editing or creature_id(body["name"], {c["creature_id"] for c in self.creatures})
        try:
            await self.link.put(f"{self.path}/{target}", body)
        except LinkError as exc:
            ui.notify(error_text(exc), type="negative", multi_line=True)
            return
        ui.notify(f"{body['name']} saved.", type="positive")
        self.clear()
        await self.refresh()

    async def remove(self, creature: dict[str, Any]) -> None:
        try:
            await self.link.delete(f"{self.path}/{creature['creature_id']}")
        except LinkError as exc:
            ui.notify(error_text(exc), type="negative")
            return
        await self.refresh()
