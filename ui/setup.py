"""The GM's setup: a new campaign, then its settings, scene, deadlines, orders, invitations, webhooks,
the bestiary and the VTT bridge.

Everything here is a command or a REST call any client could make (``CreateCampaign``,
``UpdateSettings``, ``StartScene``, ``SetDeadline``, ``ScheduleOrder``, the invites routes);
the page follows the campaign's stream, so what it lists is what the server holds.
"""
from __future__ import annotations

from typing import Any

from nicegui import background_tasks, ui

from actors.campaign.behavior import CampaignKind
from actors.campaign.state import PLACEHOLDERS, Settings, Templates
from actors.narration.prompts import Prompts

from .bestiary import BestiaryPanel
from .components import countdown_label
from .format import ServerClock, clock_time, countdown
from .forms import PACE_FIELDS, ZONES, FormError, campaign_id, follow_ups, pace_hours, settings_data, slug, when
from .link import Link, LinkError, error_text
from .live import LiveActor
from .stream import Follower
from .vtt import VttPanel
from .webhooks import WebhookPanel

DEFAULTS = Settings()


def pace_inputs(settings: Settings) -> dict[str, Any]:
    """The pace and time-zone fields, filled from ``settings``."""
    fields: dict[str, Any] = {}
    hours = pace_hours(settings)
    with ui.row().classes("w-full gap-2 items-end"):
        for field, label in PACE_FIELDS.items():
            fields[field] = ui.number(f"{label.capitalize()} (hours)", value=hours[field], min=0.017, max=720,
                                      step=0.5).props(f"data-test=pace-{field}").classes("w-56")
        fields["timezone"] = ui.select(["UTC", *ZONES], value=settings.timezone, label="Time zone",
                                       with_input=True).props("data-test=timezone").classes("w-56")
    return fields


def narrator_inputs(settings: Settings) -> dict[str, Any]:
    fields: dict[str, Any] = {}
    with ui.row().classes("w-full gap-2 items-center"):
        fields["narrator"] = ui.switch("The narrator rewrites the server's own posts", value=settings.narrator).props(
            "data-test=narrator")
        fields["narrator_model"] = ui.input("Narrator model", placeholder="the server's default",
                                            value=settings.narrator_model or "").classes("w-56")
    return fields


def timing_inputs(what: str, example: str, hours: float) -> tuple[Any, Any, Any]:
    """A deadline's or an order's id and when: hours from now, or a time in the campaign's zone."""
    ident = ui.input("Id", placeholder=example).props(f"data-test={what}-id").classes("w-28")
    in_hours = ui.number("In hours", value=hours, min=0.01).props(f"data-test={what}-hours").classes("w-24")
    at = ui.input("or at", placeholder="2026-12-24 18:00").props(f"data-test={what}-at").classes("w-40")
    return ident, in_hours, at


def new_campaign_form(link: Link, fixed_id: str | None = None) -> None:
    """Create a campaign: its title, id (a GM token's is fixed), pace, time zone and narrator."""
    with ui.card().classes("w-full max-w-3xl").props("data-test=new-campaign"):
        ui.label("Start a campaign" if fixed_id is None else f"Set up campaign {fixed_id}").classes("text-xl")
        title = ui.input("Title", placeholder="The Sunken Crown").props("data-test=new-title").classes("w-full")
        ident = ui.input("Campaign id (part of every link)", value=fixed_id or "").props(
            "data-test=new-id").classes("w-72")
        if fixed_id is not None:
            ident.disable()
        else:
            title.on_value_change(lambda e: ident.set_value(slug(e.value or "")))
        ui.label("Ruleset: Pathfinder 2e (remaster)").classes("text-sm text-grey-8")
        ui.label("Pace: when the server steps in for a quiet player").classes("text-sm font-bold mt-2")
        fields = {**pace_inputs(DEFAULTS), **narrator_inputs(DEFAULTS)}
        problem = ui.label("").classes("text-negative").props("data-test=new-error")

        async def create() -> None:
            try:
                settings = settings_data({k: f.value for k, f in fields.items()})
                target = campaign_id(ident.value or "")
                if not (title.value or "").strip():
                    raise FormError("give the campaign a title")
            except FormError as exc:
                problem.set_text(str(exc))
                return
            try:
                await link.command(f"campaign/{target}", "CreateCampaign",
                                   {"title": title.value.strip(), "settings": settings})
            except LinkError as exc:
                problem.set_text(error_text(exc))
                return
            ui.navigate.to(f"/campaign/{target}/setup")

        ui.button("Create campaign", on_click=create).props("data-test=create-campaign")


def new_game_form(link: Link, fixed_id: str | None = None) -> None:
    """Start a strategy game (``CreateGame``): its id, the map's size, the houses, the turn's deadline."""
    with ui.card().classes("w-full max-w-3xl").props("data-test=new-game"):
        ui.label("Start a strategy game" if fixed_id is None else f"Start strategy game {fixed_id}").classes("text-xl")
        ident = ui.input("Game id (part of every link)", value=fixed_id or "").props("data-test=game-id").classes(
            "w-72")
        if fixed_id is not None:
            ident.disable()
        with ui.row().classes("gap-2 items-end"):
            rings = ui.number("Map rings", value=4, min=2, max=12, precision=0).classes("w-24")
            houses = ui.number("Houses", value=4, min=2, max=12, precision=0).props("data-test=game-houses").classes(
                "w-24")
            hours = ui.number("Hours a turn", value=24, min=0.1, max=720).props("data-test=game-hours").classes("w-28")
            turns = ui.number("Turns", value=100, min=1, max=1000, precision=0).classes("w-24")
        problem = ui.label("").classes("text-negative")

        async def create() -> None:
            try:
                target = campaign_id(ident.value or "")
            except FormError as exc:
                problem.set_text(str(exc))
                return
            data = {"rings": int(rings.value or 4), "houses": int(houses.value or 4),
                    "turn_deadline_s": float(hours.value or 24) * 3600, "turn_limit": int(turns.value or 100)}
            try:
                await link.command(f"strategy/{target}", "CreateGame", data)
            except LinkError as exc:
                problem.set_text(error_text(exc))
                return
            ui.navigate.to(f"/strategy/{target}")

        ui.button("Start game", on_click=create).props("data-test=create-game")


class SetupView:
    """One GM's setup page for one campaign."""

    def __init__(self, link: Link, campaign_id: str, origin: str) -> None:
        self.link, self.campaign_id, self.origin = link, campaign_id, origin.rstrip("/")
        self.address = f"campaign/{campaign_id}"
        self.live = LiveActor(CampaignKind())
        self.countdowns: list[tuple[ui.label, float]] = []
        self.follower: Follower | None = None
        self.settings_shown = False
        self.bestiary_shown = False
        self.clock = ServerClock(link.who.clock == "virtual")

    @property
    def zone(self) -> str:
        state = self.live.state
        return state.settings.timezone if state is not None else "UTC"

    def build(self) -> None:
        with ui.row().classes("w-full items-center gap-3"):
            ui.link("← table", f"/campaign/{self.campaign_id}").props("data-test=to-table")
            self.title = ui.label(f"Set up {self.campaign_id}").classes("text-2xl").props("data-test=setup-title")
            ui.space()
            self.connection = ui.badge("connecting…", color="grey").props("data-test=connection")
        self.problem = ui.label("").classes("text-negative")
        with ui.element("div").classes("w-full grid grid-cols-1 lg:grid-cols-2 gap-4"):
            self.settings_card = ui.card().classes("w-full").props("data-test=settings")
            with ui.column().classes("w-full gap-4"):
                self.scene_card = ui.card().classes("w-full").props("data-test=scene")
                self.invites_card = ui.card().classes("w-full").props("data-test=invites")
                self.build_invites()
            self.deadlines_card = ui.card().classes("w-full").props("data-test=deadlines")
            self.orders_card = ui.card().classes("w-full").props("data-test=orders")
            self.hooks = WebhookPanel(self.link, self.campaign_id)
            self.hooks.build()
            self.bestiary = BestiaryPanel(self.link, self.campaign_id)
            self.bestiary.build()
            self.vtt = VttPanel(self.link, self.campaign_id)
            self.vtt.build()
        ui.timer(1.0, self.tick)

    # -- sending -------------------------------------------------------------------------

    async def send(self, type_: str, data: dict[str, Any], done: str) -> bool:
        try:
            await self.link.command(self.address, type_, data)
        except LinkError as exc:
            ui.notify(error_text(exc), type="negative", multi_line=True)
            return False
        ui.notify(done, type="positive")
        return True

    # -- the stream ----------------------------------------------------------------------

    def on_snapshot(self) -> None:
        if not self.live.state.created:
            self.problem.set_text("This campaign has not been created yet.")
            return
        self.render()

    def on_events(self, events: list[Any]) -> None:
        self.render(settings=any(type(e).__name__ == "SettingsUpdated" for e in events))

    def render(self, settings: bool = True) -> None:
        state = self.live.state
        self.title.set_text(f"Set up {state.title}")
        if settings or not self.settings_shown:
            self.render_settings()
        self.render_scene()
        self.render_deadlines()
        self.render_orders()
        background_tasks.create(self.render_invites(), name="invites")
        self.hooks.zone = self.zone
        background_tasks.create(self.hooks.refresh(), name="webhooks")
        if not self.bestiary_shown:
            self.bestiary_shown = True
            background_tasks.create(self.bestiary.refresh(), name="bestiary")
            background_tasks.create(self.vtt.refresh(), name="vtt")
        background_tasks.create(self.read_clock(), name="clock")

    def tick(self) -> None:
        now = self.now()
        for label, due in self.countdowns:
            label.set_text(countdown(due, now))

    def now(self) -> float:
        return self.clock.now()

    async def read_clock(self) -> None:
        try:
            self.clock.set((await self.link.get("/api/v1/clock"))["now"])
        except LinkError:
            return

    # -- settings ------------------------------------------------------------------------

    def render_settings(self) -> None:
        settings = self.live.state.settings
        self.settings_shown = True
        self.settings_card.clear()
        with self.settings_card:
            ui.label("Settings").classes("text-lg")
            ui.label("Pace: when the server steps in for a quiet player").classes("text-sm font-bold")
            fields = {**pace_inputs(settings), **narrator_inputs(settings)}
            templates: dict[str, Any] = {}
            with ui.expansion("The server's own lines", icon="article").classes("w-full").props("data-test=templates"):
                for name, field in Templates.model_fields.items():
                    value = getattr(settings.templates, name)
                    text = "\n".join(value) if isinstance(value, tuple) else value
                    allowed = ", ".join(f"{{{p}}}" for p in sorted(PLACEHOLDERS[name])) or "no placeholders"
                    templates[name] = ui.textarea(f"{name.replace('_', ' ')} ({allowed})", value=text).props(
                        f"autogrow data-test=template-{name}").classes("w-full").tooltip(field.description or "")
            prompts: dict[str, dict[str, Any]] = {}
            with ui.expansion("The narrator's prompts", icon="psychology").classes("w-full"):
                for name in Prompts.model_fields:
                    prompt = getattr(settings.prompts, name)
                    ui.label(name.replace("_", " ")).classes("text-sm font-bold")
                    prompts[name] = {"system": ui.textarea("System", value=prompt.system).props("autogrow").classes(
                        "w-full"), "user": ui.textarea("User", value=prompt.user).props("autogrow").classes("w-full")}
            problem = ui.label("").classes("text-negative").props("data-test=settings-error")

            async def save() -> None:
                values = {k: f.value for k, f in fields.items()}
                values["templates"] = {name: area.value for name, area in templates.items()}
                values["prompts"] = {name: {part: area.value for part, area in parts.items()}
                                     for name, parts in prompts.items()}
                try:
                    data = settings_data(values)
                except FormError as exc:
                    problem.set_text(str(exc))
                    return
                problem.set_text("")
                await self.send("UpdateSettings", {"settings": data}, "Settings saved.")

            ui.button("Save settings", on_click=save).props("data-test=save-settings")

    # -- scene -----------------------------------------------------------------------------

    def render_scene(self) -> None:
        state = self.live.state
        self.scene_card.clear()
        with self.scene_card:
            ui.label("Scene").classes("text-lg")
            if state.scene is not None:
                ui.label(f"Now: scene {state.scene.n}, {state.scene.title} (since "
                         f"{clock_time(state.scene.started_at, self.zone)})").props("data-test=current-scene")
            else:
                ui.label("No scene yet: open one to set the stage.").classes("text-grey-7")
            title = ui.input("Title", placeholder="The flooded crypt").props("data-test=scene-title").classes("w-full")
            description = ui.textarea("What the players see").props("autogrow data-test=scene-description").classes(
                "w-full")

            async def open_scene() -> None:
                if not (title.value or "").strip():
                    ui.notify("Give the scene a title.", type="warning")
                    return
                await self.send("StartScene", {"title": title.value.strip(),
                                               "description": (description.value or "").strip()}, "Scene opened.")

            ui.button("Open scene", on_click=open_scene).props("data-test=open-scene")

    # -- deadlines -------------------------------------------------------------------------

    def render_deadlines(self) -> None:
        state = self.live.state
        self.countdowns = []
        self.deadlines_card.clear()
        with self.deadlines_card:
            ui.label("Story deadlines").classes("text-lg")
            ui.label(f"When one passes, its consequence is narrated. Times are in {self.zone}.").classes(
                "text-sm text-grey-7")
            for deadline in sorted(state.deadlines.values(), key=lambda d: d.due):
                with ui.row().classes("w-full items-center gap-2 no-wrap").props(
                        f"data-test=deadline-{deadline.deadline_id}"):
                    with ui.column().classes("grow gap-0 min-w-0"):
                        ui.label(f"{deadline.deadline_id}: {deadline.consequence}").classes("break-words")
                        with ui.row().classes("gap-2 text-xs text-grey-7"):
                            ui.label(clock_time(deadline.due, self.zone))
                            self.countdowns.append((countdown_label(deadline.due, self.now()), deadline.due))
                    ui.button("Clear", on_click=lambda d=deadline.deadline_id: self.send(
                        "ClearDeadline", {"deadline_id": d}, "Deadline cleared.")).props("flat dense")
            with ui.row().classes("w-full gap-2 items-end"):
                ident, in_hours, at = timing_inputs("deadline", "ritual", 24)
            consequence = ui.textarea("Consequence", placeholder="The ritual completes; the dead walk.").props(
                "autogrow data-test=deadline-consequence").classes("w-full")

            async def set_deadline() -> None:
                try:
                    timing = when(in_hours.value, at.value or "", self.zone)
                except FormError as exc:
                    ui.notify(str(exc), type="warning")
                    return
                await self.send("SetDeadline", {"deadline_id": (ident.value or "").strip(), **timing,
                                                "consequence": (consequence.value or "").strip()}, "Deadline set.")

            ui.button("Set deadline", on_click=set_deadline).props("data-test=set-deadline")

    # -- orders ----------------------------------------------------------------------------

    def render_orders(self) -> None:
        state = self.live.state
        self.orders_card.clear()
        with self.orders_card:
            ui.label("Scheduled orders").classes("text-lg")
            ui.label("Posted when due, then each follow-up hours later.").classes("text-sm text-grey-7")
            for order in sorted(state.orders.values(), key=lambda o: o.created_at, reverse=True):
                with ui.row().classes("w-full items-center gap-2 no-wrap").props(f"data-test=order-{order.order_id}"):
                    with ui.column().classes("grow gap-0 min-w-0"):
                        ui.label(f"{order.order_id} ({order.status}, {order.kind}): {order.text}").classes(
                            "break-words")
                        due = order.next_due()
                        steps = f"{order.steps_done} of {1 + len(order.follow_ups)} posted"
                        ui.label(steps + (f" · next {clock_time(due, self.zone)}" if due else "")).classes(
                            "text-xs text-grey-7")
                    if order.status in ("pending", "active"):
                        ui.button("Cancel", on_click=lambda o=order.order_id: self.send(
                            "CancelOrder", {"order_id": o}, "Order cancelled.")).props("flat dense")
            with ui.row().classes("w-full gap-2 items-end"):
                ident, in_hours, at = timing_inputs("order", "siege", 12)
                kind = ui.select({"narration": "narration", "notice": "notice"}, value="narration",
                                 label="Kind").classes("w-32")
            text = ui.textarea("What is posted", placeholder="Drums sound from the ridge.").props(
                "autogrow data-test=order-text").classes("w-full")
            beats = ui.textarea("Follow-ups, one a line: +6h what happens",
                                placeholder="+6h The drums come closer.\n+12h The gate is breached.").props(
                "autogrow data-test=order-follow-ups").classes("w-full")

            async def schedule() -> None:
                try:
                    timing = when(in_hours.value, at.value or "", self.zone)
                    steps = follow_ups(beats.value or "")
                except FormError as exc:
                    ui.notify(str(exc), type="warning")
                    return
                await self.send("ScheduleOrder", {"order_id": (ident.value or "").strip(), **timing,
                                                  "text": (text.value or "").strip(), "kind": kind.value,
                                                  "follow_ups": steps}, "Order scheduled.")

            ui.button("Schedule order", on_click=schedule).props("data-test=schedule-order")

    # -- invitations -----------------------------------------------------------------------

    def build_invites(self) -> None:
        """The invitations card: the list (redrawn from the server) above the form and the newest link."""
        with self.invites_card:
            ui.label("Players and invitations").classes("text-lg")
            ui.label("Each link gives one seat to the first person who opens it.").classes("text-sm text-grey-7")
            self.invite_list = ui.column().classes("w-full gap-1")
            with ui.row().classes("w-full gap-2 items-end"):
                seat = ui.input("Seat (player id)", placeholder="next free seat").props("data-test=invite-seat").classes(
                    "w-40")
                note = ui.input("For", placeholder="Sam").props("data-test=invite-note").classes("w-32")
                hours = ui.number("Expires in hours", value=168, min=1, max=720).classes("w-32")
            new_link = ui.column().classes("w-full")

            async def invite() -> None:
                body = {"note": (note.value or "").strip(), "expires_in_hours": float(hours.value or 168)}
                if (seat.value or "").strip():
                    body["player_id"] = seat.value.strip()
                try:
                    made = await self.link.post(f"/api/v1/campaigns/{self.campaign_id}/invites", body)
                except LinkError as exc:
                    ui.notify(error_text(exc), type="negative", multi_line=True)
                    return
                new_link.clear()
                with new_link:
                    ui.label(f"Send this link to the player of {made['player_id']} (shown once):").classes("text-sm")
                    ui.input(value=self.origin + made["path"]).props("readonly data-test=invite-link").classes(
                        "w-full")
                await self.render_invites()

            ui.button("Invite a player", on_click=invite).props("data-test=invite")

    async def render_invites(self) -> None:
        try:
            listing = await self.link.get(f"/api/v1/campaigns/{self.campaign_id}/invites")
        except LinkError as exc:
            self.problem.set_text(error_text(exc))
            return
        self.invite_list.clear()
        with self.invite_list:
            if not listing["items"]:
                ui.label("No invitations yet.").classes("text-grey-7")
            for invite in listing["items"]:
                with ui.row().classes("w-full items-center gap-2 no-wrap").props(
                        f"data-test=invite-{invite['player_id']}"):
                    with ui.column().classes("grow gap-0 min-w-0"):
                        who = f" · {invite['character']}" if invite["character"] else ""
                        note = f" · {invite['note']}" if invite["note"] else ""
                        ui.label(f"{invite['player_id']}: {invite['status']}{who}{note}").props(
                            f"data-test=invite-status-{invite['player_id']}")
                        ui.label(f"expires {clock_time(invite['expires_at'], self.zone)}").classes(
                            "text-xs text-grey-7")
                    if invite["status"] in ("open", "claimed"):
                        ui.button("Revoke", on_click=lambda i=invite["invite_id"]: self.revoke(i)).props(
                            f"flat dense data-test=revoke-{invite['player_id']}")

    async def revoke(self, invite_id: str) -> None:
        try:
            await self.link.delete(f"/api/v1/campaigns/{self.campaign_id}/invites/{invite_id}")
        except LinkError as exc:
            ui.notify(error_text(exc), type="negative")
            return
        ui.notify("Invitation revoked.", type="positive")
        await self.render_invites()


async def setup_view(link: Link, campaign_id: str, origin: str) -> None:
    view = SetupView(link, campaign_id, origin)
    view.build()
    view.follower = Follower(link, view.address, view.live, view.connection, view.problem, view.on_snapshot,
                             view.on_events)
    background_tasks.create(view.follower.run(ui.context.client), name=f"set up {campaign_id}")
