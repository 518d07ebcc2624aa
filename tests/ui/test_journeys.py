"""Whole journeys in the browser (issue 23), from an empty data directory: the operator hands a GM a token,
the GM sets up and runs a table, a player joins from an invite link on a phone and plays.  The API is
called only to assert what the UI did.  No page may log an error to the browser console."""
from __future__ import annotations

from typing import Any, Iterator

import pytest

from .conftest import ARTIFACTS, Served, log_in, screenshot, serve

PHONE = {"width": 390, "height": 844}


@pytest.fixture(scope="module")
def table(tmp_path_factory) -> Iterator[Served]:
    served = serve(tmp_path_factory.mktemp("journeys"), "--clock", "virtual", "--no-narrator",
                   "--webhooks-allow-private")  # the webhooks' receiver is on this machine
    yield served
    served.stop()


class Console:
    """Every message a page logs at level error, for the test to assert there were none."""

    def __init__(self) -> None:
        self.errors: list[str] = []

    def watch(self, page: Any) -> Any:
        page.on("console", lambda message: self.errors.append(f"{page.url}: {message.text}")
                if message.type == "error" else None)
        page.on("pageerror", lambda error: self.errors.append(f"{page.url}: {error}"))
        return page


@pytest.fixture(scope="module")
def console() -> Console:
    return Console()


@pytest.fixture(scope="module")
def pages(browser, console) -> Iterator[dict[str, Any]]:
    """One browser context per person (each logs in on its own), kept across the journey's steps."""
    made: dict[str, Any] = {}

    def person(name: str, viewport: dict[str, int]) -> Any:
        context = browser.new_context(viewport=viewport, permissions=["notifications"])
        made[name] = console.watch(context.new_page())
        return made[name]

    made["_new"] = person
    yield made
    for name, page in made.items():
        if name != "_new":
            page.context.close()


@pytest.fixture(scope="module")
def handed() -> dict[str, str]:
    """What one person handed the next: a token, a link."""
    return {}


def post_mode(page: Any, mode: str) -> None:
    """Pick the composer's mode and wait until the toggle shows it picked."""
    page.click(f"[data-test=post-mode] >> text={mode}")
    page.wait_for_selector(f"[data-test=post-mode] [aria-pressed=true]:has-text('{mode}')")


def shot(page: Any, name: str) -> None:
    screenshot(page, f"journey-{name}")


def test_1_the_operator_makes_a_gm_token_in_the_console(table, pages, handed, console):
    operator = pages["_new"]("operator", {"width": 1400, "height": 900})
    log_in(operator, table, table.operator)
    operator.goto(table.ui + "/console")
    operator.click("[data-test=tab-access]")
    operator.click("[data-test=token-role]")
    operator.click(".q-menu >> text=gm")
    operator.fill("input[data-test=token-campaign]", "crown")
    operator.click("[data-test=create-token]")
    token = operator.locator("input[data-test=made-token]")
    token.wait_for()
    handed["gm_token"] = token.input_value()
    assert handed["gm_token"].startswith("evt_")
    operator.wait_for_selector("[data-test=tokens] >> text=crown")
    shot(operator, "console-access")
    assert not console.errors, console.errors


def test_2_a_gm_creates_the_campaign_and_sets_up_the_table(table, pages, handed, console):
    gm = pages["_new"]("gm", {"width": 1400, "height": 900})
    log_in(gm, table, handed["gm_token"])
    gm.wait_for_selector("[data-test=new-campaign]")
    shot(gm, "gm-new-campaign")
    gm.fill("input[data-test=new-title]", "The Sunken Crown")
    gm.fill("input[data-test=pace-combat_turn_idle_s]", "2")
    gm.click("[data-test=timezone]")
    gm.keyboard.type("Europe/Berl")
    gm.click(".q-menu >> text=Europe/Berlin")
    gm.click("[data-test=create-campaign]")
    gm.wait_for_url(table.ui + "/campaign/crown/setup")
    gm.wait_for_selector("[data-test=setup-title]:has-text('The Sunken Crown')")

    gm.fill("input[data-test=scene-title]", "The flooded crypt")
    gm.fill("textarea[data-test=scene-description]", "Black water laps at the stairs.")
    gm.click("[data-test=open-scene]")
    gm.wait_for_selector("[data-test=current-scene]:has-text('The flooded crypt')")

    gm.fill("input[data-test=deadline-id]", "ritual")
    gm.fill("textarea[data-test=deadline-consequence]", "The ritual completes; the dead walk.")
    gm.click("[data-test=set-deadline]")
    gm.wait_for_selector("[data-test=deadline-ritual]:has-text('the dead walk')")

    gm.fill("input[data-test=order-id]", "drums")
    gm.fill("textarea[data-test=order-text]", "Drums sound from the ridge.")
    gm.fill("textarea[data-test=order-follow-ups]", "+6h The drums come closer.\n+12h The gate is breached.")
    gm.click("[data-test=schedule-order]")
    gm.wait_for_selector("[data-test=order-drums]:has-text('pending')")

    gm.fill("input[data-test=invite-note]", "Sam")
    gm.click("[data-test=invite]")
    link = gm.locator("input[data-test=invite-link]")
    link.wait_for()
    handed["invite"] = link.input_value()
    assert handed["invite"].startswith(table.ui + "/join/crown/")
    gm.wait_for_selector("[data-test=invite-status-seat-1]:has-text('open')")
    shot(gm, "gm-setup")

    with table.http(handed["gm_token"]) as http:  # what the form sent is what the server holds
        state = http.get("/api/v1/actors/campaign/crown").json()["state"]
    assert state["settings"]["combat_turn_idle_s"] == 7200 and state["settings"]["timezone"] == "Europe/Berlin"
    assert state["scene"]["title"] == "The flooded crypt"
    assert [f["after_hours"] for f in state["orders"]["drums"]["follow_ups"]] == [6, 12]
    assert state["deadlines"]["ritual"]["due"] == pytest.approx(state["created_at"] + 24 * 3600, abs=5)

    gm.fill("input[data-test=pace-exploration_idle_s]", "6")  # and change it later
    gm.click("[data-test=save-settings]")
    gm.wait_for_selector(".q-notification:has-text('Settings saved')")
    with table.http(handed["gm_token"]) as http:
        assert http.get("/api/v1/actors/campaign/crown").json()["state"]["settings"]["exploration_idle_s"] == 21600
    assert not console.errors, console.errors


def test_3_a_player_joins_from_the_link_on_a_phone_and_plays(table, pages, handed, console):
    player = pages["_new"]("player", PHONE)
    player.goto(handed["invite"])
    player.click("[data-test=claim]")
    player.locator("input[data-test=claimed-token]").wait_for()
    shot(player, "phone-claimed")
    player.click("[data-test=to-table]")
    player.wait_for_url(table.ui + "/campaign/crown")
    player.wait_for_selector("[data-test=sheet]")
    player.fill("input[data-test=sheet-name]", "Ayla")
    player.fill("input[data-test=sheet-ancestry]", "Elf")
    player.fill("input[data-test=sheet-class]", "Rogue")
    player.fill("input[data-test=sheet-max_hp]", "30")
    player.fill("input[data-test=sheet-skills]", "Stealth +9, Thievery +8")
    player.fill("textarea[data-test=sheet-strikes]", "Shortsword +9 1d6+3 piercing agile finesse\nShortbow +8 1d6 "
                "piercing ranged")
    shot(player, "phone-sheet")
    player.click("[data-test=sheet-join]")
    player.wait_for_selector("[data-test=player-seat-1]:has-text('Elf Rogue 1')")
    player.wait_for_selector("textarea[data-test=composer]")

    player.fill("textarea[data-test=composer]", "I sneak down the stairs.")
    player.fill("input[data-test=post-roll]", "1d20+9")
    player.click("[data-test=post]")
    post = player.locator("[data-test=feed] .q-card", has_text="I sneak down the stairs")
    post.locator("[data-test=roll-total]").wait_for()

    post_mode(player, "Out of character")
    player.fill("textarea[data-test=composer]", "brb, coffee")
    player.click("[data-test=post]")
    player.wait_for_selector("[data-test=feed] >> text=brb, coffee")

    post_mode(player, "Whisper")
    player.click("[data-test=whisper-to]")
    player.click(".q-menu >> text=GM")
    player.keyboard.press("Escape")
    player.fill("textarea[data-test=composer]", "I pocket the ring.")
    player.click("[data-test=post]")
    player.wait_for_selector("[data-test=feed] >> text=I pocket the ring")
    player.wait_for_selector("[data-test=my-clocks] >> text=The ritual completes")
    shot(player, "phone-table")
    width = player.evaluate("document.documentElement.scrollWidth")
    assert width <= PHONE["width"], f"the table is {width} px wide on a {PHONE['width']} px phone"

    with table.http(handed["gm_token"]) as http:
        posts = http.get("/api/v1/actors/campaign/crown").json()["state"]["posts"]
    mine = [(p["kind"], p["text"]) for p in posts if p["author"] == "seat-1"]
    assert mine == [("action", "I sneak down the stairs."), ("ooc", "brb, coffee"), ("whisper", "I pocket the ring.")]
    assert [p for p in posts if p["author"] == "seat-1"][0]["roll"]["expression"] == "1d20+9"
    assert not console.errors, console.errors


def test_4_the_gm_sees_the_whisper_answers_as_an_npc_and_a_player_edits(table, pages, console):
    gm = pages["gm"]
    gm.goto(table.ui + "/campaign/crown")
    gm.wait_for_selector("[data-test=feed] >> text=I pocket the ring")
    post_mode(gm, "As an NPC")
    gm.fill("input[data-test=speaker]", "Crypt warden")
    gm.fill("textarea[data-test=composer]", "Who walks my halls?")
    gm.click("[data-test=post]")
    gm.wait_for_selector("[data-test=feed] .q-card:has-text('Who walks my halls') >> text=Crypt warden")

    player = pages["player"]
    player.wait_for_selector("[data-test=feed] >> text=Who walks my halls")
    card = player.locator("[data-test=feed] .q-card", has_text="I sneak down the stairs")
    card.locator("[data-test^=edit-]").click()
    player.fill("textarea[data-test=edit-text]", "I creep down the stairs.")
    player.click("[data-test=edit-save]")
    player.wait_for_selector("[data-test=feed] >> text=I creep down the stairs")
    gm.wait_for_selector("[data-test=feed] >> text=I creep down the stairs")
    gm.locator("[data-test^=history-]").first.wait_for()

    player.click("[data-test=feed-filter] >> text=Whispers")
    player.wait_for_selector("[data-test=feed] >> text=Who walks my halls", state="detached")
    player.wait_for_selector("[data-test=feed] >> text=I pocket the ring")
    player.click("[data-test=feed-filter] >> text=Everything")
    shot(gm, "gm-table")
    shot(player, "phone-table-after-edit")
    assert not console.errors, console.errors
    assert (ARTIFACTS / "journey-gm-setup.png").exists()


def test_5_nobody_misses_their_turn_webhooks_and_browser_notifications(table, pages, console, receiver):
    gm, player = pages["gm"], pages["player"]
    gm.goto(table.ui + "/campaign/crown/setup")
    gm.fill("input[data-test=webhook-url]", receiver.url + "/table")
    gm.click("[data-test=add-webhook]")
    gm.locator("input[data-test=webhook-secret]").wait_for()

    player.click("[data-test=my-webhooks]")
    player.fill("input[data-test=webhook-url]", receiver.url + "/ayla")
    player.click("[data-test=add-webhook]")
    player.locator("input[data-test=webhook-secret]").wait_for()

    gm.goto(table.ui + "/campaign/crown")
    gm.click("[data-test=builder]")
    gm.click("text=Or make one up")
    gm.fill("input[data-test=npc-count]", "1")
    gm.click("[data-test=start-encounter]")
    heard = {}
    while {"/hook/table", "/hook/ayla"} - heard.keys():
        got = receiver.next(timeout=20)
        if got["headers"]["X-Everturn-Event"] == "your_turn":
            heard[got["path"]] = got
    assert b"It is Ayla's turn" in heard["/hook/ayla"]["body"]
    player.wait_for_function("(window.__everturnNotices || []).some(n => n.tag === 'your_turn')", timeout=10_000)
    told = player.evaluate("window.__everturnNotices.filter(n => n.tag === 'your_turn')[0]")
    assert told["body"].startswith("It is Ayla's turn")

    gm.goto(table.ui + "/campaign/crown/setup")
    gm.wait_for_selector("[data-test=webhook-delivery]:has-text('delivered')")
    shot(gm, "gm-setup-webhooks")
    shot(player, "phone-table-encounter")
    assert not console.errors, console.errors


def test_6_the_gm_runs_a_fight_from_the_bestiary_and_the_player_strikes_with_a_chosen_weapon(table, pages, console):
    gm, player = pages["gm"], pages["player"]
    gm.goto(table.ui + "/campaign/crown/setup")
    gm.fill("input[data-test=creature-name]", "Bog mummy")
    gm.fill("input[data-test=creature-max_hp]", "30")
    gm.fill("textarea[data-test=creature-strikes]", "Claw +9 1d6+3 slashing\nSpit +7 1d4 acid ranged")
    gm.click("[data-test=save-creature]")
    gm.wait_for_selector("[data-test=creature-bog-mummy]:has-text('Claw +9')")

    gm.goto(table.ui + "/campaign/crown/encounter/1")  # the fight of the notifications ends first
    gm.click("[data-test=gm-adjust]")
    gm.click("[data-test=end-encounter]")
    gm.goto(table.ui + "/campaign/crown")
    gm.wait_for_selector("[data-test=feed] >> text=Encounter 1 is over")  # the feed's summary of it
    gm.click("[data-test=builder]")
    gm.click("[data-test=pick-creature]")
    gm.click(".q-menu >> text=Bog mummy")
    gm.click("[data-test=by-hand]")
    gm.click("[data-test=add-creature]")
    gm.wait_for_selector("[data-test=roster] >> text=1 × Bog mummy · the GM runs it")
    gm.click("[data-test=estimate]")
    gm.wait_for_selector("[data-test=estimate-result]:has-text('party wins')")
    gm.click("[data-test=start-encounter]")
    gm.click("[data-test=open-encounter]")
    gm.wait_for_url(table.ui + "/campaign/crown/encounter/2")
    player.goto(table.ui + "/campaign/crown/encounter/2")

    acted = set()
    for _ in range(4):  # whoever's turn it is acts, until both did
        title = gm.wait_for_selector("[data-test=encounter-title]:has-text('turn')").inner_text()
        if "Ayla's turn" in title:
            page, target, weapon, who = player, "Bog mummy", "Shortbow", "Ayla"
        else:
            page, target, weapon, who = gm, "Ayla", "Spit", "Bog mummy"
        page.wait_for_selector("[data-test=connection]:has-text('live')")
        page.click("[data-test=target]")
        page.click(f".q-menu >> text={target}")
        page.click("[data-test=weapon]")
        page.click(f".q-menu >> text={weapon}")
        page.click("[data-test=strike]")
        page.wait_for_selector(f"[data-test=action-result]:has-text('{who}: strike {weapon}')")
        page.click("[data-test=end-turn]")
        acted.add(who)
        if len(acted) == 2:
            break
        gm.wait_for_selector(f"[data-test=encounter-title]:not(:has-text(\"{who}'s turn\"))")
    assert acted == {"Ayla", "Bog mummy"}
    gm.wait_for_selector("[data-test=combat-log] >> text=Shortbow")
    shot(player, "phone-tracker")
    gm.click("[data-test=gm-adjust]")
    gm.click("[data-test=end-encounter]")
    gm.goto(table.ui + "/campaign/crown")
    gm.wait_for_selector("[data-test=feed] >> text=Encounter 2 is over")
    shot(gm, "gm-after-fight")
    assert not console.errors, console.errors


NODE_AT = """([color, nth]) => {
  const el = document.querySelector('[data-test=star-map]');
  const chart = getElement(el).chart;
  const nodes = chart.getOption().series[0].data.filter(n => !color || n.itemStyle.color === color);
  const node = nodes[nth];
  const [x, y] = chart.convertToPixel({seriesIndex: 0}, [node.x, node.y]);
  const box = el.getBoundingClientRect();
  return {name: node.name, x: box.left + x, y: box.top + y};
}"""


def player_token(operator: Any, campaign: str, character: str) -> str:
    """A player token made on the console's Access tab (open), as shown once."""
    operator.click("[data-test=token-role]")
    operator.click(".q-menu >> text=player")
    operator.fill("input[data-test=token-campaign]", campaign)
    operator.fill("input[data-test=token-character]", character)
    operator.click("[data-test=create-token]")
    made = operator.locator("input[data-test=made-token]")
    made.wait_for()
    return str(made.input_value())


def test_7_a_strategy_player_orders_by_clicking_the_map(table, pages, browser, console):
    operator = pages["operator"]  # the operator starts a game and gives a player its token, in the browser
    operator.goto(table.ui + "/")
    operator.click("[data-test=start-game]")
    operator.fill("input[data-test=game-id]", "realm")
    operator.fill("input[data-test=game-houses]", "3")
    operator.fill("input[data-test=game-hours]", "1")
    operator.click("[data-test=create-game]")
    try:
        operator.wait_for_url(table.ui + "/strategy/realm", timeout=10000)
    except Exception:
        shot(operator, "failed-create-game")  # what the page said, for the person reading the failure
        raise
    operator.goto(table.ui + "/console")
    operator.click("[data-test=tab-access]")
    ann = player_token(operator, "realm", "ann")
    page = console.watch(browser.new_context(viewport={"width": 1400, "height": 900}).new_page())
    log_in(page, table, ann)
    page.click("[data-test=game-realm] >> text=Strategy game realm")
    page.wait_for_url(table.ui + "/strategy/realm")
    page.click("[data-test=join]")
    page.wait_for_selector("[data-test=game-title]:has-text('you are house 0')")
    page.wait_for_selector("[data-test=star-map] canvas")
    page.wait_for_timeout(300)  # the chart draws its new options on the next frame

    home = page.evaluate(NODE_AT, ["#e15759", 0])  # house 0's colour: its home colony
    page.mouse.click(home["x"], home["y"])
    page.wait_for_selector(f"[data-test=map-hint]:has-text('System {home['name']}')")
    fleet = page.locator("[data-test^=pick-fleet-]").first
    fleet_id = fleet.get_attribute("data-test").removeprefix("pick-fleet-")
    fleet.click()
    page.wait_for_selector(f"[data-test=map-hint]:has-text('Fleet {fleet_id} chosen')")
    page.wait_for_timeout(300)
    target = next(node for node in (page.evaluate(NODE_AT, [None, i]) for i in range(6))
                  if node["name"] != home["name"])
    page.mouse.click(target["x"], target["y"])
    page.wait_for_selector(f"[data-test=staged-orders] >> text=fleet {fleet_id}: move to system {target['name']}")
    page.mouse.click(home["x"], home["y"])
    page.click("[data-test=build-ship]")
    page.click(".q-menu >> text=scout (70 PP)")
    page.click("[data-test=add-build]")
    page.wait_for_selector(f"[data-test=staged-orders] >> text=build 1 scout at system {home['name']}")
    shot(page, "strategy-orders")
    page.click("[data-test=submit-orders]")
    page.wait_for_selector("[data-test=game-title]:has-text('Turn 2')")
    report = page.wait_for_selector("[data-test=turn-report]:has-text('Turn 1 resolved')").inner_text()
    assert f"Ordered: fleet {fleet_id}: move to system {target['name']}" in report
    shot(page, "strategy-report")
    with table.http() as http:  # what the clicks sent is what the game resolved
        events = http.get("/api/v1/actors/strategy/realm/events").json()["items"]
    resolved = next(e for e in events if e["type"] == "TurnResolved")["data"]["orders"]["0"]
    assert {"kind": "move", "fleet": int(fleet_id), "system": int(target["name"])} in resolved
    assert {"kind": "build", "system": int(home["name"]), "ship": "scout"} in resolved
    assert not console.errors, console.errors
    page.context.close()


def test_8_the_operator_sees_who_is_connected_makes_an_invite_link_and_revokes_a_token(table, pages, console):
    operator, player = pages["operator"], pages["player"]
    player.goto(table.ui + "/campaign/crown")  # the player is at the table
    player.wait_for_selector("[data-test=connection]:has-text('live')")
    operator.goto(table.ui + "/console")
    operator.click("[data-test=tab-access]")
    operator.wait_for_selector("[data-test=sessions] >> text=crown · seat-1")
    assert "campaign/crown" in operator.inner_text("[data-test=sessions]")

    operator.fill("input[data-test=invite-campaign]", "crown")
    operator.click("[data-test=make-invite]")
    link = operator.locator("input[data-test=console-invite-link]")
    link.wait_for()
    assert "/join/crown/" in link.input_value()

    token_id = player_token(operator, "crown", "seat-9").split("_")[1]
    operator.locator("[data-test=tokens] tr", has_text=token_id).locator(".q-checkbox").click()
    operator.click("[data-test=revoke-token]")
    operator.wait_for_selector(f"[data-test=tokens] >> text={token_id}", state="detached")
    with table.http() as http:
        assert token_id not in str(http.get("/api/v1/admin/tokens").json())
    shot(operator, "console-access-after")
    operator.click("[data-test=tab-bridges]")  # no VTT world has a bridge here: an empty table, no error
    operator.wait_for_selector("[data-test=bridges]")
    assert not console.errors, console.errors


def test_9_a_player_away_from_the_table_sees_what_is_new(table, pages, console):
    gm, player = pages["gm"], pages["player"]
    player.goto(table.ui + "/")
    player.wait_for_selector("[data-test=campaign-crown]")
    assert player.locator("[data-test=unread-crown]").count() == 0  # everything was read at the table
    gm.goto(table.ui + "/campaign/crown")
    post_mode(gm, "Narrate")
    gm.fill("textarea[data-test=composer]", "The water rises. @Ayla, the stairs are flooding.")
    gm.click("[data-test=post]")
    gm.wait_for_selector("[data-test=feed] >> text=The water rises")
    player.reload()
    player.wait_for_selector("[data-test=unread-crown]:has-text('1 new')")
    shot(player, "phone-campaigns-unread")
    player.click("text=The Sunken Crown")
    player.wait_for_selector("[data-test=feed] >> text=The water rises")
    player.goto(table.ui + "/")
    player.wait_for_selector("[data-test=campaign-crown]")
    assert player.locator("[data-test=unread-crown]").count() == 0
    assert not console.errors, console.errors


def test_10_the_gm_connects_a_foundry_world(table, pages, console):
    gm = pages["gm"]
    gm.goto(table.ui + "/campaign/crown/setup")
    manifest = gm.locator("input[data-test=vtt-manifest]")
    gm.wait_for_function("document.querySelector('input[data-test=vtt-manifest]').value.endsWith('/module.json')")
    with table.http() as http:  # what Foundry's Install Module dialog fetches
        module = http.get(manifest.input_value()).json()
    assert module["id"] == "everturn-bridge" and module["download"].startswith(table.api)

    gm.click("[data-test=vtt-make-token]")
    token = gm.locator("input[data-test=vtt-token]")
    token.wait_for()
    with table.http(token.input_value()) as bridge:  # the module in a GM's browser, connecting
        polled = bridge.get("/api/v1/campaigns/crown/bridge/sunken-crown/events", params={"timeout": 0},
                            headers={"X-Bridge-Instance": "gm-browser"})
        assert polled.status_code == 200 and polled.json()["emitter"]
    gm.click("text=Refresh")
    gm.wait_for_selector("[data-test=vtt-world-sunken-crown]:has-text('connected (gm-browser')")
    shot(gm, "gm-setup-vtt")
    gm.locator("[data-test=vtt]").screenshot(path=str(ARTIFACTS / "journey-gm-setup-vtt-card.png"))
    assert not console.errors, console.errors
