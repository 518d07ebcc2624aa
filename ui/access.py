"""The console's Access tab: make tokens and invite links, revoke them, see who is connected."""
from __future__ import annotations

from typing import Any

from nicegui import ui

from .format import clock_time
from .link import Link, LinkError, error_text

TOKENS = [
    {"name": "token_id", "label": "token", "field": "token_id", "align": "left"},
    {"name": "role", "label": "role", "field": "role", "align": "left"},
    {"name": "campaign", "label": "campaign", "field": "campaign", "align": "left"},
    {"name": "character", "label": "character", "field": "character", "align": "left"},
    {"name": "created", "label": "created (UTC)", "field": "created_text", "align": "left"},
]
SESSIONS = [
    {"name": "token_id", "label": "token", "field": "token_id", "align": "left"},
    {"name": "role", "label": "role", "field": "role", "align": "left"},
    {"name": "who", "label": "campaign · character", "field": "who", "align": "left"},
    {"name": "client", "label": "client", "field": "client", "align": "left"},
    {"name": "since", "label": "since (UTC)", "field": "since", "align": "left"},
    {"name": "topics", "label": "following", "field": "topics", "align": "left"},
]


def token_rows(items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [{**item, "created_text": clock_time(item["created"])} for item in items]


def session_rows(items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [{"session": s["session"], "token_id": s["token_id"] or "(no hello yet)", "role": s["role"] or "",
             "who": " · ".join(part for part in (s["campaign"], s["character"]) if part), "client": s["client"],
             "since": clock_time(s["connected_at"]), "topics": ", ".join(s["subscriptions"])} for s in items]


class Access:
    def __init__(self, link: Link, origin: str) -> None:
        self.link, self.origin = link, origin.rstrip("/")

    def build(self) -> None:
        with ui.row().classes("w-full gap-4 items-start"):
            with ui.card().classes("w-full md:w-[28rem]").props("data-test=new-token"):
                ui.label("New token").classes("text-lg")
                role = ui.select(["gm", "player", "bot", "bridge", "operator"], value="gm", label="Role").props(
                    "data-test=token-role").classes("w-40")
                campaign = ui.input("Campaign id").props("data-test=token-campaign").classes("w-full")
                character = ui.input("Character (player id, for a player)").props(
                    "data-test=token-character").classes("w-full")
                acts_as = ui.select({"": "", "player": "player", "gm": "gm"}, value="", label="A bot acts as").classes(
                    "w-40")
                made = ui.column().classes("w-full")

                async def create() -> None:
                    body = {"role": role.value, "campaign": (campaign.value or "").strip() or None,
                            "character": (character.value or "").strip() or None, "acts_as": acts_as.value or None}
                    made.clear()
                    try:
                        answer = await self.link.post("/api/v1/admin/tokens", body)
                    except LinkError as exc:
                        with made:
                            ui.label(error_text(exc)).classes("text-negative").props("data-test=token-error")
                        return
                    with made:
                        ui.label("The token, shown once: hand it over now.").classes("text-sm")
                        ui.input(value=answer["token"]).props("readonly data-test=made-token").classes("w-full")
                    await self.refresh()

                ui.button("Create token", on_click=create).props("data-test=create-token")
            with ui.card().classes("w-full md:w-[28rem]").props("data-test=new-invite"):
                ui.label("Invite link").classes("text-lg")
                invite_campaign = ui.input("Campaign id").props("data-test=invite-campaign").classes("w-full")
                seat = ui.input("Seat (player id; empty: the next free one)").classes("w-full")
                note = ui.input("For whom").classes("w-full")
                link_box = ui.column().classes("w-full")

                async def invite() -> None:
                    link_box.clear()
                    body: dict[str, Any] = {"note": (note.value or "").strip()}
                    if (seat.value or "").strip():
                        body["player_id"] = seat.value.strip()
                    target = (invite_campaign.value or "").strip()
                    try:
                        answer = await self.link.post(f"/api/v1/campaigns/{target}/invites", body)
                    except LinkError as exc:
                        with link_box:
                            ui.label(error_text(exc)).classes("text-negative")
                        return
                    with link_box:
                        ui.label(f"Seat {answer['player_id']}: send this link (shown once).").classes("text-sm")
                        ui.input(value=self.origin + answer["path"]).props("readonly data-test=console-invite-link"
                                                                            ).classes("w-full")

                ui.button("Make invite link", on_click=invite).props("data-test=make-invite")
        with ui.row().classes("w-full items-center gap-2"):
            ui.label("Tokens").classes("text-lg")
            ui.button(icon="refresh", on_click=self.refresh).props("flat dense data-test=refresh-access")
        self.tokens = ui.table(columns=TOKENS, rows=[], row_key="token_id", selection="single",
                               pagination=20).classes("w-full").props("dense data-test=tokens")
        ui.button("Revoke the selected token", on_click=self.revoke, color="negative").props(
            "outline data-test=revoke-token")
        ui.label("Connected now").classes("text-lg mt-4")
        self.sessions = ui.table(columns=SESSIONS, rows=[], row_key="session", pagination=20).classes(
            "w-full").props("dense data-test=sessions")

    async def refresh(self) -> None:
        try:
            tokens = await self.link.get("/api/v1/admin/tokens")
            sessions = await self.link.get("/api/v1/admin/sessions")
        except LinkError as exc:
            ui.notify(error_text(exc), type="negative")
            return
        self.tokens.rows = token_rows(tokens["items"])
        self.tokens.update()
        self.sessions.rows = session_rows(sessions["items"])
        self.sessions.update()

    async def revoke(self) -> None:
        if not self.tokens.selected:
            ui.notify("Select a token first.", type="warning")
            return
        token_id = self.tokens.selected[0]["token_id"]
        if token_id == self.link.token.split("_")[1]:
            ui.notify("That is the token this console runs on; log in with another before revoking it.",
                      type="warning")
            return
        try:
            await self.link.delete(f"/api/v1/admin/tokens/{token_id}")
        except LinkError as exc:
            ui.notify(error_text(exc), type="negative")
            return
        ui.notify(f"Token {token_id} revoked.", type="positive")
        self.tokens.selected = []
        await self.refresh()
