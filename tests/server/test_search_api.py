"""Search over HTTP on a real server: campaigns A and B kept apart (hits and counts), rules for
every token, bad input answered 422 with a reason, rules answers with citations, rulebooks
imported and removed by operators (the SRD too), reindexing, the narrator's rephrasing hook."""
from __future__ import annotations

import re
from types import SimpleNamespace
from typing import Any

import pytest

from actors import VirtualClock
from actors.kinds import game_kinds
from server.app import ServerSettings
from server.routes.search import rephrased

from .conftest import assert_error, bearer, command, http_client, operator_token, start_server

HOUSE = """# Table Rules of the Salt Road
<!-- page 41 -->
## Flanking
Two allies on opposite sides of a foe make it off-guard to both of them.
<!-- page 42 -->
## Hero points
A hero point lets a player reroll one check, keeping the second result.
"""


@pytest.fixture
async def running(nursery, tmp_path):
    settings = ServerSettings(rate=1e6, burst=1e6, search_commit_s=0.0)
    server = await start_server(nursery, tmp_path / "data", settings, VirtualClock(), game_kinds())
    yield server
    server.stop.set()


class Tables:
    """Two campaigns, each with a GM and a player, and an operator."""

    def __init__(self, http, server) -> None:
        self.http, self.server = http, server
        self.tokens = {"op": bearer(operator_token(server))}

    async def token(self, name: str, **body: Any) -> None:
        response = await self.http.post("/api/v1/admin/tokens", json=body, headers=self.tokens["op"])
        assert response.status_code == 201, response.text
        self.tokens[name] = bearer(response.json()["token"])

    async def ok(self, who: str, address: str, kind: str, **data: Any) -> None:
        response = await self.http.post(f"/api/v1/actors/{address}/commands", json=command(kind, **data),
                                        headers=self.tokens[who])
        assert response.status_code == 200, response.text

    async def campaign(self, cid: str, player: str, name: str, action: str) -> None:
        await self.token(f"gm-{cid}", role="gm", campaign=cid)
        await self.token(player, role="player", campaign=cid, character=player)
        await self.ok(f"gm-{cid}", f"campaign/{cid}", "CreateCampaign", title=f"Campaign {cid}")
        await self.ok(player, f"campaign/{cid}", "JoinCampaign", character={
            "name": name, "level": 3, "max_hp": 40, "hp": 40, "ac": 19,
            "saves": {"fortitude": 8, "reflex": 9, "will": 6}, "perception": 7})
        await self.ok(f"gm-{cid}", f"campaign/{cid}", "StartScene", title=f"The Gate of {cid.upper()}")
        await self.ok(player, f"campaign/{cid}", "PostAction", text=action)

    async def search(self, who: str, **params: Any):
        return await self.http.get("/api/v1/search", params=params, headers=self.tokens[who])

    async def found(self, who: str, **params: Any) -> dict[str, Any]:
        response = await self.search(who, **params)
        assert response.status_code == 200, response.text
        return response.json()


@pytest.fixture
async def tables(running):
    async with http_client(running) as http:
        tables = Tables(http, running)
        await tables.campaign("a", "ayla", "Ayla", "I pick the lock of the smugglers' gate")
        await tables.campaign("b", "bram", "Bram", "I bribe the smugglers at the gate with silver")
        await running.search.caught_up()
        yield tables


async def test_a_player_finds_only_posts_of_their_campaign_not_even_counting_the_others(tables):
    mine = await tables.found("ayla", q="smugglers", scope="posts")
    assert mine["total"] == 1 and [hit["citation"]["campaign"] for hit in mine["items"]] == ["a"]
    hit = mine["items"][0]
    assert hit["citation"]["author_name"] == "Ayla" and hit["citation"]["scene_title"] == "The Gate of A"
    assert hit["citation"]["post"] == 2 and hit["citation"]["at"].endswith("Z")
    assert "<mark>smugglers</mark>" in hit["snippet"] and mine["highlight"] == "mark"
    everything = await tables.found("ayla", q="smugglers OR silver OR bribe", scope="all", limit=50)
    assert {h["citation"].get("campaign") for h in everything["items"]} <= {"a", None}
    assert everything["total"] == len(everything["items"])
    assert (await tables.found("bram", q="silver"))["total"] == 1
    assert (await tables.found("ayla", q="silver"))["total"] == 0
    assert_error(await tables.search("ayla", q="silver", campaign="b"), 404, "not_found")
    assert (await tables.found("ayla", q="campaign:b smugglers"))["total"] == 1    # its own, never b's
    both = await tables.found("op", q="smugglers", scope="posts")
    assert both["total"] == 2 and {h["citation"]["campaign"] for h in both["items"]} == {"a", "b"}
    assert (await tables.found("op", q="smugglers", campaign="b"))["items"][0]["citation"]["author"] == "bram"


async def test_every_token_searches_the_rules_page_by_page(tables):
    first = await tables.found("bram", q="attack", scope="rules", limit=5)
    assert first["total"] > 5 and len(first["items"]) == 5 and first["next_cursor"]
    second = await tables.found("bram", q="attack", scope="rules", limit=5, cursor=first["next_cursor"])
    assert not {h["id"] for h in first["items"]} & {h["id"] for h in second["items"]}
    top = (await tables.found("bram", q="multiple attack penalty", scope="rules"))["items"][0]
    assert top["citation"]["book"] == "everturn-rules" and top["citation"]["page"] == 4
    books = (await tables.http.get("/api/v1/rules", headers=tables.tokens["bram"])).json()["items"]
    assert [b["name"] for b in books] == ["everturn-rules"] and books[0]["pages"] == 9


@pytest.mark.parametrize("params, says", [
    ({}, "empty"), ({"q": ""}, "empty"), ({"q": "((("}, "nothing to search"), ({"q": "x" * 501}, "at most 500"),
    ({"q": "goblin", "scope": "everything"}, "scope"), ({"q": "goblin", "limit": "0"}, "limit"),
    ({"q": "goblin", "limit": "lots"}, "limit"), ({"q": "goblin", "cursor": "nope"}, "cursor"),
    ({"q": "goblin", "page": "twelve"}, "whole number"), ({"q": "goblin", "colour": "red"}, "unknown parameter"),
    ({"q": "goblin", "campaign": "a/b"}, "campaign id"),
])
async def test_bad_input_is_answered_422_with_a_reason(tables, params, says):
    error = assert_error(await tables.search("ayla", **params), 422, "search/invalid_query")
    assert says in error["message"]


@pytest.mark.parametrize("q", ['"unclosed', "title:", "smugglers AND", "NOT", "<script>", "body:(", "a:b:c"])
async def test_queries_tantivy_cannot_parse_are_searched_as_words_never_a_500(tables, q):
    response = await tables.search("ayla", q=q)
    assert response.status_code == 200, response.text


async def test_no_token_no_search(tables):
    response = await tables.http.get("/api/v1/search", params={"q": "gate"})
    assert_error(response, 401, "auth/missing")


async def test_rules_questions_get_cited_answers_or_not_found(tables):
    ask = lambda **body: tables.http.post("/api/v1/rules/ask", json=body, headers=tables.tokens["ayla"])  # noqa: E731
    answer = (await ask(question="How does the multiple attack penalty work with an agile weapon?")).json()
    assert answer["found"] and not answer["rephrased"]
    assert any("0, -4 and -8" in s["text"] for s in answer["sentences"])
    citation = answer["citations"][0]
    assert (citation["book"], citation["page"], citation["section"]) == (
        "everturn-rules", 4, "Strikes and the multiple attack penalty")
    assert re.search(r"\[1\]", answer["answer"])
    off_topic = (await ask(question="What is the best pizza recipe in Naples?")).json()
    assert off_topic["found"] is False and off_topic["answer"] == "Not found in the rules."
    no_narrator = (await ask(question="What is the multiple attack penalty?", rephrase=True)).json()
    assert no_narrator["rephrased"] is False and "narrator" in no_narrator["rephrase_error"]
    assert_error(await ask(question="What is flanking?", book="no-such-book"), 404, "not_found")
    assert_error(await ask(question=""), 422, "invalid")
    assert_error(await ask(question="?!"), 422, "search/invalid_query")


async def test_a_rules_question_in_other_words_gets_the_same_answer(tables):
    ask = lambda question: tables.http.post("/api/v1/rules/ask", json={"question": question},  # noqa: E731
                                            headers=tables.tokens["ayla"])
    short = (await ask("What happens at 0 HP?")).json()
    long = (await ask("What happens when a character is knocked to 0 hit points?")).json()
    assert short["found"] and long["found"]
    for answer in (short, long):
        assert ("everturn-rules", 5, "Dying, wounded and doomed") in [
            (c["book"], c["page"], c["section"]) for c in answer["citations"]]
        assert any("falls unconscious and is dying 1" in s["text"] for s in answer["sentences"])


async def test_operators_import_replace_and_remove_rulebooks(tables):
    op, post = tables.tokens["op"], tables.http.post
    forbidden = await post("/api/v1/admin/rules", json={"name": "house", "text": HOUSE}, headers=tables.tokens["ayla"])
    assert_error(forbidden, 403, "auth/forbidden")
    made = await post("/api/v1/admin/rules", json={"name": "house", "text": HOUSE, "attribution": "by the table"},
                      headers=op)
    assert made.status_code == 201, made.text
    assert made.json()["replaced"] is False and made.json()["book"]["first_page"] == 41
    hit = (await tables.found("ayla", q="hero point reroll", book="house"))["items"][0]
    assert hit["citation"] | {"book_title": None} == {"book": "house", "book_title": None, "page": 42,
                                                      "section": "Hero points", "attribution": "by the table",
                                                      "license": None}
    answer = (await post("/api/v1/rules/ask", json={"question": "What does a hero point do?", "book": "house"},
                         headers=tables.tokens["ayla"])).json()
    assert answer["found"] and answer["citations"][0]["page"] == 42
    again = await post("/api/v1/admin/rules", json={"name": "house", "text": "[page 7]\n# Only\nNothing here."},
                       headers=op)
    assert again.json()["replaced"] is True
    assert (await tables.found("ayla", q="hero point", book="house"))["total"] == 0
    assert_error(await post("/api/v1/admin/rules", json={"name": "everturn-rules", "text": HOUSE}, headers=op),
                 409, "rules/reserved")
    assert_error(await post("/api/v1/admin/rules", json={"name": "Bad Name", "text": HOUSE}, headers=op),
                 422, "rules/invalid")
    assert_error(await post("/api/v1/admin/rules", json={"text": HOUSE}, headers=op), 422, "invalid")
    removed = await tables.http.delete("/api/v1/admin/rules/house", headers=op)
    assert removed.status_code == 200
    assert (await tables.found("ayla", q="nothing", book="house"))["total"] == 0
    assert_error(await tables.http.delete("/api/v1/admin/rules/house", headers=op), 404, "not_found")


async def test_the_srd_imported_on_a_running_server_is_cited_with_its_attribution(tables):
    made = await tables.http.post("/api/v1/admin/rules", json={"srd": True}, headers=tables.tokens["op"])
    assert made.status_code == 201, made.text
    assert made.json()["book"]["license"] == "CC-BY-4.0"
    hit = (await tables.found("bram", q="grappled condition", book="srd-5.2.1"))["items"][0]
    assert (hit["citation"]["page"], hit["citation"]["section"]) == (182, "Grappled [Condition]")
    assert "System Reference Document 5.2.1" in hit["citation"]["attribution"]
    status = (await tables.http.get("/api/v1/admin/search", headers=tables.tokens["op"])).json()
    assert status["ready"] and status["documents"]["posts"] == 4 and status["documents"]["rules"] > 1000


async def test_reindex_on_a_running_server_answers_as_before(tables):
    before = await tables.found("op", q="smugglers gate attack", limit=20)
    done = await tables.http.post("/api/v1/admin/search/reindex", headers=tables.tokens["op"])
    assert done.status_code == 200 and done.json()["documents"] > 20
    assert_error(await tables.http.post("/api/v1/admin/search/reindex", headers=tables.tokens["ayla"]), 403,
                 "auth/forbidden")
    assert await tables.found("op", q="smugglers gate attack", limit=20) == before


async def test_the_narrators_rephrasing_stands_only_if_it_keeps_every_citation():
    result = {"found": True, "answer": "One. [1] Two. [2]", "citations": [{"n": 1}, {"n": 2}], "rephrased": False}

    async def keeps(question: str, answer: dict) -> str:
        return "Both one [1] and two [2], said plainly."

    async def drops(question: str, answer: dict) -> str:
        return "Only one [1]."

    async def fails(question: str, answer: dict) -> str:
        raise RuntimeError("the model is asleep")

    async def same(question: str, answer: dict) -> str:
        return answer["answer"]

    good = await rephrased(SimpleNamespace(rephrase=keeps), "q?", result)
    assert good["rephrased"] and good["answer"].startswith("Both") and good["extract"] == "One. [1] Two. [2]"
    for hook, says in ((drops, "citations"), (fails, "RuntimeError"), (None, "no narrator"), (same, "own words")):
        kept = await rephrased(SimpleNamespace(rephrase=hook), "q?", result)
        assert kept["rephrased"] is False and kept["answer"] == "One. [1] Two. [2]" and says in kept["rephrase_error"]
