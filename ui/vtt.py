"""A virtual tabletop on the setup page: where Foundry installs the Everturn module from, the campaign's
bridge tokens (made, shown once, revoked), and each VTT world's bridge as it stands (docs/bridge.md)."""
from __future__ import annotations

from typing import Any

from nicegui import ui

from .bridges import trouble_line
from .link import Link, LinkError, error_text


def world_line(world: dict[str, Any]) -> str:
    """``world-1: connected (gm-1 emits) · 3 waiting · oldest 12 s · 1 expired``, or disconnected."""
    name = world["world"].split("/", 1)[1]
    waiting = sum(world["depth"].values())
    emitter = world["emitter"]
    state = f"connected ({emitter['instance']} speaks for it)" if emitter else "disconnected"
    parts = [f"{name}: {state}", f"{waiting} waiting"]
    if world["oldest_age_s"] is not None:
        parts.append(f"oldest {world['oldest_age_s']:.0f} s")
    parts += [f"{world[k]} {k}" for k in ("expired", "failed") if world[k]]
    return " · ".join(parts)


class VttPanel:
    def __init__(self, link: Link, campaign_id: str) -> None:
        self.link, self.campaign_id = link, campaign_id
        self.base = f"/api/v1/campaigns/{campaign_id}"

    def build(self) -> None:
        with ui.card().classes("w-full").props("data-test=vtt"):
            ui.label("Virtual tabletop (Foundry VTT)").classes("text-lg")
            ui.label("In Foundry: Add-on Modules → Install Module → paste the manifest URL; enable “Everturn "
                     "bridge” in the world; in its settings put the server URL, a bridge token and the campaign id."
                     ).classes("text-sm text-grey-7")
            self.manifest = ui.input("Manifest URL").props("readonly data-test=vtt-manifest").classes("w-full")
            with ui.row().classes("w-full gap-2"):
                ui.input("Server URL", value=self.link.server).props("readonly").classes("grow")
                ui.input("Campaign", value=self.campaign_id).props("readonly").classes("w-40")
            self.worlds = ui.column().classes("w-full gap-1").props("data-test=vtt-worlds")
            self.tokens = ui.column().classes("w-full gap-1").props("data-test=vtt-tokens")
            self.new_token = ui.column().classes("w-full")
            with ui.row().classes("gap-2"):
                ui.button("Make a bridge token", on_click=self.make).props("data-test=vtt-make-token")
                ui.button("Refresh", on_click=self.refresh).props("flat")

    async def refresh(self) -> None:
        try:
            bridges = await self.link.get(f"{self.base}/bridges")
            tokens = await self.link.get(f"{self.base}/bridge-tokens")
        except LinkError as exc:
            ui.notify(error_text(exc), type="negative", multi_line=True)
            return
        self.manifest.set_value(bridges["manifest_url"])
        self.worlds.clear()
        with self.worlds:
            if not bridges["items"]:
                ui.label("No VTT world has connected yet.").classes("text-grey-7")
            for world in bridges["items"]:
                color = "text-positive" if world["emitter"] else "text-negative"
                ui.label(world_line(world)).classes(f"text-sm {color}").props(
                    f"data-test=vtt-world-{world['world'].split('/', 1)[1]}")
                for trouble in world["troubles"]:
                    ui.label(trouble_line(trouble)).classes("text-xs text-grey-8 break-words")
        self.tokens.clear()
        with self.tokens:
            for token in tokens["items"]:
                with ui.row().classes("w-full items-center gap-2 no-wrap"):
                    ui.label(f"bridge token {token['token_id']}").classes("grow text-sm")
                    ui.button("Revoke", on_click=lambda t=token["token_id"]: self.revoke(t)).props(
                        f"flat dense data-test=vtt-revoke-{token['token_id']}")

    async def make(self) -> None:
        try:
            made = await self.link.post(f"{self.base}/bridge-tokens")
        except LinkError as exc:
            ui.notify(error_text(exc), type="negative", multi_line=True)
            return
        self.new_token.clear()
        with self.new_token:
            ui.label("The module's bridge token (shown once: paste it in the module's settings):").classes("text-sm")
            ui.input(value=made["token"]).props("readonly data-test=vtt-token").classes("w-full")
        await self.refresh()

    async def revoke(self, token_id: str) -> None:
        try:
            await self.link.delete(f"{self.base}/bridge-tokens/{token_id}")
        except LinkError as exc:
            ui.notify(error_text(exc), type="negative", multi_line=True)
            return
        ui.notify("Bridge token revoked: its module stops at its next request.", type="positive")
        await self.refresh()
