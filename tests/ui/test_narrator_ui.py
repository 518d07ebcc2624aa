"""The narrator in the browser: tokens stream into the table's feed, the console shows and steers its health
and its worker processes."""
from __future__ import annotations

import os
import signal

from .conftest import log_in, screenshot
from .test_browser import seat

WRITE = 120_000  # ms: a generation on a busy two-core machine


def test_a_narration_streams_into_the_feed_and_settles(served, page):
    gm, player = seat(served, "n1")
    with served.http(gm) as http:
        assert http.post("/api/v1/actors/campaign/n1/commands", json={"type": "UpdateSettings", "data": {
            "settings": {"narrator_max_tokens": 160, "narrator_deadline_s": 120}}}).status_code == 200
    log_in(page, served, player)
    page.goto(served.ui + "/campaign/n1")
    page.wait_for_selector("[data-test=connection]:has-text('live')")
    page.evaluate("""() => {  // every text the feed shows while the narrator writes, as it shows it
        window.__drafts = [];
        new MutationObserver(() => {
            for (const node of document.querySelectorAll('[data-test^=text-]'))
                if (node.textContent.includes('\u258d')) window.__drafts.push(node.textContent);
        }).observe(document.querySelector('[data-test=feed]'), {subtree: true, childList: true, characterData: true});
    }""")
    with served.http(gm) as http:
        answer = http.post("/api/v1/actors/campaign/n1/commands", json={"type": "NarrateNpc", "data": {
            "npc": "Old Bren", "hint": "the bridge is out; take the ford before the river rises"}})
        assert answer.status_code == 200, answer.text
        n = http.get("/api/v1/actors/campaign/n1").json()["state"]["post_count"]
    page.wait_for_function(f"""() => {{
        const label = document.querySelector('[data-test=narrator-{n}]');
        return label && label.textContent.trim() && !label.textContent.includes('narrating');
    }}""", timeout=WRITE)
    drafts = page.evaluate("window.__drafts")
    with served.http(gm) as http:
        post = next(p for p in http.get("/api/v1/actors/campaign/n1").json()["state"]["posts"] if p["n"] == int(n))
    assert len(drafts) > 1 and len(set(drafts)) > 1  # it grew token by token on the page
    shown = page.inner_text(f"[data-test=text-{n}]")
    assert "\u258d" not in shown and shown.split()[:3] == post["text"].split()[:3]
    how = page.inner_text(f"[data-test=narrator-{n}]")
    meta = post["meta"]
    wanted = "narrated by smollm2" if meta["outcome"] == "narrated" else f"template: {meta['outcome']}"
    assert how.startswith(wanted)
    screenshot(page, "table-narration")


def test_the_console_shows_the_narrator_and_pauses_and_resumes_it(served, page):
    log_in(page, served, served.operator)
    page.goto(served.ui + "/console")
    page.click("[data-test=tab-narrator]")
    page.wait_for_selector("[data-test=narrator-state]:has-text('ready')")
    assert "smollm2 (default)" in page.inner_text("body")
    page.click("[data-test=narrator-pause]")
    page.wait_for_selector("[data-test=narrator-state]:has-text('paused')")
    assert "by an operator" in page.inner_text("[data-test=narrator-health]")
    screenshot(page, "console-narrator")
    page.click("[data-test=narrator-resume]")
    page.wait_for_selector("[data-test=narrator-state]:has-text('ready')")
    with served.http() as http:
        assert http.get("/api/v1/admin/narrator").json()["health"]["state"] == "ready"


def test_the_table_searches_rules_and_history_and_asks_the_rules_with_citations(served, page):
    gm, player = seat(served, "s1")
    with served.http(gm) as http:
        for text in ("We cross the river at the old ford.", "Bren warns us about the wolves."):
            assert http.post("/api/v1/actors/campaign/s1/commands", json={"type": "PostNarration", "data": {
                "text": text}}).status_code == 200
    log_in(page, served, player)
    page.goto(served.ui + "/campaign/s1")
    page.wait_for_selector("[data-test=connection]:has-text('live')")
    page.click("[data-test=search]")
    page.fill("input[data-test=search-input]", "ford")
    with served.http() as http:  # the index is fed within a second of the commit; the page asks after that
        for _ in range(100):
            if http.get("/api/v1/search", params={"q": "ford", "scope": "posts"}).json()["total"]:
                break
            page.wait_for_timeout(100)
    page.click("[data-test=search-go]")
    hit = page.wait_for_selector("[data-test=hit-posts]")
    assert hit.inner_html().count("<mark>") >= 1 and "ford" in hit.inner_text()
    assert "post #" in page.inner_text("[data-test=hit-citation]")

    page.fill("input[data-test=search-input]", "What is the multiple attack penalty?")
    page.click("[data-test=ask-go]")
    page.wait_for_selector("[data-test=answer-text]")
    answer = page.inner_text("[data-test=answer-text]")
    citations = page.locator("[data-test=answer-citation]").all_inner_texts()
    assert "[1]" in answer and citations and citations[0].startswith("[1] ") and ", p. " in citations[0]
    screenshot(page, "table-search")


def test_the_console_shows_a_crashed_narrator_worker_and_its_replacement(served, page):
    with served.http() as http:
        victim = http.get("/api/v1/admin/narrator").json()["workers"][0]["pid"]
    os.kill(victim, signal.SIGSEGV)  # llama.cpp faulting, as far as anyone can tell
    log_in(page, served, served.operator)
    page.goto(served.ui + "/console")
    page.click("[data-test=tab-narrator]")
    page.wait_for_selector("[data-test=narrator-crashes]:has-text('1 crash,')")
    assert "last crash: worker 0" in page.inner_text("[data-test=narrator-crashes]")
    assert "SIGSEGV" in page.inner_text("[data-test=narrator-crashes]")
    page.wait_for_selector("[data-test=narrator-workers] td:has-text('ready')")
    assert str(victim) not in page.inner_text("[data-test=narrator-workers]")  # a new process serves
    assert page.inner_text("[data-test=narrator-state]") == "ready"  # one crash does not pause the narrator
    page.wait_for_selector("text=Inspect address", state="hidden")  # the actors tab has slid away
    screenshot(page, "console-narrator-crash")
    with served.http() as http:
        assert http.get("/health/ready").status_code == 200
