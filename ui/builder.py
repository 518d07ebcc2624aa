"""The GM's encounter builder on the table: creatures from the bestiary (normal, weak or elite; run by the
rules' tactics or by hand) or made up on the spot, the XP budget and the simulated odds, and Start."""
from __future__ import annotations

from typing import Any, Awaitable, Callable

from nicegui import ui

from .forms import FormError, roster_npcs
from .link import Link, LinkError, error_text

Send = Callable[[str, dict[str, Any]], Awaitable[bool]]
QUICK = "quick"  # the made-up creature's id in the roster


def odds_text(answer: dict[str, Any]) -> str:
    """``moderate threat · 80 XP for 4 level-1 characters · party wins 87% (86%–88%) · ...``."""
    budget, odds = answer["budget"], answer["estimate"]
    low, high = odds["win_probability_ci95"]
    return (f"{budget['threat']} threat · {budget['xp']} XP for {budget['party_size']} level-{budget['party_level']} "
            f"characters · party wins {odds['win_probability']:.0%} ({low:.0%}–{high:.0%}) · "
            f"{odds['expected_rounds']['mean']:.1f} rounds · {odds['expected_knockouts']['mean']:.2f} knocked out · "
            f"{odds['expected_deaths']['mean']:.2f} deaths" + "".join(f" · ⚠ {w}" for w in budget["warnings"]))


class EncounterBuilder:
    def __init__(self, link: Link, campaign_id: str, send: Send) -> None:
        self.link, self.campaign_id, self.send = link, campaign_id, send
        self.creatures: dict[str, dict[str, Any]] = {}
        self.roster: list[dict[str, Any]] = []

    def build(self) -> None:
        with ui.expansion("Build an encounter", icon="shield").classes("w-full").props(
                "data-test=builder") as box:
            box.on_value_change(lambda e: self.load() if e.value else None)
            with ui.row().classes("items-end gap-2"):
                self.pick = ui.select({}, label="From the bestiary").props("data-test=pick-creature").classes("w-56")
                self.pick_count = ui.number("Count", value=1, min=1, max=12, precision=0).classes("w-20")
                self.pick_adjustment = ui.select(["normal", "weak", "elite"], value="normal").classes("w-24")
                self.by_hand = ui.switch("GM runs it").props("data-test=by-hand")
                ui.button("Add", on_click=self.add_picked).props("outline data-test=add-creature")
            with ui.expansion("Or make one up").classes("w-full"):
                with ui.row().classes("items-end gap-2"):
                    self.npc = {
                        "name": ui.input("Creature", value="Goblin").classes("w-32").props("data-test=npc-name"),
                        "count": ui.number("Count", value=2, min=1, max=12, precision=0).classes("w-20").props(
                            "data-test=npc-count"),
                        "level": ui.number("Level", value=1, min=-1, max=25, precision=0).classes("w-20"),
                        "max_hp": ui.number("HP", value=20, min=1, max=5000, precision=0).classes("w-20"),
                        "ac": ui.number("AC", value=16, min=0, max=80, precision=0).classes("w-20"),
                        "saves": ui.number("Saves", value=5, min=-10, max=60, precision=0).classes("w-20"),
                        "perception": ui.number("Perception", value=5, min=-10, max=60, precision=0).classes("w-24"),
                        "attack": ui.number("Attack", value=7, min=-10, max=60, precision=0).classes("w-20"),
                        "damage": ui.input("Damage", value="1d6+2").classes("w-24"),
                        "adjustment": ui.select(["normal", "elite", "weak"], value="normal").classes("w-24"),
                        "tactics": ui.select(["brute", "cowardly"], value="brute").classes("w-24"),
                    }
            self.roster_box = ui.column().classes("w-full gap-1").props("data-test=roster")
            with ui.row().classes("gap-2"):
                ui.button("Estimate", on_click=self.estimate).props("outline data-test=estimate")
                ui.button("Start encounter", on_click=self.start).props("data-test=start-encounter")
            self.estimate_label = ui.label("").classes("text-sm").props("data-test=estimate-result")
        self.show_roster()

    async def load(self) -> None:
        try:
            items = (await self.link.get(f"/api/v1/campaigns/{self.campaign_id}/bestiary"))["items"]
        except LinkError as exc:
            self.estimate_label.set_text(error_text(exc))
            return
        self.creatures = {c["creature_id"]: c for c in items}
        self.pick.set_options({cid: f"{c['name']} (level {c['stats']['level']})" for cid, c in self.creatures.items()})

    def add_picked(self) -> None:
        if not self.pick.value:
            ui.notify("Pick a creature from the bestiary (the setup page keeps it).", type="warning")
            return
        self.roster.append({"creature_id": self.pick.value, "count": int(self.pick_count.value or 1),
                            "adjustment": self.pick_adjustment.value, "by_hand": bool(self.by_hand.value)})
        self.show_roster()

    def show_roster(self) -> None:
        self.roster_box.clear()
        with self.roster_box:
            if not self.roster:
                ui.label("The made-up creature fights unless you add creatures from the bestiary.").classes(
                    "text-xs text-grey-7")
            for i, row in enumerate(self.roster):
                name = self.creatures.get(row["creature_id"], {}).get("name", row["creature_id"])
                extra = "" if row["adjustment"] == "normal" else f", {row['adjustment']}"
                with ui.row().classes("items-center gap-2 text-sm"):
                    ui.label(f"{row['count']} × {name}{extra}" + (" · the GM runs it" if row["by_hand"] else ""))
                    ui.button(icon="close", on_click=lambda i=i: self.drop(i)).props("flat dense round size=xs")

    def drop(self, index: int) -> None:
        del self.roster[index]
        self.show_roster()

    def quick(self) -> list[dict[str, Any]]:
        """The made-up creature, ``count`` of it."""
        v = {k: field.value for k, field in self.npc.items()}
        saves = int(v["saves"] or 0)
        stats = {"level": int(v["level"] or 0), "max_hp": int(v["max_hp"] or 1), "ac": int(v["ac"] or 0),
                 "fortitude": saves, "reflex": saves, "will": saves, "perception": int(v["perception"] or 0),
                 "strikes": [{"name": "attack", "attack": int(v["attack"] or 0), "damage": v["damage"] or "1d4"}],
                 "tactics": v["tactics"]}
        count = max(1, int(v["count"] or 1))
        return [{"name": f"{v['name']} {i}" if count > 1 else v["name"], "stats": stats,
                 "adjustment": v["adjustment"]} for i in range(1, count + 1)]

    def npcs(self) -> list[dict[str, Any]]:
        return roster_npcs(self.roster, self.creatures) if self.roster else self.quick()

    async def estimate(self) -> None:
        try:
            answer = await self.link.post(f"/api/v1/campaigns/{self.campaign_id}/encounters/estimate",
                                          {"npcs": self.npcs(), "fights": 10_000})
        except (LinkError, FormError) as exc:
            self.estimate_label.set_text(error_text(exc))
            return
        self.estimate_label.set_text(odds_text(answer))

    async def start(self) -> None:
        try:
            npcs = self.npcs()
        except FormError as exc:
            ui.notify(str(exc), type="warning")
            return
        if await self.send("StartEncounter", {"npcs": npcs}):
            self.roster.clear()
            self.show_roster()
