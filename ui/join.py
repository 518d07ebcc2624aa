"""Joining a table from an invite link: the seat's token, then the character sheet.

``/join/{campaign}/{code}`` asks the server to turn the invite into a player token (REST, no
token needed: the code is the credential), logs this browser in with it and shows it once, so
the player can log in from another device; the table then asks for the character.
"""
from __future__ import annotations

from typing import Any, Awaitable, Callable

from nicegui import run, ui

from .forms import FormError, character_data
from .link import LinkError, claim_invite, error_text, hello

Submit = Callable[[dict[str, Any]], Awaitable[bool]]


def character_form(submit: Submit) -> None:
    """The character sheet a player fills in to join: PF2e's numbers, skills and strikes as plain lines."""
    with ui.card().classes("w-full").props("data-test=sheet"):
        ui.label("Your character").classes("text-lg")
        ui.label("Fill in the sheet and join the table. Skills and strikes are plain text, one per line "
                 "or separated by commas.").classes("text-sm text-grey-7")
        fields: dict[str, Any] = {}
        with ui.row().classes("w-full gap-2"):
            fields["name"] = ui.input("Name").props("data-test=sheet-name").classes("w-48")
            fields["ancestry"] = ui.input("Ancestry", placeholder="Dwarf").props("data-test=sheet-ancestry").classes(
                "w-32")
            fields["class"] = ui.input("Class", placeholder="Fighter").props("data-test=sheet-class").classes("w-32")
            fields["level"] = ui.number("Level", value=1, min=1, max=20, precision=0).classes("w-20")
        with ui.row().classes("w-full gap-2"):
            for key, label, value in (("max_hp", "Max HP", 20), ("ac", "AC", 16), ("perception", "Perception", 5),
                                      ("fortitude", "Fortitude", 5), ("reflex", "Reflex", 5), ("will", "Will", 5)):
                fields[key] = ui.number(label, value=value, precision=0).props(f"data-test=sheet-{key}").classes(
                    "w-24")
        fields["skills"] = ui.input("Skills", placeholder="Athletics +7, Stealth +5").props(
            "data-test=sheet-skills").classes("w-full")
        fields["strikes"] = ui.textarea("Strikes", placeholder="Longsword +9 1d8+4 slashing\n"
                                        "Shortbow +7 1d6 piercing ranged").props(
            "autogrow data-test=sheet-strikes").classes("w-full")
        problem = ui.label("").classes("text-negative").props("data-test=sheet-error")

        async def send() -> None:
            try:
                character = character_data({key: field.value for key, field in fields.items()})
            except FormError as exc:
                problem.set_text(str(exc))
                return
            problem.set_text("")
            await submit(character)

        ui.button("Join the table", on_click=send).props("data-test=sheet-join")


async def join_page(server: str, campaign_id: str, code: str, remember: Callable[[str, Any], None]) -> None:
    """Claim the invite when the person asks (not on page load: link previews must not use it up)."""
    with ui.card().classes("mx-auto mt-8 w-full max-w-lg"):
        ui.label("You are invited to a table").classes("text-xl")
        ui.label(f"Campaign {campaign_id}. Taking the seat gives this browser a player token; nobody else can "
                 "use this link afterwards.").classes("text-sm text-grey-8")
        result = ui.column().classes("w-full")
        button = ui.button("Take the seat", on_click=lambda: take()).props("data-test=claim")

        async def take() -> None:
            button.disable()
            result.clear()
            try:
                seat = await claim_invite(server, campaign_id, code)
                who = await run.io_bound(hello, server, seat["token"])
            except LinkError as exc:
                with result:
                    ui.label(error_text(exc)).classes("text-negative").props("data-test=claim-error")
                button.enable()
                return
            remember(seat["token"], who)
            button.set_visibility(False)
            with result:
                ui.label(f"Welcome to {seat['title']}! You play seat {seat['character']}.").classes("text-lg")
                ui.label("Keep this token somewhere safe: it logs you in from another device. It is shown only "
                         "now.").classes("text-sm")
                ui.input("Your token", value=seat["token"]).props("readonly data-test=claimed-token").classes("w-full")
                ui.button("Go to the table", on_click=lambda: ui.navigate.to(f"/campaign/{campaign_id}")).props(
                    "data-test=to-table")
