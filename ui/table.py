"""The table view: the campaign list, then one campaign's live feed, party, GM status, dice.

The page subscribes to ``campaign/{id}`` with the Python client (resume by ``since`` after
a dropped connection is the client's job) and folds every event into its copy of the
state with the campaign's own ``evolve``; new posts are appended, nothing is reloaded.
"""
from __future__ import annotations

import time
from typing import Any

from nicegui import background_tasks, ui

from actors.campaign.behavior import CampaignKind
from actors.campaign.messages import Posted, PostNarrated

from .format import (
    STATUS_COLORS, URGENCY_COLORS, clock_time, countdown, hp_bar, narrator_line, post_author, roll_line, timestamp,
)
from .link import Link, LinkError, error_text
from .live import LiveActor
from .search import SearchPanel
from .stream import Follower

STATUS_REFRESH_S = 15.0  # the GM status is fetched again at least this often (and after every event)


async def campaign_list(link: Link) -> None:
    ui.label("Campaigns").classes("text-2xl")
    try:
        page = await link.get("/api/v1/campaigns", limit=200)
    except LinkError as exc:
        ui.label(error_text(exc)).classes("text-negative")
        return
    if not page["items"]:
        ui.label("No campaigns here yet. A GM starts one with the CreateCampaign command.")
    with ui.column().classes("w-full gap-2"):
        for item in page["items"]:
            with ui.card().classes("w-full").props(f"data-test=campaign-{item['campaign_id']}"):
                ui.link(item["title"] or item["campaign_id"], f"/campaign/{item['campaign_id']}").classes("text-lg")
                players = ", ".join(f"{p['name']} ({p['status']})" for p in item["players"]) or "no players yet"
                last = item["last_post_at"]
                ui.label(f"{item['mode']} · {players} · {item['post_count']} posts"
                         + (f" · last post {clock_time(timestamp(last))}" if last else ""))
                if item["awaiting_narration"]:
                    ui.badge("awaiting narration", color="warning")
                if item.get("dormant"):  # every player gone quiet: it sleeps until one returns or the GM posts
                    ui.badge(f"dormant since {clock_time(timestamp(item['dormant_since']))}", color="grey") \
                        .props("data-test=dormant")
    if page["next_cursor"]:
        ui.label("Showing the first 200 campaigns.").classes("text-xs text-grey-7")


class TableView:
    """One browser's view of one campaign."""

    def __init__(self, link: Link, campaign_id: str) -> None:
        self.link = link
        self.campaign_id = campaign_id
        self.address = f"campaign/{campaign_id}"
        self.live = LiveActor(CampaignKind())
        self.shown = 0                      # the highest post number on the page
        self.status: dict[str, Any] | None = None
        self.status_at = 0.0                # monotonic time the status was fetched
        self.status_stale = True
        self.countdowns: list[tuple[ui.label, float | None]] = []
        self.follower: Follower | None = None
        self.texts: dict[int, ui.markdown] = {}  # post n -> its text on the page
        self.narrators: dict[int, ui.label] = {}  # post n -> how the narrator made it
        self.drafts: dict[int, str] = {}  # post n -> the narrator's tokens so far

    # -- time --------------------------------------------------------------------------

    def now(self) -> float:
        """The server's clock as best known: it runs on between fetches unless it is virtual."""
        if self.status is None:
            return time.time()
        server_now = timestamp(self.status["now"]) or time.time()
        if self.link.who.clock == "virtual":
            return server_now
        return server_now + (time.monotonic() - self.status_at)

    # -- layout ------------------------------------------------------------------------

    def build(self) -> None:
        with ui.row().classes("w-full items-center gap-3"):
            self.title = ui.label(self.campaign_id).classes("text-2xl").props("data-test=campaign-title")
            self.scene = ui.label("").classes("text-grey-7")
            self.mode = ui.badge("", color="primary").props("data-test=mode")
            ui.space()
            self.connection = ui.badge("connecting…", color="grey").props("data-test=connection")
        self.problem = ui.label("").classes("text-negative")
        self.encounter_box = ui.row().classes("w-full").props("data-test=encounter-box")
        if self.link.who.gm:
            self.builder()
        with ui.row().classes("w-full no-wrap items-start gap-4"):
            with ui.column().classes("grow gap-2"):
                with ui.scroll_area().classes("w-full h-[60vh] border rounded") as self.scroller:
                    self.feed = ui.column().classes("w-full gap-2 p-2").props("data-test=feed")
                self.composer()
            with ui.column().classes("w-96 shrink-0 gap-4"):
                self.party = ui.column().classes("w-full").props("data-test=party")
                if self.link.who.gm:
                    self.gm = ui.column().classes("w-full").props("data-test=gm-status")
                SearchPanel(self.link, self.campaign_id).build()
                self.dice = ui.column().classes("w-full").props("data-test=dice-log")
        ui.timer(1.0, self.tick)
        ui.timer(0.5, self.refresh_status_if_stale)

    def composer(self) -> None:
        who = self.link.who
        with ui.card().classes("w-full"):
            self.text = ui.textarea(placeholder="What do you do? (markdown works)").classes("w-full").props(
                "autogrow outlined").props("data-test=composer")
            with ui.row().classes("items-center gap-2"):
                if who.gm:
                    self.as_whom = ui.select({"narration": "Narrate as GM"}, value="narration").props(
                        "data-test=post-as")
                ui.button("Post", on_click=self.post).props("data-test=post")
                ui.space()
                self.expression = ui.input("Dice", placeholder="1d20+7").props("dense data-test=dice").classes("w-28")
                self.reason = ui.input("For", placeholder="Stealth").props("dense").classes("w-28")
                ui.button("Roll", on_click=self.roll).props("outline").props("data-test=roll")

    def builder(self) -> None:
        """GM: a group of identical creatures, its XP budget and simulated odds, and Start."""
        with ui.expansion("Build an encounter", icon="shield").classes("w-full").props("data-test=builder"):
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
                ui.button("Estimate", on_click=self.estimate).props("outline data-test=estimate")
                ui.button("Start encounter", on_click=self.start_encounter).props("data-test=start-encounter")
            self.estimate_label = ui.label("").classes("text-sm").props("data-test=estimate-result")

    def npcs(self) -> list[dict[str, Any]]:
        v = {k: field.value for k, field in self.npc.items()}
        saves = int(v["saves"] or 0)
        stats = {"level": int(v["level"] or 0), "max_hp": int(v["max_hp"] or 1), "ac": int(v["ac"] or 0),
                 "fortitude": saves, "reflex": saves, "will": saves, "perception": int(v["perception"] or 0),
                 "strikes": [{"name": "attack", "attack": int(v["attack"] or 0), "damage": v["damage"] or "1d4"}],
                 "tactics": v["tactics"]}
        count = max(1, int(v["count"] or 1))
        return [{"name": f"{v['name']} {i}" if count > 1 else v["name"], "stats": stats,
                 "adjustment": v["adjustment"]} for i in range(1, count + 1)]

    async def estimate(self) -> None:
        try:
            answer = await self.link.post(f"/api/v1/campaigns/{self.campaign_id}/encounters/estimate",
                                          {"npcs": self.npcs(), "fights": 10_000})
        except LinkError as exc:
            self.estimate_label.set_text(error_text(exc))
            return
        budget, odds = answer["budget"], answer["estimate"]
        low, high = odds["win_probability_ci95"]
        self.estimate_label.set_text(
            f"{budget['threat']} threat · {budget['xp']} XP for {budget['party_size']} level-{budget['party_level']} "
            f"characters · party wins {odds['win_probability']:.0%} ({low:.0%}–{high:.0%}) · "
            f"{odds['expected_rounds']['mean']:.1f} rounds · {odds['expected_knockouts']['mean']:.2f} knocked out · "
            f"{odds['expected_deaths']['mean']:.2f} deaths" + "".join(f" · ⚠ {w}" for w in budget["warnings"]))

    async def start_encounter(self) -> None:
        await self.send("StartEncounter", {"npcs": self.npcs()})

    # -- commands ----------------------------------------------------------------------

    async def send(self, type_: str, data: dict[str, Any]) -> bool:
        try:
            await self.link.command(self.address, type_, data)
        except LinkError as exc:
            ui.notify(error_text(exc), type="negative")
            return False
        return True

    async def post(self) -> None:
        text = (self.text.value or "").strip()
        if not text:
            ui.notify("Write something first.", type="warning")
            return
        choice = self.as_whom.value if self.link.who.gm else "action"
        if choice == "narration":
            sent = await self.send("PostNarration", {"text": text})
        else:
            sent = await self.send("PostAction", {"text": text, **({"player_id": choice} if self.link.who.gm else {})})
        if sent:
            self.text.set_value("")

    async def roll(self) -> None:
        expression = (self.expression.value or "").strip()
        if not expression:
            ui.notify("Write the dice to roll, e.g. 1d20+7.", type="warning")
            return
        if await self.send("RollDice", {"expression": expression, "reason": (self.reason.value or "").strip()}):
            self.expression.set_value("")

    # -- the stream --------------------------------------------------------------------

    # -- rendering ---------------------------------------------------------------------

    def on_snapshot(self) -> None:
        self.render_all()
        self.status_stale = True

    def on_events(self, events: list[Any]) -> None:
        self.render_events(events)
        self.status_stale = True

    def render_all(self) -> None:
        state = self.live.state
        if not state.created:
            self.problem.set_text("This campaign has not been created yet.")
        self.render_header()
        self.feed.clear()
        self.shown = 0
        self.texts.clear()
        self.narrators.clear()
        self.append_posts(state.posts)
        self.render_party()
        self.render_dice()

    def render_events(self, events: list[Any]) -> None:
        self.render_header()
        self.append_posts([event.post for event in events if isinstance(event, Posted)])
        for event in events:
            if isinstance(event, PostNarrated):
                self.settle(event.n)
        self.render_party()
        self.render_dice()

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
        if self.link.who.gm:
            options = {"narration": "Narrate as GM"}
            options.update({pid: f"Act for {p.character.name}" for pid, p in state.players.items()})
            keep = self.as_whom.value if self.as_whom.value in options else "narration"
            self.as_whom.set_options(options, value=keep)

    def append_posts(self, posts: Any) -> None:
        state = self.live.state
        with self.feed:
            for post in posts:
                if post.n <= self.shown:
                    continue
                self.shown = post.n
                kind_color = {"action": "primary", "narration": "secondary", "notice": "grey"}[post.kind]
                with ui.card().classes("w-full").props(f"data-test=post-{post.n}").props("flat bordered"):
                    with ui.row().classes("items-center gap-2 text-sm"):
                        ui.label(post_author(post, state)).classes("font-bold")
                        ui.badge(post.kind, color=kind_color)
                        if post.reason:
                            ui.badge(post.reason, color="grey-6")
                        ui.label(f"#{post.n} · {clock_time(post.at)}").classes("text-grey-7")
                        self.narrators[post.n] = ui.label(narrator_line(post) or "").classes(
                            "text-xs text-grey-7 italic").props(f"data-test=narrator-{post.n}")
                    self.texts[post.n] = ui.markdown(post.text).classes("post-text").props(f"data-test=text-{post.n}")
        self.scroller.scroll_to(percent=1.0)

    def on_transient(self, message: dict[str, Any]) -> None:
        """A narration's tokens as the model writes them: shown in place of the template until it settles."""
        n = message.get("post")
        if message.get("type") != "narration" or n not in self.texts:
            return
        if message.get("restart"):  # the checks refused what came so far; the narrator writes it again
            self.drafts[n] = ""
            return
        self.drafts[n] = self.drafts.get(n, "") + str(message.get("delta", ""))
        self.texts[n].set_content(self.drafts[n] + " ▍")

    def settle(self, n: int) -> None:
        """The post's final text (the model's, or the template) and how it was made."""
        self.drafts.pop(n, None)
        post = next((p for p in self.live.state.posts if p.n == n), None)
        if post is None or n not in self.texts:
            return
        self.texts[n].set_content(post.text)
        self.narrators[n].set_text(narrator_line(post) or "")

    def render_party(self) -> None:
        state = self.live.state
        self.party.clear()
        with self.party:
            ui.label("Party").classes("text-lg")
            if not state.players:
                ui.label("Nobody has joined yet.").classes("text-grey-7")
            for player in state.players.values():
                c = player.character
                fraction, label, color = hp_bar(c.hp, c.max_hp)
                with ui.card().classes("w-full").props(f"data-test=player-{player.player_id}"):
                    with ui.row().classes("items-center gap-2"):
                        ui.label(c.name).classes("font-bold")
                        ui.label(f"level {c.level} · AC {c.ac} · Perception {c.perception:+d}").classes("text-xs")
                        if player.status != "active":
                            badge = STATUS_COLORS.get(player.status, "grey")
                            ui.badge(player.status, color=badge).props(f"data-test=badge-{player.player_id}")
                    ui.linear_progress(value=fraction, show_value=False, color=color).props("rounded size=10px")
                    ui.label(label).classes("text-xs").props(f"data-test=hp-{player.player_id}")
                    if c.conditions:
                        with ui.row().classes("gap-1"):
                            for condition in c.conditions:
                                ui.chip(condition, color="orange-3").props("dense")

    def render_dice(self) -> None:
        state = self.live.state
        self.dice.clear()
        with self.dice:
            ui.label("Dice log").classes("text-lg")
            if not state.rolls:
                ui.label("No rolls yet.").classes("text-grey-7")
            for roll in reversed(state.rolls[-15:]):
                ui.label(roll_line(roll, state)).classes("text-sm").props(f"data-test=roll-{roll.n}")

    # -- GM status ---------------------------------------------------------------------

    async def refresh_status_if_stale(self) -> None:
        if not self.link.who.gm or self.live.state is None or (self.follower and self.follower.closed):
            return
        if not self.status_stale and time.monotonic() - self.status_at < STATUS_REFRESH_S:
            return
        self.status_stale = False
        try:
            status = await self.link.get(f"/api/v1/campaigns/{self.campaign_id}/gm/status")
        except LinkError as exc:
            if exc.code != "not_found":
                self.problem.set_text(error_text(exc))
            return
        self.status, self.status_at = status, time.monotonic()
        self.render_gm()

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
                    with ui.row().classes("w-full justify-between text-sm"):
                        ui.label(text)
                        self.countdowns.append((ui.label(countdown(due, self.now())).props("data-test=countdown"), due))
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

    def tick(self) -> None:
        now = self.now()
        for label, due in self.countdowns:
            label.set_text(countdown(due, now))


async def table_view(link: Link, campaign_id: str) -> None:
    view = TableView(link, campaign_id)
    view.build()
    view.follower = Follower(link, view.address, view.live, view.connection, view.problem, view.on_snapshot,
                             view.on_events, view.on_transient)
    background_tasks.create(view.follower.run(ui.context.client), name=f"follow {campaign_id}")
