"""Webhooks on a page: a GM's for the table or for itself (the setup page), a player's for their own
notices (the table's side panel).  Each shows what it waits to send and its last tries."""
from __future__ import annotations

from typing import Any

from nicegui import ui

from .format import clock_time
from .link import Link, LinkError, error_text

KINDS = {"your_turn": "your turn", "turn_ending": "an hour left", "deadline": "deadline near", "whisper": "whispers",
         "mention": "mentions", "narration": "GM narration"}
STATUS_COLORS = {"delivered": "positive", "waiting": "grey", "retrying": "warning", "failed": "negative",
                 "skipped": "grey-5"}


def delivery_line(delivery: dict[str, Any], zone: str) -> str:
    """``delivered · your turn · 2026-01-01 01:00 · It is Ayla's turn`` (and why, when it failed)."""
    why = f" · {delivery['error']}" if delivery["error"] and delivery["status"] != "delivered" else ""
    return (f"{delivery['status']} · {KINDS.get(delivery['kind'], delivery['kind'])} · "
            f"{clock_time(delivery['at'], zone)} · {delivery['text'][:80]}{why}")


class WebhookPanel:
    def __init__(self, link: Link, campaign_id: str, zone: str = "UTC") -> None:
        self.link, self.campaign_id, self.zone = link, campaign_id, zone
        self.path = f"/api/v1/campaigns/{campaign_id}/webhooks"

    def build(self) -> None:
        gm = self.link.who.gm
        with ui.card().classes("w-full").props("data-test=webhooks"):
            ui.label("Notifications elsewhere (webhooks)").classes("text-lg")
            ui.label("A Discord channel's webhook URL works as it is; any HTTPS endpoint gets the same JSON, "
                     "signed.").classes("text-sm text-grey-7")
            self.listing = ui.column().classes("w-full gap-2")
            url = ui.input("Webhook URL", placeholder="https://discord.com/api/webhooks/…").props(
                "data-test=webhook-url").classes("w-full")
            with ui.row().classes("w-full gap-2 items-end"):
                scope = ui.select({"table": "the whole table", "gm": "me, the GM"}, value="table",
                                  label="For").classes("w-44") if gm else None
                kinds = ui.select(KINDS, value=list(KINDS), multiple=True, label="Tell about").props(
                    "use-chips data-test=webhook-kinds").classes("min-w-[16rem] grow")
            self.secret = ui.column().classes("w-full")

            async def add() -> None:
                body: dict[str, Any] = {"url": (url.value or "").strip(), "kinds": list(kinds.value or [])}
                if scope is not None:
                    body["scope"] = scope.value
                self.secret.clear()
                try:
                    made = await self.link.post(self.path, body)
                except LinkError as exc:
                    ui.notify(error_text(exc), type="negative", multi_line=True)
                    return
                url.set_value("")
                with self.secret:
                    ui.label("Its signing secret, shown once (X-Everturn-Signature is an HMAC-SHA256 with it):"
                             ).classes("text-sm")
                    ui.input(value=made["secret"]).props("readonly data-test=webhook-secret").classes("w-full")
                await self.refresh()

            ui.button("Add webhook", on_click=add).props("outline data-test=add-webhook")

    async def refresh(self) -> None:
        try:
            hooks = (await self.link.get(self.path))["items"]
        except LinkError as exc:
            self.listing.clear()
            with self.listing:
                ui.label(error_text(exc)).classes("text-negative")
            return
        self.listing.clear()
        with self.listing:
            if not hooks:
                ui.label("None yet.").classes("text-grey-7")
            for hook in hooks:
                with ui.column().classes("w-full gap-0 border rounded p-2").props(f"data-test=webhook-{hook['hook_id']}"):
                    with ui.row().classes("w-full items-center gap-2 no-wrap"):
                        who = {"table": "table", "gm": "GM"}.get(hook["scope"], hook["player_id"] or "player")
                        ui.label(f"{who} · {hook['url']}").classes("text-sm break-all grow")
                        ui.button(icon="delete", on_click=lambda h=hook["hook_id"]: self.remove(h)).props(
                            "flat dense round size=sm")
                    for delivery in hook["deliveries"][:5]:
                        with ui.row().classes("items-center gap-1 text-xs no-wrap"):
                            ui.badge("", color=STATUS_COLORS.get(delivery["status"], "grey")).props("rounded")
                            ui.label(delivery_line(delivery, self.zone)).classes("break-words").props(
                                "data-test=webhook-delivery")

    async def remove(self, hook_id: str) -> None:
        try:
            await self.link.delete(f"{self.path}/{hook_id}")
        except LinkError as exc:
            ui.notify(error_text(exc), type="negative")
            return
        await self.refresh()
