"""The pieces every table page shows the same way: a post, a dice result, an HP bar, condition chips,
a countdown.  Built from the pure helpers in ``ui.format``; pages only place them."""
from __future__ import annotations

from typing import Any, Awaitable, Callable

from nicegui import ui

from .format import (
    clock_time, countdown, hp_bar, may_change, narrator_line, post_author, post_tags, status_line,
)

Action = Callable[[Any], Awaitable[None]]


def dice_result(roll: Any) -> ui.element:
    """``(die) 1d20+4 = 17 [13]``: the roll's total first, every face after."""
    faces = " ".join("[" + ", ".join(str(f) for f in term) + "]" for term in roll.faces)
    with ui.row().classes("items-center gap-1 text-sm bg-amber-50 rounded px-2 py-1") as box:
        ui.icon("casino", size="xs").classes("text-amber-9")
        ui.label(f"{roll.expression} =")
        ui.label(str(roll.total)).classes("font-bold").props("data-test=roll-total")
        ui.label(faces).classes("text-grey-7")
    return box


def hp_line(character: Any) -> None:
    fraction, label, color = hp_bar(character.hp, character.max_hp)
    ui.linear_progress(value=fraction, show_value=False, color=color).props("rounded size=10px")
    ui.label(label).classes("text-xs")


def condition_chips(conditions: Any) -> None:
    if conditions:
        with ui.row().classes("gap-1"):
            for condition in conditions:
                ui.chip(condition, color="orange-3").props("dense")


def countdown_label(due: float | None, now: float) -> ui.label:
    """A label the page's one-second timer keeps ticking (``countdown``)."""
    return ui.label(countdown(due, now)).props("data-test=countdown")


class PostCard:
    """One post of the feed: who, what kind, when (the campaign's time zone), its text and dice, how the
    narrator made it, a permalink, and edit/delete for whoever may."""

    def __init__(self, post: Any, state: Any, viewer: dict[str, Any], campaign_id: str,
                 on_edit: Action | None = None, on_delete: Action | None = None) -> None:
        self.n = post.n
        self.campaign_id, self.viewer = campaign_id, viewer
        self.on_edit, self.on_delete = on_edit, on_delete
        tone = {"ooc": "bg-blue-grey-1", "whisper": "bg-purple-1"}.get(post.kind, "")
        with ui.card().classes(f"w-full {tone}").props(f"flat bordered id=post-{post.n} data-test=post-{post.n}"
                                                        ) as self.card:
            self.body = ui.column().classes("w-full gap-1")
        self.update(post, state)

    def update(self, post: Any, state: Any) -> None:
        """Show ``post`` as it is now (an edit, a deletion, the narrator's final text)."""
        self.body.clear()
        zone = state.settings.timezone
        with self.body:
            with ui.row().classes("w-full items-center gap-2 text-sm"):
                ui.label(post_author(post, state)).classes("font-bold").props(f"data-test=author-{post.n}")
                for label, color in post_tags(post, state):
                    ui.badge(label, color=color)
                ui.link(f"#{post.n}", f"/campaign/{self.campaign_id}?post={post.n}#post-{post.n}").classes(
                    "text-grey-7 no-underline").props(f"data-test=permalink-{post.n}")
                ui.label(clock_time(post.at, zone)).classes("text-grey-7 text-xs")
                ui.space()
                self.buttons(post, state)
            if post.deleted:
                ui.label("(deleted)").classes("italic text-grey-6").props(f"data-test=text-{post.n}")
            else:
                self.text = ui.markdown(post.text).classes("post-text w-full break-words").props(
                    f"data-test=text-{post.n}")
            if post.roll is not None:
                dice_result(post.roll)
            status = status_line(post, state)
            if status:
                ui.label(status).classes("text-xs text-grey-8 border-t pt-1").props(f"data-test=status-{post.n}")
            self.narrator = ui.label(narrator_line(post) or "").classes("text-xs text-grey-7 italic").props(
                f"data-test=narrator-{post.n}")
            if post.history:  # the GM's only: players are sent none
                with ui.expansion(f"{len(post.history)} earlier version(s)").classes("text-xs w-full").props(
                        f"dense data-test=history-{post.n}"):
                    for text in post.history:
                        ui.markdown(text).classes("text-grey-8")

    def buttons(self, post: Any, state: Any) -> None:
        edit, delete = may_change(post, self.viewer, state)
        if edit and self.on_edit is not None:
            ui.button(icon="edit", on_click=lambda: self.edit(post)).props(
                f"flat dense round size=sm data-test=edit-{post.n}").tooltip("Edit")
        if delete and self.on_delete is not None:
            ui.button(icon="delete", on_click=lambda: self.delete(post)).props(
                f"flat dense round size=sm data-test=delete-{post.n}").tooltip("Delete")

    def edit(self, post: Any) -> None:
        with ui.dialog() as dialog, ui.card().classes("w-[36rem] max-w-full"):
            ui.label(f"Edit post #{post.n}").classes("text-lg")
            text = ui.textarea(value=post.text).classes("w-full").props("autogrow outlined data-test=edit-text")

            async def save() -> None:
                assert self.on_edit is not None
                await self.on_edit({"n": post.n, "text": (text.value or "").strip()})
                dialog.close()

            with ui.row():
                ui.button("Save", on_click=save).props("data-test=edit-save")
                ui.button("Cancel", on_click=dialog.close).props("flat")
        dialog.open()

    def delete(self, post: Any) -> None:
        with ui.dialog() as dialog, ui.card():
            ui.label(f"Delete post #{post.n}? The GM can still read what it said.")

            async def confirm() -> None:
                assert self.on_delete is not None
                await self.on_delete({"n": post.n})
                dialog.close()

            with ui.row():
                ui.button("Delete", color="negative", on_click=confirm).props("data-test=delete-confirm")
                ui.button("Keep it", on_click=dialog.close).props("flat")
        dialog.open()
