"""The table view: the campaign list, then one campaign's live feed, party, GM status, dice.

The page subscribes to ``campaign/{id}`` with the Python client (resume by ``since`` after
a dropped connection is the client's job) and folds every event into its copy of the
state with the campaign's own ``evolve``; new posts are appended, nothing is reloaded.
"""
from __future__ import annotations

import time
from typing import Any

from nicegui import background_tasks, ui

from nicegui import app

from actors.campaign.behavior import CampaignKind
from actors.campaign.messages import PlayerJoined, PostDeleted, PostEdited, Posted, PostNarrated

from .components import PostCard, condition_chips, countdown_label, hp_line
from .format import (
    FILTERS, STATUS_COLORS, ServerClock, URGENCY_COLORS, clock_time, countdown, my_clocks, new_posts, roll_line, sheet_line, shown,
    timestamp,
)
from .forms import FormError, post_command
from .join import character_form
from .link import Link, LinkError, error_text
from .alerts import BrowserAlerts
from .builder import EncounterBuilder
from .live import LiveActor
from .search import SearchPanel
from .setup import new_campaign_form, new_game_form
from .stream import Follower
from .webhooks import WebhookPanel

STATUS_REFRESH_S = 15.0  # the GM status is fetched again at least this often (and after every event)


async def campaign_list(link: Link) -> None:
    ui.label("Campaigns").classes("text-2xl")
    try:
        page = await link.get("/api/v1/campaigns", limit=200)
    except LinkError as exc:
        ui.label(error_text(exc)).classes("text-negative")
        return
    own = link.who.campaign
    game = await own_game(link)
    if game is not None:
        with ui.card().classes("w-full").props(f"data-test=game-{own}"):
            ui.link(f"Strategy game {own}", f"/strategy/{own}").classes("text-lg")
            ui.label(f"turn {game['turn']} · {len(game['seats'])} houses" + (" · over" if game["ended"] else ""))
    elif link.who.gm and own is not None and not any(item["campaign_id"] == own for item in page["items"]):
        new_campaign_form(link, fixed_id=own)  # a GM token for a campaign nobody has set up yet
        with ui.expansion(f"Or start a strategy game {own}", icon="public").classes("w-full max-w-3xl"):
            new_game_form(link, fixed_id=own)
    elif link.who.operator:
        with ui.expansion("Start a campaign", icon="add").classes("w-full max-w-3xl").props(
                "data-test=start-campaign"):
            new_campaign_form(link)
        with ui.expansion("Start a strategy game", icon="public").classes("w-full max-w-3xl").props(
                "data-test=start-game"):
            new_game_form(link)
    if not page["items"] and not link.who.gm:
        ui.label("No campaigns here yet: your GM has not set this one up.").classes("text-grey-7")
    with ui.column().classes("w-full gap-2"):
        for item in page["items"]:
            with ui.card().classes("w-full").props(f"data-test=campaign-{item['campaign_id']}"):
                with ui.row().classes("items-center gap-2"):
                    ui.link(item["title"] or item["campaign_id"], f"/campaign/{item['campaign_id']}").classes("text-lg")
                    fresh = new_posts(item["post_count"], read_upto(item["campaign_id"]))
                    if fresh:
                        ui.badge(f"{fresh} new", color="accent").props(f"data-test=unread-{item['campaign_id']}")
                    if link.who.gm:
                        ui.link("set up", f"/campaign/{item['campaign_id']}/setup").classes("text-sm")
                players = ", ".join(f"{p['name']} ({p['status']})" for p in item["players"]) or "no players yet"
                last = item["last_post_at"]
                ui.label(f"{item['mode']} · {players} · {item['post_count']} posts"
                         + (f" · last post {clock_time(timestamp(last))} UTC" if last else ""))
                if item["awaiting_narration"]:
                    ui.badge("awaiting narration", color="warning")
                if item.get("dormant"):  # every player gone quiet: it sleeps until one returns or the GM posts
                    ui.badge(f"dormant since {clock_time(timestamp(item['dormant_since']))} UTC", color="grey") \
                        .props("data-test=dormant")
    if page["next_cursor"]:
        ui.label("Showing the first 200 campaigns.").classes("text-xs text-grey-7")


class TableView:
    """One browser's view of one campaign."""

    def __init__(self, link: Link, campaign_id: str, focus: int | None = None) -> None:
        self.link = link
        self.campaign_id = campaign_id
        self.address = f"campaign/{campaign_id}"
        self.live = LiveActor(CampaignKind(), keep_changes=True)
        self.viewer = link.who.viewer
        self.focus = focus                  # a permalink's post: scrolled to once the feed is shown
        self.status: dict[str, Any] | None = None
        self.status_at = 0.0                # monotonic time the status was fetched
        self.clock = ServerClock(link.who.clock == "virtual")
        self.status_stale = True
        self.countdowns: list[tuple[ui.label, float | None]] = []  # the GM status's
        self.my_countdowns: list[tuple[ui.label, float | None]] = []  # a player's own clocks
        self.follower: Follower | None = None
        self.cards: dict[int, PostCard] = {}  # post n -> its card on the page
        self.drafts: dict[int, str] = {}  # post n -> the narrator's tokens so far
        self.feed_filter = "all"

    # -- time --------------------------------------------------------------------------

    def now(self) -> float:
        """The server's clock as best known (the GM status's, or /api/v1/clock's)."""
        return self.clock.now()

    # -- layout ------------------------------------------------------------------------

    def build(self) -> None:
        self.client = ui.context.client
        self.client.on_connect(self.mark_read)
        with ui.row().classes("w-full items-center gap-3"):
            self.title = ui.label(self.campaign_id).classes("text-2xl").props("data-test=campaign-title")
            self.scene = ui.label("").classes("text-grey-7")
            self.mode = ui.badge("", color="primary").props("data-test=mode")
            ui.space()
            self.alerts = BrowserAlerts(self.viewer)
            self.alerts.switch()
            if self.link.who.gm:
                ui.link("Set up", f"/campaign/{self.campaign_id}/setup").props("data-test=open-setup")
            self.connection = ui.badge("connecting…", color="grey").props("data-test=connection")
        self.problem = ui.label("").classes("text-negative")
        self.encounter_box = ui.row().classes("w-full").props("data-test=encounter-box")
        if self.link.who.gm:
            EncounterBuilder(self.link, self.campaign_id, self.send).build()
        with ui.element("div").classes("w-full flex flex-col md:flex-row md:flex-nowrap items-start gap-4"):
            with ui.column().classes("w-full md:grow gap-2 min-w-0"):
                self.filter = ui.toggle(FILTERS, value="all", on_change=self.refilter).props(
                    "dense no-caps data-test=feed-filter").classes("flex-wrap")
                with ui.scroll_area().classes("w-full h-[55vh] md:h-[60vh] border rounded") as self.scroller:
                    self.feed = ui.column().classes("w-full gap-2 p-2").props("data-test=feed")
                self.compose_box = ui.column().classes("w-full")
            with ui.column().classes("w-full md:w-96 shrink-0 gap-4"):
                self.clocks_box = ui.column().classes("w-full").props("data-test=my-clocks")
                self.party = ui.column().classes("w-full").props("data-test=party")
                if self.link.who.gm:
                    self.gm = ui.column().classes("w-full").props("data-test=gm-status")
                SearchPanel(self.link, self.campaign_id).build()
                if not self.link.who.gm and self.link.who.character:  # the GM's are on the setup page
                    self.hooks = WebhookPanel(self.link, self.campaign_id)
                    with ui.expansion("Notify me elsewhere", icon="notifications_active").classes("w-full").props(
                            "data-test=my-webhooks") as box:
                        self.hooks.build()
                    box.on_value_change(lambda e: background_tasks.create(self.hooks.refresh(), name="hooks")
                                        if e.value else None)
                self.dice = ui.column().classes("w-full").props("data-test=dice-log")
        ui.timer(1.0, self.tick)
        ui.timer(0.5, self.refresh_status_if_stale)

    def composer(self) -> None:
        """Post, in character or not, a whisper, dice with the post; the GM as itself or an NPC."""
        who = self.link.who
        self.compose_box.clear()
        with self.compose_box, ui.card().classes("w-full"):
            modes = {"ic": "Narrate" if who.gm else "In character", "ooc": "Out of character", "whisper": "Whisper"}
            if who.gm:
                modes = {"ic": "Narrate", "npc": "As an NPC", "ooc": "Out of character", "whisper": "Whisper"}
            self.post_mode = ui.toggle(modes, value="ic", on_change=self.show_mode).props(
                "dense no-caps data-test=post-mode").classes("flex-wrap")
            with ui.row().classes("w-full items-center gap-2") as self.mode_row:
                self.speaker = ui.input("NPC name", placeholder="Bridge troll").props(
                    "dense data-test=speaker").classes("w-40")
                self.whisper_to = ui.select({}, multiple=True, label="Whisper to").props(
                    "dense use-chips data-test=whisper-to").classes("min-w-[12rem]")
                if who.gm:
                    self.as_whom = ui.select({"gm": "as the GM"}, value="gm", label="Post").props(
                        "dense data-test=post-as").classes("w-44")
            self.text = ui.textarea(placeholder="What do you do? (markdown works)").classes("w-full").props(
                "autogrow outlined").props("data-test=composer")
            with ui.row().classes("w-full items-center gap-2"):
                self.with_roll = ui.input("Roll with it", placeholder="1d20+7").props(
                    "dense data-test=post-roll").classes("w-32")
                ui.button("Post", on_click=self.post).props("data-test=post")
            with ui.row().classes("w-full items-center gap-2"):
                ui.label("Or only roll:").classes("text-sm text-grey-7")
                self.expression = ui.input("Dice", placeholder="1d20+7").props("dense data-test=dice").classes("w-24")
                self.reason = ui.input("For", placeholder="Stealth").props("dense").classes("w-28")
                ui.button("Roll", on_click=self.roll).props("outline").props("data-test=roll")
        self.show_mode()

    def show_mode(self) -> None:
        mode = self.post_mode.value
        self.speaker.set_visibility(mode == "npc")
        self.whisper_to.set_visibility(mode == "whisper")
        if self.link.who.gm:
            self.as_whom.set_visibility(mode in ("ic", "ooc"))

    def sheet(self) -> None:
        """A player whose character has not joined: the character sheet form instead of the composer."""
        self.compose_box.clear()
        with self.compose_box:
            character_form(self.join)

    async def join(self, character: dict[str, Any]) -> bool:
        return await self.send("JoinCampaign", {"character": character})

    # -- commands ----------------------------------------------------------------------

    async def send(self, type_: str, data: dict[str, Any]) -> bool:
        try:
            await self.link.command(self.address, type_, data)
        except LinkError as exc:
            ui.notify(error_text(exc), type="negative", multi_line=True)
            return False
        return True

    async def post(self) -> None:
        text = (self.text.value or "").strip()
        if not text:
            ui.notify("Write something first.", type="warning")
            return
        try:
            command = post_command(self.post_mode.value, text, self.link.who.gm, {
                "roll": self.with_roll.value, "speaker": self.speaker.value, "to": self.whisper_to.value,
                "as": self.as_whom.value if self.link.who.gm else None})
        except FormError as exc:
            ui.notify(str(exc), type="warning")
            return
        sent = await self.send(*command)
        if sent:
            self.text.set_value("")
            self.with_roll.set_value("")

    async def roll(self) -> None:
        expression = (self.expression.value or "").strip()
        if not expression:
            ui.notify("Write the dice to roll, e.g. 1d20+7.", type="warning")
            return
        if await self.send("RollDice", {"expression": expression, "reason": (self.reason.value or "").strip()}):
            self.expression.set_value("")

    async def edit_post(self, change: dict[str, Any]) -> None:
        if not change["text"]:
            ui.notify("A post needs some text; delete it instead.", type="warning")
            return
        await self.send("EditPost", change)

    async def delete_post(self, change: dict[str, Any]) -> None:
        await self.send("DeletePost", change)

    # -- rendering ---------------------------------------------------------------------

    def on_snapshot(self) -> None:
        self.live.take_changes()  # what happened before the page was open is no news
        self.render_all()
        self.status_stale = True

    def on_events(self, events: list[Any]) -> None:
        self.render_events(events)
        self.alerts.tell(self.live.take_changes(), self.now())
        self.status_stale = True

    def render_all(self) -> None:
        state = self.live.state
        if not state.created:
            self.problem.set_text("This campaign has not been created yet.")
        self.render_header()
        self.render_composer()
        self.feed.clear()
        self.cards.clear()
        self.append_posts(state.posts)
        self.render_side()
        if self.focus is not None and self.focus in self.cards:
            ui.run_javascript(f"document.getElementById('post-{self.focus}')?.scrollIntoView()")
            self.focus = None

    def render_events(self, events: list[Any]) -> None:
        self.render_header()
        state = self.live.state
        posted = [event.post for event in events if isinstance(event, Posted)]
        self.append_posts(posted)
        for event in events:
            if isinstance(event, PostNarrated):
                self.drafts.pop(event.n, None)
            if isinstance(event, (PostNarrated, PostEdited, PostDeleted)) and event.n in self.cards:
                post = next((p for p in state.posts if p.n == event.n), None)
                if post is not None:
                    self.cards[event.n].update(post, state)
            if isinstance(event, PlayerJoined):
                self.render_composer()
        self.render_side()

    def render_side(self) -> None:
        self.render_party()
        self.render_dice()
        self.render_clocks()
        self.mark_read()

    def render_composer(self) -> None:
        """The composer, or the character sheet for a player who has not joined (yet)."""
        who, state = self.link.who, self.live.state
        wants_sheet = not who.gm and who.character is not None and who.character not in state.players
        if wants_sheet != getattr(self, "showing_sheet", None):
            self.showing_sheet = wants_sheet
            self.sheet() if wants_sheet else self.composer()

    def refilter(self) -> None:
        self.feed_filter = self.filter.value or "all"
        self.feed.clear()
        self.cards.clear()
        self.append_posts(self.live.state.posts)

    def render_header(self) -> None:
        state = self.live.state
        self.title.set_text(state.title or self.campaign_id)
        self.encounter_box.clear()
        if state.encounter is not None:
            with self.encounter_box:
                n = state.encounter.n
                ui.link(f"Encounter {n} is on: open the tracker", f"/campaign/{self.campaign_id}/encounter/{n}"
                        ).props("data-test=open-encounter")
        self.scene.set_text(f"Scene {state.scene.n}: {state.scene.title}" if state.scene else "")
        self.mode.set_text(state.mode)
        if not hasattr(self, "whisper_to"):
            return
        me = self.link.who.character
        people = {"gm": "GM", **{pid: p.character.name for pid, p in state.players.items() if pid != me}}
        self.whisper_to.set_options(people, value=[v for v in (self.whisper_to.value or []) if v in people])
        if self.link.who.gm:
            options = {"gm": "as the GM"}
            options.update({pid: f"for {p.character.name}" for pid, p in state.players.items()})
            keep = self.as_whom.value if self.as_whom.value in options else "gm"
            self.as_whom.set_options(options, value=keep)

    def append_posts(self, posts: Any) -> None:
        state = self.live.state
        with self.feed:
            for post in posts:
                if post.n in self.cards or not shown(post, self.viewer, self.feed_filter):
                    continue
                self.cards[post.n] = PostCard(post, state, self.viewer, self.campaign_id, self.edit_post,
                                              self.delete_post)
        if not self.cards:
            with self.feed:
                ui.label("Nothing here yet." if self.feed_filter == "all" else "No posts of this kind yet.").classes(
                    "text-grey-7")
        self.scroller.scroll_to(percent=1.0)

    def on_transient(self, message: dict[str, Any]) -> None:
        """A narration's tokens as the model writes them: shown in place of the template until it settles."""
        n = message.get("post")
        if message.get("type") != "narration" or n not in self.cards:
            return
        if message.get("restart"):  # the checks refused what came so far; the narrator writes it again
            self.drafts[n] = ""
            return
        self.drafts[n] = self.drafts.get(n, "") + str(message.get("delta", ""))
        self.cards[n].text.set_content(self.drafts[n] + " ▍")

    def render_party(self) -> None:
        state = self.live.state
        self.party.clear()
        with self.party:
            ui.label("Party").classes("text-lg")
            if not state.players:
                ui.label("Nobody has joined yet.").classes("text-grey-7")
            for player in state.players.values():
                c = player.character
                with ui.card().classes("w-full").props(f"data-test=player-{player.player_id}"):
                    with ui.row().classes("items-center gap-2"):
                        ui.label(c.name).classes("font-bold")
                        ui.label(sheet_line(c)).classes("text-xs")
                        if player.status != "active":
                            badge = STATUS_COLORS.get(player.status, "grey")
                            ui.badge(player.status, color=badge).props(f"data-test=badge-{player.player_id}")
                    with ui.column().classes("w-full gap-0").props(f"data-test=hp-{player.player_id}"):
                        hp_line(c)
                    condition_chips(c.conditions)

    def render_dice(self) -> None:
        state = self.live.state
        self.dice.clear()
        with self.dice:
            ui.label("Dice log").classes("text-lg")
            if not state.rolls:
                ui.label("No rolls yet.").classes("text-grey-7")
            for roll in reversed(state.rolls[-15:]):
                ui.label(roll_line(roll, state)).classes("text-sm").props(f"data-test=roll-{roll.n}")

    def render_clocks(self) -> None:
        """A player's own countdowns: their turn's auto-skip, going idle, the story's deadlines."""
        if self.link.who.gm:
            return
        state = self.live.state
        self.clocks_box.clear()
        self.my_countdowns = []
        clocks = my_clocks(state, self.link.who.character, self.now())
        if not clocks:
            return
        with self.clocks_box, ui.card().classes("w-full bg-amber-50"):
            ui.label("Your clocks").classes("text-lg")
            for text, due in clocks:
                with ui.row().classes("w-full justify-between text-sm no-wrap gap-2"):
                    ui.label(text).classes("min-w-0 break-words")
                    self.my_countdowns.append((countdown_label(due, self.now()).classes("shrink-0 whitespace-nowrap"),
                                               due))

    # -- GM status ---------------------------------------------------------------------

    async def refresh_status_if_stale(self) -> None:
        """The GM status (a player: the server's clock) again after events, and every ``STATUS_REFRESH_S``."""
        if self.live.state is None or (self.follower and self.follower.closed):
            return
        if not self.status_stale and time.monotonic() - self.status_at < STATUS_REFRESH_S:
            return
        self.status_stale = False
        gm = self.link.who.gm
        try:
            status = await self.link.get(f"/api/v1/campaigns/{self.campaign_id}/gm/status" if gm else "/api/v1/clock")
        except LinkError as exc:
            if exc.code != "not_found":
                self.problem.set_text(error_text(exc))
            return
        self.status, self.status_at = status, time.monotonic()
        self.clock.set(timestamp(status["now"]) or time.time())
        self.render_gm() if gm else self.render_clocks()

    def render_gm(self) -> None:
        status = self.status
        self.gm.clear()
        self.countdowns = []
        with self.gm:
            with ui.row().classes("items-center gap-2"):
                ui.label("GM status").classes("text-lg")
                if status["needs_attention"]:
                    ui.badge("needs attention", color="negative").props("data-test=needs-attention")
            step = status["what_to_do_next"]
            with ui.card().classes("w-full bg-amber-50"):
                ui.label(step["instruction"]).classes("font-bold").props("data-test=next-step")
                ui.label(step["narrative_suggestion"]).classes("text-sm italic")
                ui.label(f"Waiting for: {status['waiting_for']['what']}").classes("text-sm")
            with ui.column().classes("w-full gap-1").props("data-test=countdowns"):
                for text, due in self.clocks(status):
                    with ui.row().classes("w-full justify-between text-sm no-wrap gap-2"):
                        ui.label(text).classes("min-w-0 break-words")
                        self.countdowns.append((countdown_label(due, self.now()).classes("shrink-0 whitespace-nowrap"),
                                                due))
            for task in status["gm_tasks"]:
                with ui.row().classes("items-start gap-2 text-sm no-wrap"):
                    ui.badge(task["urgency"], color=URGENCY_COLORS.get(task["urgency"], "grey"))
                    ui.label(task["task"])

    @staticmethod
    def clocks(status: dict[str, Any]) -> list[tuple[str, float | None]]:
        """Every countdown the server keeps, as (what happens, when)."""
        out: list[tuple[str, float | None]] = []
        if status.get("auto_skip_at"):
            out.append((f"Auto-skip {status['encounter']['name']}'s turn", timestamp(status["auto_skip_at"])))
        if status.get("stall"):
            out.append(("The story advances by itself", timestamp(status["stall"]["auto_advance_at"])))
        for deadline in status["story_deadlines"]:
            out.append((f"Deadline {deadline['deadline_id']}: {deadline['consequence'][:60]}",
                        timestamp(deadline["due"])))
        for order in status["scheduled_orders"]:
            if order["next_due"]:
                out.append((f"Order {order['order_id']} ({order['status']})", timestamp(order["next_due"])))
        for player in status["player_activity"]:
            step = player.get("next_enforcement")
            if step:
                out.append((f"{player['name']}: {step['action']}", timestamp(step["at"])))
        return out

    def mark_read(self) -> None:
        """The posts shown count as read while the page is seen, not once it is left behind (NiceGUI keeps a
        page a while for its reconnect): on the snapshot, on every event, when the browser connects, each second."""
        if self.live.state is not None and self.client.has_socket_connection:
            remember_read(self.campaign_id, self.live.state.post_count)

    def tick(self) -> None:
        self.mark_read()
        now = self.now()
        for label, due in [*self.countdowns, *self.my_countdowns]:
            label.set_text(countdown(due, now))


async def own_game(link: Link) -> dict[str, Any] | None:
    """The strategy game a scoped token's id names, if it was started (as the token may see it)."""
    if link.who.campaign is None:
        return None
    try:
        answer = await link.get(f"/api/v1/actors/strategy/{link.who.campaign}")
    except LinkError:
        return None
    return answer["state"] if answer["state"].get("created") else None


def remember_read(campaign_id: str, upto: int) -> None:
    """This browser has seen the campaign's posts up to ``upto`` (the campaign list's unread markers)."""
    read = app.storage.user.setdefault("read", {})
    if read.get(campaign_id, 0) < upto:
        read[campaign_id] = upto


def read_upto(campaign_id: str) -> int:
    return int(app.storage.user.get("read", {}).get(campaign_id, 0))


async def table_view(link: Link, campaign_id: str, focus: int | None = None) -> None:
    view = TableView(link, campaign_id, focus)
    view.build()
    view.follower = Follower(link, view.address, view.live, view.connection, view.problem, view.on_snapshot,
                             view.on_events, view.on_transient)
    background_tasks.create(view.follower.run(ui.context.client), name=f"follow {campaign_id}")
