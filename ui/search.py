"""The table's search panel: rules and this campaign's history, highlighted, each hit with its citation;
and "Ask the rules": an answer made of cited sentences, optionally reworded by the narrator."""
from __future__ import annotations

import html
import re
from typing import Any

from nicegui import ui

from .link import Link, LinkError, error_text

SCOPES = {"all": "rules and history", "rules": "rules", "posts": "posts", "encounters": "encounters"}


def citation_text(hit: dict[str, Any]) -> str:
    """``SRD 5.2.1, p. 182, Grappling``, ``post #12, scene 2 (The Drowned Shrine), Ayla``, ``encounter 1, ...``."""
    c = hit["citation"]
    if hit["source"] == "rules":
        return f"{c.get('book_title') or c['book']}, p. {c['page']}, {c['section']}"
    if hit["source"] == "posts":
        scene = f", scene {c['scene']} ({c['scene_title']})" if c.get("scene") else ""
        return f"post #{c['post']}{scene}, {c['author_name']}"
    return f"encounter {c['encounter']}, {c['outcome']}, {c['rounds']} rounds"


_MARK = re.compile(r"(</?mark>)")


def snippet_html(snippet: str) -> str:
    """The server's snippet (HTML: escaped text, matches in ``<mark>``) made safe to show as HTML.

    Escaped once, not twice (``combatant's``, not ``combatant&#x27;s``): the text between the
    ``<mark>`` tags is unescaped and escaped again, so any tag but ``<mark>`` shows as text
    whatever the server sent.
    """
    return "".join(part if _MARK.fullmatch(part) else html.escape(html.unescape(part))
                   for part in _MARK.split(snippet))


class SearchPanel:
    def __init__(self, link: Link, campaign_id: str) -> None:
        self.link = link
        self.campaign_id = campaign_id

    def build(self) -> None:
        with ui.expansion("Search rules and history", icon="search").classes("w-full").props("data-test=search"):
            with ui.row().classes("w-full items-end gap-2 no-wrap"):
                self.query = ui.input(placeholder="grapple, the ford, Old Bren…").props(
                    "dense clearable data-test=search-input").classes("grow")
                self.scope = ui.select(SCOPES, value="all").props("dense data-test=search-scope").classes("w-40")
            with ui.row().classes("gap-2"):
                ui.button("Search", on_click=self.search).props("dense data-test=search-go")
                ui.button("Ask the rules", on_click=self.ask).props("dense outline data-test=ask-go")
                self.reword = ui.checkbox("reworded by the narrator").props("dense data-test=ask-reword")
            self.query.on("keydown.enter", self.search)
            self.results = ui.column().classes("w-full gap-2").props("data-test=search-results")

    async def search(self) -> None:
        q = (self.query.value or "").strip()
        if not q:
            ui.notify("Type what to look for.", type="warning")
            return
        params: dict[str, Any] = {"q": q, "scope": self.scope.value, "limit": 10}
        if self.scope.value in ("posts", "encounters"):  # "all": the rules and whatever history the token reaches
            params["campaign"] = self.campaign_id
        try:
            page = await self.link.get("/api/v1/search", **params)
        except LinkError as exc:
            self.show_problem(exc)
            return
        self.results.clear()
        with self.results:
            ui.label(f"{page['total']} found" + (" (the first 10)" if page["total"] > 10 else "")).classes(
                "text-xs text-grey-7").props("data-test=search-total")
            for hit in page["items"]:
                with ui.card().classes("w-full").props(f"flat bordered data-test=hit-{hit['source']}"):
                    ui.label(hit["title"]).classes("text-sm font-bold")
                    ui.html(snippet_html(hit["snippet"])).classes("text-sm")
                    ui.label(citation_text(hit)).classes("text-xs text-grey-7").props("data-test=hit-citation")
                    credit = hit["citation"].get("attribution") if hit["source"] == "rules" else None
                    if credit:
                        ui.label(credit).classes("text-[10px] text-grey-6")

    async def ask(self) -> None:
        q = (self.query.value or "").strip()
        if not q:
            ui.notify("Type a rules question first.", type="warning")
            return
        try:
            answer = await self.link.post("/api/v1/rules/ask", {"question": q, "rephrase": bool(self.reword.value)})
        except LinkError as exc:
            self.show_problem(exc)
            return
        self.results.clear()
        with self.results:
            with ui.card().classes("w-full bg-blue-50").props("flat bordered data-test=answer"):
                ui.label(answer["answer"]).classes("text-sm").props("data-test=answer-text")
                if answer.get("rephrase_error"):
                    ui.label(f"not reworded: {answer['rephrase_error']}").classes("text-xs text-grey-7")
                for c in answer["citations"]:
                    ui.label(f"[{c['n']}] {c.get('book_title') or c['book']}, p. {c['page']}, {c['section']}").classes(
                        "text-xs").props("data-test=answer-citation")

    def show_problem(self, exc: LinkError) -> None:
        self.results.clear()
        with self.results:
            ui.label(error_text(exc)).classes("text-negative text-sm").props("data-test=search-problem")
