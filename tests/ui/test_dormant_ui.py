"""A silent table in the browser (issue 20): the campaign list and the GM's view say it is dormant
and what wakes it; a player's action does."""
from __future__ import annotations

from .conftest import log_in, screenshot
from .test_browser import seat

DAY = 86400


def test_a_dormant_campaign_says_so_in_the_list_and_the_gm_status_and_a_player_wakes_it(virtual, page):
    gm, player = seat(virtual, "z1")
    with virtual.http() as http:  # nobody plays: inactive at 24 h, asleep three days later
        answer = http.post("/api/v1/admin/clock/advance", json={"seconds": 5 * DAY})
        assert answer.status_code == 200 and answer.json()["settled"], answer.text
    log_in(page, virtual, gm)
    page.goto(virtual.ui + "/")
    badge = page.locator("[data-test=campaign-z1] [data-test=dormant]")
    badge.wait_for()
    assert badge.inner_text().startswith("dormant since")
    page.goto(virtual.ui + "/campaign/z1")
    page.wait_for_selector("[data-test=next-step]:has-text('Dormant since')")
    screenshot(page, "gm-status-dormant")

    with virtual.http(player) as http:
        assert http.post("/api/v1/actors/campaign/z1/commands",
                         json={"type": "PostAction", "data": {"text": "I'm back at the shrine."}}).status_code == 200
    page.goto(virtual.ui + "/")
    page.wait_for_selector("[data-test=campaign-z1]")
    assert page.locator("[data-test=campaign-z1] [data-test=dormant]").count() == 0
