"""Telling a person at the table what concerns them while they look elsewhere: browser notifications.

The page folds every event itself (``ui.live``), so it asks the campaign's own
``actors.campaign.notices`` what each event means and shows a system notification for those meant
for this viewer, when the tab is in the background and the person allowed it.  Every notice is also
kept in ``window.__everturnNotices`` (what the browser tests read).
"""
from __future__ import annotations

import json
from typing import Any

from nicegui import ui

from actors.campaign.notices import TABLE, Notice, notices
from actors.campaign.state import GM
from actors.roles import is_gm

SCRIPT = """<script>
window.everturnNotify = (title, body, tag) => {
  (window.__everturnNotices = window.__everturnNotices || []).push({title, body, tag, hidden: document.hidden});
  if (document.hidden && 'Notification' in window && Notification.permission === 'granted') {
    new Notification(title, {body, tag});
  }
};
</script>"""


def for_viewer(found: list[Notice], viewer: dict[str, Any]) -> list[Notice]:
    """The notices meant for this viewer right now (not reminders: those wait for their time on the server)."""
    me = GM if is_gm(viewer) else viewer.get("character")
    return [n for n in found if n.not_before is None and (me in n.to or (me == GM and TABLE in n.to and
                                                                          n.kind == "your_turn"))]


class BrowserAlerts:
    """The page's notifications: a switch to allow them, and ``tell`` for each batch of folded events."""

    def __init__(self, viewer: dict[str, Any]) -> None:
        self.viewer = viewer
        self.client = ui.context.client  # tell() runs in the page's stream task, outside any page context
        ui.add_head_html(SCRIPT)

    def switch(self) -> None:
        ui.button("Notify me in this browser", icon="notifications", on_click=self.allow).props(
            "flat dense no-caps data-test=allow-notifications")

    async def allow(self) -> None:
        answer = await ui.run_javascript("'Notification' in window ? Notification.requestPermission() : 'unsupported'",
                                         timeout=30.0)
        ui.notify({"granted": "Notifications are on while this tab is in the background.",
                   "denied": "The browser refused notifications (its site settings can allow them)."}.get(
            str(answer), "This browser cannot show notifications."))

    def tell(self, changes: list[tuple[Any, Any, Any]], now: float) -> None:
        for before, event, after in changes:
            for notice in for_viewer(notices(before, event, after, now), self.viewer):
                self.client.run_javascript(f"everturnNotify({json.dumps(notice.title)}, {json.dumps(notice.text)}, "
                                  f"{json.dumps(notice.kind)})")
