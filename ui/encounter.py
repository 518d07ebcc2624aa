"""The encounter view: the initiative tracker, zones, actions that send real commands, the combat log.

Follows ``combat/{campaign}.{n}`` like the table follows its campaign.  A GM acts for
whoever's turn it is; a player when it is their character's.  A refused action shows the
server's reason beside the buttons.  The combat log is the journal read through
``actors.combat.log``: the stream's snapshot has no past, so each snapshot reloads the
journal from its first page, and the events that stream in meanwhile wait for it.  Once the
fight is over the page says why, keeps everyone who fell in the tracker and disables the buttons.
"""
from __future__ import annotations

from typing import Any

from nicegui import background_tasks, ui

from actors.combat.behavior import CombatKind
from actors.combat.log import describe, ending_text, guess_reason
from actors.combat.rules import CONDITIONS, FLAGS
from actors.combat.state import Encounter
from engine_ext.pf2e import multiple_attack_penalty

from .format import hp_bar
from .link import Link, LinkError, error_text
from .live import LiveActor
from .stream import Follower


JOURNAL_PAGE = 200  # the most the events API gives in one page


def tracker_rows(state: Any, weapon: str | None = None) -> list[dict[str, Any]]:
    """One row per combatant in initiative order: what the tracker shows (``weapon``: the strike the one
    whose turn it is has picked, for its next strike's penalty)."""
    return [row(state, combatant, weapon if combatant.cid == state.current else None) for combatant in state.order()]


def fallen_rows(state: Any) -> list[dict[str, Any]]:
    """The combatants out of the order (dead, fled, out of the initiative, delaying), by initiative:
    the tracker keeps them below the order, never drops them."""
    ordered = {c.cid for c in state.order()}
    rows = [row(state, c) for c in sorted(state.combatants.values(), key=lambda c: (-(c.initiative or 0), c.name))
            if c.cid not in ordered]
    for out in rows:
        if out["cid"] in state.removed:
            out["state"] = ", ".join(filter(None, [out["state"], "out of the initiative"]))
        elif not out["state"]:
            out["state"] = "delaying"
    return rows


def row(state: Any, combatant: Any, weapon: str | None = None) -> dict[str, Any]:
    """What the tracker shows of one combatant; its next strike's penalty is for ``weapon`` (default: its first)."""
    fighter = state.fighters.get(combatant.cid)
    shown = {"cid": combatant.cid, "name": combatant.name, "initiative": combatant.initiative,
             "current": combatant.cid == state.current, "side": "party" if combatant.player_id else "foes",
             "hp": None, "zone": None, "conditions": "", "actions": None, "next_map": None, "state": ""}
    if fighter is not None:
        strikes = combatant.stats.strikes
        chosen = next((s for s in strikes if s.name == weapon), strikes[0] if strikes else None)
        agile = chosen is not None and chosen.agile
        shown.update(hp=f"{fighter.hp}/{combatant.stats.max_hp}", zone=fighter.zone,
                     conditions=", ".join(k if k in FLAGS else f"{k} {v}"
                                          for k, v in sorted(fighter.conditions.items())),
                     actions=fighter.actions if combatant.cid == state.current else None,
                     next_map=multiple_attack_penalty(fighter.attacks, agile),
                     state="dead" if fighter.dead else "fled" if fighter.fled else
                     f"dying {fighter.dying}" if fighter.dying else
                     "unconscious" if fighter.hp <= 0 else "agent" if fighter.agent else "")
    return shown


def weapon_options(combatant: Any) -> dict[str, str]:
    """The strikes the combatant whose turn it is may make: ``{name: "Longsword +9 (1d8+4, agile)"}``."""
    if combatant is None or combatant.stats is None:
        return {}
    out = {}
    for strike in combatant.stats.strikes:
        traits = ", ".join(t for t, on in (("agile", strike.agile), ("ranged", strike.ranged)) if on)
        out[strike.name] = f"{strike.name} {strike.attack:+d} ({strike.damage}{', ' + traits if traits else ''})"
    return out


def zones(state: Any) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for cid, fighter in state.fighters.items():
        if not fighter.out:
            out.setdefault(fighter.zone, []).append(state.combatants[cid].name)
    return dict(sorted(out.items()))


class EncounterView:
    def __init__(self, link: Link, campaign_id: str, n: int) -> None:
        self.link, self.campaign_id, self.n = link, campaign_id, n
        self.address = f"combat/{campaign_id}.{n}"
        self.live = LiveActor(CombatKind())
        self.buttons: list[Any] = []       # disabled once the fight is over
        self.reason: str | None = None     # why it ended, from its EncounterEnded
        self.log_state: Encounter | None = None  # the state the log has folded to (None: loading the journal)
        self.log_seq = 0
        self.waiting: list[tuple[int, Any]] = []  # (seq, event) streamed in while the journal loads
        self.loads = 0                     # a newer snapshot's load makes an older one's result stale

    def build(self) -> None:
        with ui.row().classes("w-full items-center gap-3"):
            ui.link("← table", f"/campaign/{self.campaign_id}")
            self.title = ui.label(f"Encounter {self.n}").classes("text-2xl").props("data-test=encounter-title")
            ui.space()
            self.connection = ui.badge("connecting…", color="grey").props("data-test=connection")
        self.problem = ui.label("").classes("text-negative")
        self.tracker = ui.column().classes("w-full").props("data-test=tracker")
        self.zone_panel = ui.row().classes("w-full gap-4").props("data-test=zones")
        with ui.card().classes("w-full"):
            ui.label("Actions").classes("text-lg")
            with ui.row().classes("items-center gap-2"):
                self.target = ui.select({}, label="Target").classes("w-40").props("data-test=target")
                self.weapon = ui.select({}, label="Weapon", on_change=self.weapon_changed).classes("w-40").props(
                    "data-test=weapon")
                self.button("Strike", on_click=lambda: self.act({"kind": "strike", "target": self.target.value,
                                                                 "strike": self.weapon.value})
                          ).props("data-test=strike")
                self.button("Demoralize", on_click=lambda: self.act({"kind": "demoralize", "target": self.target.value})
                          ).props("outline data-test=demoralize")
                self.zone = ui.input("Zone", placeholder="balcony").classes("w-32").props("data-test=zone")
                self.button("Stride", on_click=lambda: self.act({"kind": "stride", "zone": self.zone.value or ""})
                          ).props("outline data-test=stride")
                self.button("Raise shield", on_click=lambda: self.act({"kind": "raise_shield"})).props(
                    "outline data-test=raise-shield")
                self.button("Take cover", on_click=lambda: self.act({"kind": "take_cover"})).props("outline")
                self.button("Escape", on_click=lambda: self.act({"kind": "escape"})).props("outline")
                self.button("Aid", on_click=lambda: self.act({"kind": "aid", "ally": self.target.value})).props(
                    "outline data-test=aid")
                self.button("Ready a strike", on_click=lambda: self.act(
                    {"kind": "ready", "then": {"kind": "strike", "target": self.target.value}})).props("outline")
                self.button("Delay", on_click=lambda: self.act({"kind": "delay"})).props("outline data-test=delay")
                self.button("End turn", on_click=self.end_turn, color="secondary").props("data-test=end-turn")
            with ui.row().classes("items-center gap-2"):
                self.who = ui.select({}, label="Out of turn: who").classes("w-40").props("data-test=who")
                self.button("React (readied)", on_click=lambda: self.out_of_turn("React")).props("outline")
                self.button("Return from delay", on_click=lambda: self.out_of_turn("Resume")).props(
                    "outline data-test=resume")
            self.error = ui.label("").classes("text-negative").props("data-test=action-error")
            self.result = ui.label("").classes("text-sm").props("data-test=action-result")
        if self.link.who.gm:
            self.gm_panel()
        with ui.card().classes("w-full"):
            ui.label("Combat log").classes("text-lg")
            with ui.scroll_area().classes("w-full h-96 border rounded") as self.log_scroll:
                self.log = ui.column().classes("w-full gap-0 font-mono text-sm").props("data-test=combat-log")
            with self.log:
                ui.label("Reading the journal…").classes("text-grey")

    def weapon_changed(self) -> None:
        """Another weapon picked: the next strike's penalty shown is that weapon's (agile or not)."""
        if self.live.state is not None and self.live.state.begun:
            self.render()

    def button(self, *args: Any, **kwargs: Any) -> ui.button:
        """An action button: it goes grey when the encounter ends."""
        made = ui.button(*args, **kwargs)
        self.buttons.append(made)
        return made

    def gm_panel(self) -> None:
        """GM: what the rules don't see (damage, healing, a condition) and who runs a creature."""
        with ui.expansion("GM: adjust a combatant", icon="tune").classes("w-full").props("data-test=gm-adjust"):
            with ui.row().classes("items-end gap-2"):
                self.damage = ui.number("Damage", value=0, min=0, precision=0).classes("w-24")
                self.heal = ui.number("Heal", value=0, min=0, precision=0).classes("w-24")
                self.condition = ui.select(sorted(CONDITIONS), label="Condition").classes("w-36").props(
                    "data-test=condition")
                self.condition_value = ui.number("Value (0 ends it)", value=1, min=0, max=10, precision=0).classes(
                    "w-32")
                self.button("Apply to the target", on_click=self.adjust).props("data-test=apply-adjust")
                self.button("Run it by hand", on_click=lambda: self.control(True)).props("outline")
                self.button("Back to its tactics", on_click=lambda: self.control(False)).props("outline")
                self.button("End the encounter", on_click=self.end_encounter, color="negative").props(
                    "outline data-test=end-encounter")

    async def adjust(self) -> None:
        if not self.target.value:
            self.error.set_text("Pick a target first.")
            return
        data: dict[str, Any] = {"cid": self.target.value, "damage": int(self.damage.value or 0),
                                "heal": int(self.heal.value or 0)}
        if self.condition.value:
            data["conditions"] = {self.condition.value: int(self.condition_value.value or 0)}
        await self.send("Adjust", data)

    async def end_encounter(self) -> None:
        try:
            await self.link.command(f"campaign/{self.campaign_id}", "EndEncounter", {})
        except LinkError as exc:
            self.error.set_text(error_text(exc))

    async def control(self, agent: bool) -> None:
        if self.target.value:
            await self.send("Control", {"cid": self.target.value, "agent": agent})

    async def out_of_turn(self, type_: str) -> None:
        if not self.who.value:
            self.error.set_text("Pick who reacts or returns.")
            return
        await self.send(type_, {"cid": self.who.value})

    # -- commands ----------------------------------------------------------------------

    async def send(self, type_: str, data: dict[str, Any]) -> Any:
        self.error.set_text("")
        try:
            return await self.link.command(self.address, type_, data)
        except LinkError as exc:
            self.error.set_text(error_text(exc))
            return None

    async def act(self, action: dict[str, Any]) -> None:
        state = self.live.state
        if state is None or state.current is None:
            self.error.set_text("Nobody's turn right now.")
            return
        if "target" in action and not action["target"]:
            self.error.set_text("Pick a target first.")
            return
        await self.send("Act", {"round": state.round, "turn": state.turn, "action": action})

    async def end_turn(self) -> None:
        state = self.live.state
        if state is not None and state.current is not None:
            await self.send("EndTurn", {"round": state.round, "turn": state.turn})

    # -- rendering ---------------------------------------------------------------------

    def render(self, events: list[Any] | None = None) -> None:
        state = self.live.state
        if not state.begun:
            self.problem.set_text("This encounter has not begun.")
            return
        current = state.combatants.get(state.current or "")
        self.title.set_text(f"Encounter {self.n} · round {state.round}"
                            + (f" · {current.name}'s turn" if current else "")
                            + (f" · over: {self.ending(state)}" if state.ended else ""))
        for button in self.buttons:
            button.set_enabled(not state.ended)
        self.tracker.clear()
        with self.tracker:
            fallen = fallen_rows(state)
            for row in [*tracker_rows(state, self.weapon.value), *fallen]:
                if fallen and row is fallen[0]:
                    ui.label("Out of the fight").classes("text-xs text-grey mt-2")
                with ui.row().classes("w-full items-center gap-3 p-1 " + ("bg-amber-100" if row["current"] else "")
                                      ).props(f"data-test=combatant-{row['cid']}"):
                    ui.label(str(row["initiative"])).classes("w-8 text-right font-mono")
                    ui.label(row["name"]).classes("w-40 font-bold")
                    ui.badge(row["side"], color="primary" if row["side"] == "party" else "negative")
                    if row["hp"] is not None:
                        fraction, label, color = hp_bar(state.fighters[row["cid"]].hp,
                                                        state.combatants[row["cid"]].stats.max_hp)
                        ui.linear_progress(value=fraction, show_value=False, color=color).classes("w-32")
                        ui.label(label).classes("text-xs w-24")
                        ui.label(row["zone"]).classes("text-xs w-24")
                    if row["actions"] is not None:
                        ui.label(f"{row['actions']} action(s) left · next strike {row['next_map']:+d}").props(
                            "data-test=actions-left")
                    if row["conditions"]:
                        ui.label(row["conditions"]).classes("text-xs text-orange-9")
                    if row["state"]:
                        ui.badge(row["state"], color="grey")
        self.zone_panel.clear()
        with self.zone_panel:
            for zone, names in zones(state).items():
                with ui.card().classes("p-2"):
                    ui.label(zone).classes("font-bold")
                    ui.label(", ".join(names)).classes("text-sm")
        self.target.set_options({cid: state.combatants[cid].name for cid, f in state.fighters.items() if not f.out},
                                value=self.target.value if self.target.value in state.fighters else None)
        weapons = weapon_options(current)
        self.weapon.set_options(weapons, value=self.weapon.value if self.weapon.value in weapons else next(
            iter(weapons), None))
        waiting = {cid: state.combatants[cid].name for cid, f in state.fighters.items()
                   if f.readied is not None or f.delayed is not None}
        self.who.set_options(waiting, value=self.who.value if self.who.value in waiting else None)
        for event in events or []:
            attack = getattr(event, "attack", None)
            if attack is not None:
                who = state.combatants[event.cid].name
                self.result.set_text(f"{who}: {event.kind} {event.name or ''} → d20 {attack.d20} "
                                     f"{attack.modifier:+d} = {attack.total} vs {attack.dc}: "
                                     f"{attack.degree.replace('_', ' ')}"
                                     + (f", {attack.damage} damage" if attack.damage else ""))

    def ending(self, state: Any) -> str:
        """Why the fight is over: the state's word, the journal's, or what the state shows."""
        reason = state.end_reason or self.reason or guess_reason(state)
        return ending_text(reason, state.max_rounds) if reason else "ended"

    # -- the combat log ----------------------------------------------------------------

    def on_snapshot(self) -> None:
        """A (re)loaded state: the log starts again from the journal's first page."""
        self.render()
        self.loads += 1
        self.log_state, self.waiting = None, []
        background_tasks.create(self.load_log(self.loads, self.live.seq), name=f"combat log {self.address}")

    def on_events(self, events: list[Any]) -> None:
        self.render(events)
        first = self.live.seq - len(events) + 1  # take_events gives the events up to live.seq, in order
        numbered = [(first + i, event) for i, event in enumerate(events)]
        if self.log_state is None:
            self.waiting += numbered
        else:
            self.extend_log(numbered)

    async def load_log(self, load: int, upto: int) -> None:
        """Read the journal up to ``upto`` (the snapshot's seq), then the events that came meanwhile."""
        numbered: list[tuple[int, Any]] = []
        cursor: str | None = None
        try:
            while True:
                page = await self.link.get(f"/api/v1/actors/{self.address}/events", limit=JOURNAL_PAGE,
                                           cursor=cursor)
                for item in page["items"]:
                    if item["seq"] <= upto:
                        numbered.append((item["seq"], self.live.behavior.load_event(
                            {"t": item["type"], "v": item["version"], "d": item["data"]})))
                cursor = page["next_cursor"]
                if cursor is None or not page["items"] or page["items"][-1]["seq"] >= upto:
                    break
        except LinkError as exc:
            if load == self.loads:
                self.show_log([f"The combat log could not be read: {error_text(exc)}"], fresh=True)
            return
        if load != self.loads:
            return  # a newer snapshot is loading its own
        self.log_state, self.log_seq = Encounter(), 0
        self.log.clear()
        self.extend_log([*numbered, *self.waiting])
        self.waiting = []
        if self.live.state is not None:
            self.render()  # the reason the fight ended may have come with the journal

    def extend_log(self, numbered: list[tuple[int, Any]]) -> None:
        kind, added = self.live.behavior, []
        for seq, event in numbered:
            if seq <= self.log_seq:
                continue  # already in the log (the journal and the stream overlap)
            line = describe(self.log_state, event)
            if line is not None:
                added.append(line)
            if type(event).__name__ == "EncounterEnded":
                self.reason = event.reason
            try:
                self.log_state = kind.evolve(self.log_state, event)
            except Exception:  # noqa: BLE001 - a log that cannot fold an event still shows the rest
                pass
            self.log_seq = seq
        if added:
            self.show_log(added)

    def show_log(self, added: list[str], fresh: bool = False) -> None:
        if fresh:
            self.log.clear()
        with self.log:
            for line in added:
                heading = line.startswith("Round ") or line.startswith("Encounter ")
                ui.label(line).classes("font-bold mt-1" if heading else "pl-4").props("data-test=log-line")
        self.log_scroll.scroll_to(percent=1.0)  # newest at the bottom, in view


async def encounter_view(link: Link, campaign_id: str, n: int) -> None:
    view = EncounterView(link, campaign_id, n)
    view.build()
    follower = Follower(link, view.address, view.live, view.connection, view.problem, view.on_snapshot,
                        view.on_events)
    background_tasks.create(follower.run(ui.context.client), name=f"follow {view.address}")
