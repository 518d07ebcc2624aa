"""The web UI in real headless Chromium against a real server started by ``everturn serve``."""
from __future__ import annotations

import time

from playwright.sync_api import expect

from .conftest import TOKEN, UI_READY, Served, free_port, log_in, screenshot, start

CHARACTER = {"name": "Ayla", "level": 3, "max_hp": 40, "hp": 31, "ac": 19,
             "saves": {"fortitude": 8, "reflex": 9, "will": 6}, "perception": 9,
             "conditions": ["frightened 1"], "strikes": [{"name": "longsword", "attack": 9, "damage": "1d8+4"}]}


def seat(served, campaign: str) -> tuple[str, str]:
    """A campaign with a GM, one player and a 24 h story deadline; returns (gm token, player token)."""
    gm = served.token(role="gm", campaign=campaign)
    player = served.token(role="player", campaign=campaign, character="ayla")
    with served.http(gm) as http:
        assert http.post(f"/api/v1/actors/campaign/{campaign}/commands",
                         json={"type": "CreateCampaign", "data": {"title": "The Sunken Crown"}}).status_code == 200
    with served.http(player) as http:
        assert http.post(f"/api/v1/actors/campaign/{campaign}/commands",
                         json={"type": "JoinCampaign", "data": {"character": CHARACTER}}).status_code == 200
    with served.http(gm) as http:
        assert http.post(f"/api/v1/actors/campaign/{campaign}/commands", json={
            "type": "SetDeadline", "data": {"deadline_id": "ritual", "in_hours": 24,
                                            "consequence": "The ritual completes."}}).status_code == 200
    return gm, player


def test_a_bad_token_is_refused_with_a_reason(served, page):
    page.goto(served.ui + "/campaign/anything")
    page.wait_for_url(served.ui + "/login")                   # not logged in: sent to the login page
    page.fill("input[data-test=token]", "evt_nope_nope")
    page.click("[data-test=login]")
    page.wait_for_selector("[data-test=login-error]:has-text('auth/invalid')")
    screenshot(page, "login")


def test_the_table_shows_posts_live_and_the_gm_countdowns_tick(served, page):
    gm, player = seat(served, "c1")
    log_in(page, served, gm)
    page.wait_for_selector("[data-test=campaign-c1]")
    screenshot(page, "campaigns")
    page.click("text=The Sunken Crown")
    page.wait_for_url(served.ui + "/campaign/c1")
    page.wait_for_selector("[data-test=connection]:has-text('live')")
    page.wait_for_selector("[data-test=player-ayla]:has-text('31 / 40 HP')")
    assert "frightened 1" in page.inner_text("[data-test=party]")

    # a post made through the API appears in the open feed within a second, markdown rendered, scripts not run
    text = "I **wade** into the pool <img src=x onerror=\"window.__pwned=1\">"
    with served.http(player) as http:
        response = http.post("/api/v1/actors/campaign/c1/commands", json={"type": "PostAction", "data": {"text": text}})
        assert response.status_code == 200, response.text
        sent = time.monotonic()
    post = page.wait_for_selector("[data-test=feed] >> text=into the pool", timeout=1000)
    seen = time.monotonic() - sent
    assert seen < 1.0, f"the post took {seen:.2f} s to appear"
    assert post.evaluate("node => node.closest('.q-card').querySelector('strong')?.textContent") == "wade"
    assert page.evaluate("window.__pwned") is None

    # the GM status countdown to the deadline ticks on its own
    countdown = page.locator("[data-test=countdowns] >> text=Deadline ritual").locator("xpath=..").locator(
        "[data-test=countdown]")
    countdown.wait_for()
    first = countdown.inner_text()
    assert first.startswith("in 23h 59m")
    expect(countdown).not_to_have_text(first, timeout=5000)     # ticks once a second
    assert countdown.inner_text().startswith("in 23h 59m")
    screenshot(page, "table")

    # the composer: the GM narrates, a player rolls; both come back through the stream
    page.fill("textarea[data-test=composer]", "The water is *cold*.")
    page.click("[data-test=post]")
    page.wait_for_selector("[data-test=feed] >> text=The water is")
    with served.http(player) as http:
        assert http.post("/api/v1/actors/campaign/c1/commands",
                         json={"type": "RollDice", "data": {"expression": "1d20+9", "reason": "Athletics"}}
                         ).status_code == 200
    page.wait_for_selector("[data-test=roll-1]:has-text('Athletics')")
    with served.http(gm) as http:                                # the party panel shows who only follows
        assert http.post("/api/v1/actors/campaign/c1/commands",
                         json={"type": "MarkFollowing", "data": {"player_id": "ayla"}}).status_code == 200
    page.wait_for_selector("[data-test=badge-ayla]:has-text('following')")
    page.fill("input[data-test=dice]", "2d6+banana")
    page.click("[data-test=roll]")
    page.wait_for_selector(".q-notification:has-text('command/invalid')")
    assert "cannot read '2d6+banana' as dice" in page.inner_text(".q-notification")   # why, not only that it failed


def test_the_console_restarts_an_actor_and_its_restart_count_changes(served, page):
    seat(served, "c2")
    log_in(page, served, served.operator)
    page.goto(served.ui + "/console")
    page.wait_for_selector("[data-test=actors] >> text=campaign/c2")
    page.fill("input[data-test=filter]", "c2")
    row = page.locator("[data-test=actors] tbody tr", has_text="campaign/c2")
    restarts = row.locator("td").nth(7)
    before = int(restarts.inner_text())
    row.locator(".q-checkbox").click()                         # select it
    page.wait_for_selector("[data-test=target]:has-text('campaign/c2')")
    page.wait_for_selector("[data-test=journal] >> text=CampaignCreated")
    screenshot(page, "console")
    page.click("[data-test=restart]")
    page.wait_for_function(
        "([before]) => { const row = [...document.querySelectorAll('[data-test=actors] tbody tr')]"
        ".find(r => r.textContent.includes('campaign/c2'));"
        " return row && Number(row.querySelectorAll('td')[7].textContent) === before + 1; }",
        arg=[before], timeout=10000)
    screenshot(page, "console-after-restart")
    page.click("text=Dead letters")
    page.click("text=Load dead letters")
    page.wait_for_selector("[data-test=dead-letters] >> text=No dead letters.")
    page.click("text=Headless runs")                                   # AI games in worker processes
    page.fill("input[data-test=run-games]", "2")
    page.fill("input[data-test=run-turns]", "5")
    page.click("[data-test=run-start]")
    page.wait_for_selector("[data-test=run-status]:has-text('2/2 games')", timeout=60_000)
    page.wait_for_selector("[data-test=run-summary] >> text=game length")
    assert "records in" in page.inner_text("[data-test=run-status]")


def test_the_console_moves_a_virtual_clock_and_the_deadline_lands(virtual, page):
    seat(virtual, "v1")
    log_in(page, virtual, virtual.operator)
    page.goto(virtual.ui + "/console")
    page.wait_for_selector("[data-test=clock]")
    page.click("[data-test=advance-86400]")
    page.wait_for_selector("[data-test=clock-now]:has-text('timers fired')")
    screenshot(page, "console-virtual-clock")
    with virtual.http() as http:
        posts = http.get("/api/v1/actors/campaign/v1").json()["state"]["posts"]
    assert "The ritual completes." in [p["text"] for p in posts]
    page.goto(virtual.ui + "/campaign/v1")
    page.wait_for_selector("[data-test=feed] >> text=The ritual completes.")


def test_the_ui_reconnects_to_a_restarted_server_and_misses_nothing(tmp_path, page):
    api_port, ui_port = free_port(), free_port()
    serve_args = ("serve", "--no-ui", "--data", str(tmp_path / "data"), "--port", str(api_port))
    server, found = start(*serve_args, wait_for=(TOKEN, r"everturn: (serving)"), cwd=tmp_path)
    ui_process, _ = start("ui", "--server", f"http://127.0.0.1:{api_port}", "--port", str(ui_port),
                          wait_for=(UI_READY,), cwd=tmp_path)
    served = Served(f"http://127.0.0.1:{api_port}", f"http://127.0.0.1:{ui_port}", found[TOKEN], [ui_process, server])
    try:
        _, player = seat(served, "r1")
        log_in(page, served, player)                             # a player: the composer posts actions
        page.goto(served.ui + "/campaign/r1")
        page.wait_for_selector("[data-test=connection]:has-text('live')")
        page.fill("textarea[data-test=composer]", "I light the lantern")
        page.click("[data-test=post]")
        page.wait_for_selector("[data-test=post-1]:has-text('I light the lantern')")

        server.kill()                                            # kill -9: the UI's stream drops
        server.wait()
        page.wait_for_selector("[data-test=connection]:has-text('reconnecting')")
        server, _ = start(*serve_args, wait_for=(r"everturn: (serving)",), cwd=tmp_path)
        served.processes[1] = server
        with served.http(player) as http:                        # at once: the UI may not be back yet
            for n in range(2, 6):
                response = http.post("/api/v1/actors/campaign/r1/commands",
                                     json={"type": "PostAction", "data": {"text": f"step {n}"}})
                assert response.status_code == 200, response.text
        page.wait_for_selector("[data-test=connection]:has-text('live')", timeout=15000)
        page.wait_for_selector("[data-test=post-5]:has-text('step 5')")
        shown = page.eval_on_selector_all("[data-test=feed] [data-test^=post-]",
                                          "nodes => nodes.map(n => n.dataset.test)")
        assert shown == [f"post-{n}" for n in range(1, 6)]        # every post once, in order: no gap, no repeat
        screenshot(page, "table-after-reconnect")
    finally:
        served.stop()


def test_a_gm_rates_and_starts_an_encounter_and_acts_in_the_tracker(served, page):
    gm, _ = seat(served, "c3")
    log_in(page, served, gm)
    page.goto(served.ui + "/campaign/c3")
    page.wait_for_selector("[data-test=connection]:has-text('live')")
    page.click("text=Build an encounter")
    page.click("[data-test=estimate]")
    result = page.wait_for_selector("[data-test=estimate-result]:has-text('threat')")
    assert "party wins" in result.inner_text() and "XP for 1 level-3" in result.inner_text()
    page.click("[data-test=start-encounter]")
    page.click("[data-test=open-encounter]")
    page.wait_for_url(served.ui + "/campaign/c3/encounter/1")
    page.wait_for_selector("[data-test=connection]:has-text('live')")
    page.wait_for_selector("[data-test=combatant-npc-1]:has-text('Goblin 1')")
    left = page.wait_for_selector("[data-test=actions-left]")        # the goblins played themselves: Ayla's turn
    assert left.inner_text() == "3 action(s) left · next strike +0"
    page.click("[data-test=target]")
    page.click(".q-menu >> text=Goblin 1")
    page.click("[data-test=strike]")
    page.wait_for_selector("[data-test=action-result]:has-text('Ayla: strike')")
    page.wait_for_selector("[data-test=actions-left]:has-text('2 action(s) left · next strike -5')")
    page.fill("input[data-test=zone]", "melee")
    page.click("[data-test=stride]")                                  # already there: refused, shown inline
    page.wait_for_selector("[data-test=action-error]:has-text('combat/same_zone')")
    page.click("text=GM: adjust a combatant")                        # the GM applies what the rules don't see
    page.click("[data-test=target]")
    page.click(".q-menu >> text=Ayla")
    page.click("[data-test=condition]")
    page.click(".q-menu >> text=sickened")
    page.click("[data-test=apply-adjust]")
    page.wait_for_selector("[data-test=combatant-ayla]:has-text('sickened 1')")
    page.wait_for_selector(".q-menu", state="detached")
    screenshot(page, "encounter")



def test_a_player_sees_the_star_map_and_submits_orders_with_errors_inline(served, page):
    gm = served.token(role="gm", campaign="s1")
    ann = served.token(role="player", campaign="s1", character="ann")
    with served.http(gm) as http:
        assert http.post("/api/v1/actors/strategy/s1/commands", json={"type": "CreateGame", "data": {
            "rings": 3, "houses": 3, "seed": 5, "turn_deadline_s": 3600}}).status_code == 200
    log_in(page, served, ann)
    page.goto(served.ui + "/strategy/s1")
    page.wait_for_selector("[data-test=connection]:has-text('live')")
    page.click("[data-test=join]")
    page.wait_for_selector("[data-test=game-title]:has-text('you are house 0')")
    page.wait_for_selector("[data-test=star-map] canvas")
    assert "resolves in 59m" in page.inner_text("[data-test=turn-countdown]")
    page.click("[data-test=order-kind]")
    page.click(".q-menu >> text=move")
    page.fill("input[data-test=order-fleet]", "999")
    page.fill("input[data-test=order-system]", "0")
    page.click("[data-test=add-order]")
    page.click("[data-test=submit-orders]")                            # refused, every reason shown
    page.wait_for_selector("[data-test=order-errors]:has-text('strategy/no_such_fleet')")
    page.reload()                                                       # a fresh form
    page.wait_for_selector("[data-test=game-title]:has-text('Turn 1')")
    page.fill("input[data-test=order-amount]", "35")                  # set_tax is the default order
    page.click("[data-test=add-order]")
    page.click("[data-test=submit-orders]")                            # the only player: the turn resolves
    page.wait_for_selector("[data-test=game-title]:has-text('Turn 2')")
    page.wait_for_selector("[data-test=houses]:has-text('tax 35%')")
    houses = page.inner_text("[data-test=houses]").splitlines()           # the fog of war: others' treasuries hidden
    assert [("PP" in line) for line in houses if line.startswith("House")] == [True, False, False]
    screenshot(page, "strategy")


def test_a_browser_speaks_the_websocket_protocol_to_the_server_directly(served, page):
    """Chromium's own WebSocket (its handshake offers permessage-deflate and sends an Origin)
    against the lean edge that serves /ws: hello, welcome, a subscription's snapshot, ping, pong."""
    seat(served, "c9")
    page.goto(served.ui + "/login")  # any http origin (the API's own pages forbid connections by CSP)
    seen = page.evaluate("""([url, token]) => new Promise((resolve, reject) => {
        const ws = new WebSocket(url), seen = [];
        ws.onopen = () => ws.send(JSON.stringify({type: "hello", token, client: "chromium"}));
        ws.onmessage = (e) => {
            const m = JSON.parse(e.data);
            if (m.type === "heartbeat") return;
            seen.push(m.type);
            if (m.type === "welcome") ws.send(JSON.stringify({type: "subscribe", topic: "campaign/c9"}));
            if (m.type === "snapshot") ws.send(JSON.stringify({type: "ping"}));
            if (m.type === "pong") { ws.close(1000); resolve(seen); }
        };
        ws.onclose = (e) => reject(`closed ${e.code} after ${seen}`);
        setTimeout(() => reject(`no pong after ${seen}`), 10000);
    })""", [served.api.replace("http://", "ws://", 1) + "/ws", served.operator])
    assert seen == ["welcome", "snapshot", "pong"]
