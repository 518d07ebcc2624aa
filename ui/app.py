"""The NiceGUI app: login, the campaign list, the table view and the operator console.

NiceGUI runs on asyncio, so the UI is its own process (``everturn ui``, or started beside
the server by ``everturn serve``) and reaches the server only through its public API:
REST and the websocket protocol, the same as any bot.
"""
from __future__ import annotations

import asyncio
import os
import secrets
import tempfile
import time
from nicegui import app, background_tasks, run, ui

from fastapi import Request

from .link import Link, LinkError, Who, error_text, hello

DEFAULT_PORT = 8801
IDLE_LOGOUT_S = 12 * 3600  # a browser not seen this long logs in again
_links: dict[str, tuple[Link, float]] = {}  # browser id -> its link, last seen (tokens stay in this process)
_server = {"url": "http://127.0.0.1:8800"}


def current() -> Link | None:
    """This browser's link, if it logged in and was seen within ``IDLE_LOGOUT_S``."""
    now = time.monotonic()
    for browser, (link, seen) in list(_links.items()):
        if now - seen > IDLE_LOGOUT_S:
            del _links[browser]
            background_tasks.create(link.close(), name="close idle link")
    browser = app.storage.browser.get("id", "")
    entry = _links.get(browser)
    if entry is None:
        return None
    _links[browser] = (entry[0], now)
    return entry[0]


def frame(title: str, link: Link | None) -> None:
    """The header every page shares."""
    ui.page_title(f"{title} · Everturn")
    with ui.header().classes("items-center justify-between bg-slate-800"):
        with ui.row().classes("items-center gap-4"):
            ui.link("Everturn", "/").classes("text-lg font-bold text-white no-underline")
            if link is not None:
                ui.link("Campaigns", "/").classes("text-white")
                if link.who.operator:
                    ui.link("Console", "/console").classes("text-white").props("data-test=nav-console")
        if link is not None:
            with ui.row().classes("items-center gap-2"):
                scope = link.who.campaign or "all campaigns"
                ui.label(f"{link.who.role} · {scope}" + (" · virtual clock" if link.who.clock == "virtual" else ""))
                ui.button("Log out", on_click=logout).props("flat color=white")


async def logout() -> None:
    entry = _links.pop(app.storage.browser.get("id", ""), None)
    if entry is not None:
        await entry[0].close()
    ui.navigate.to("/login")


def remember(token: str, who: Who) -> None:
    """Log this browser in with ``token`` (kept in this process only)."""
    old = _links.pop(app.storage.browser["id"], None)
    if old is not None:
        background_tasks.create(old[0].close(), name="close replaced link")
    _links[app.storage.browser["id"]] = (Link(_server["url"], token, who), time.monotonic())


def require_login() -> Link | None:
    link = current()
    if link is None:
        ui.navigate.to("/login")
    return link


@ui.page("/login")
def login_page() -> None:
    frame("Log in", None)
    with ui.card().classes("mx-auto mt-16 w-96"):
        ui.label("Log in with a token").classes("text-lg")
        ui.label(f"Server: {_server['url']}").classes("text-xs text-grey-7")
        token = ui.input("Token", password=True, password_toggle_button=True).classes("w-full").props("data-test=token")
        message = ui.label("").classes("text-negative").props("data-test=login-error")

        async def submit() -> None:
            value = (token.value or "").strip()
            if not value:
                message.set_text("Paste the token your operator or GM gave you (evt_…).")
                return
            try:
                who = await run.io_bound(hello, _server["url"], value)
            except LinkError as exc:
                message.set_text(error_text(exc))
                return
            if who is None:
                return
            remember(value, who)
            ui.navigate.to("/")

        token.on("keydown.enter", submit)
        ui.button("Log in", on_click=submit).props("data-test=login")


@ui.page("/")
async def campaigns_page() -> None:
    link = require_login()
    if link is None:
        return
    frame("Campaigns", link)
    from .table import campaign_list

    await campaign_list(link)


@ui.page("/campaign/{campaign_id}")
async def table_page(campaign_id: str, post: int | None = None) -> None:
    link = require_login()
    if link is None:
        return
    frame(campaign_id, link)
    from .table import table_view

    await table_view(link, campaign_id, focus=post)


@ui.page("/campaign/{campaign_id}/setup")
async def setup_page(campaign_id: str, request: Request) -> None:
    link = require_login()
    if link is None:
        return
    frame(f"{campaign_id} · setup", link)
    if not link.who.gm:
        ui.label("Setting up a campaign is for its GM.").classes("text-negative")
        return
    from .setup import setup_view

    await setup_view(link, campaign_id, f"{request.url.scheme}://{request.url.netloc}")


@ui.page("/join/{campaign_id}/{code}")
async def join(campaign_id: str, code: str) -> None:
    frame("Join a table", current())
    from .join import join_page

    await join_page(_server["url"], campaign_id, code, remember)


@ui.page("/campaign/{campaign_id}/encounter/{n}")
async def encounter_page(campaign_id: str, n: int) -> None:
    link = require_login()
    if link is None:
        return
    frame(f"{campaign_id} · encounter {n}", link)
    from .encounter import encounter_view

    await encounter_view(link, campaign_id, n)


@ui.page("/strategy/{game_id}")
async def strategy_page(game_id: str) -> None:
    link = require_login()
    if link is None:
        return
    frame(f"strategy {game_id}", link)
    from .strategy import strategy_view

    await strategy_view(link, game_id)


@ui.page("/console")
async def console_page(request: Request) -> None:
    link = require_login()
    if link is None:
        return
    frame("Operator console", link)
    if not link.who.operator:
        ui.label("The console is for operator tokens.").classes("text-negative")
        return
    from .console import console

    await console(link, f"{request.url.scheme}://{request.url.netloc}")


async def _exit_with(parent: int) -> None:
    """Started by ``everturn serve``: stop when the server is gone, even after its kill -9 (we are re-parented)."""
    while os.getppid() == parent:
        await asyncio.sleep(1.0)
    app.shutdown()


def run_ui(server: str, host: str = "127.0.0.1", port: int = DEFAULT_PORT, storage_secret: str | None = None,
           exit_with_parent: bool = False) -> None:
    """Serve the UI (blocks until SIGINT/SIGTERM)."""
    _server["url"] = server.rstrip("/")
    if exit_with_parent:
        parent = os.getppid()
        app.on_startup(lambda: background_tasks.create(_exit_with(parent), name="exit with the server"))
    os.environ.setdefault("NICEGUI_STORAGE_PATH", tempfile.mkdtemp(prefix="everturn-ui-"))
    ui.run(host=host, port=port, title="Everturn", reload=False, show=False, favicon="🎲",
           storage_secret=storage_secret or secrets.token_hex(32), reconnect_timeout=10.0, fastapi_docs=False,
           uvicorn_logging_level="warning",
           timeout_graceful_shutdown=3)  # open browser tabs would otherwise hold a stop for 30 s
