"""The tantivy index of one data directory: its schema, writing, and searching with snippets.

Writing (``put``, ``delete_book``, ``commit``) belongs to one thread at a time (the
indexer's); searching is safe from any thread and releases the GIL while tantivy works.
Ranking is tantivy's BM25 over ``title`` (boosted), ``body`` and ``names``; hits of equal
score are ordered by document id, so two indexes of the same documents answer alike
however their segments were written.
"""
from __future__ import annotations

import base64
import html
import re
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import tantivy

from .errors import InvalidQuery

SCHEMA_VERSION = 1  # bump when the fields change: indexes of another version are rebuilt
TEXT_FIELDS = ["title", "body", "names"]
BOOSTS = {"title": 2.0, "body": 1.0, "names": 1.5}
SOURCES = ("rules", "posts", "encounters")
SCOPES = {"rules": ("rules",), "posts": ("posts",), "encounters": ("encounters",), "all": SOURCES}
RAW_FILTERS = ("campaign", "book", "kind", "author", "outcome")
INT_FILTERS = ("scene", "page")
MAX_QUERY = 500       # characters
MAX_LIMIT = 50
MAX_OFFSET = 1000
SNIPPET_CHARS = 240
TIE_SLACK = 10        # hits fetched past the page, so equal scores at its edge are ordered by id
HIGHLIGHT = "mark"    # snippets: the text HTML-escaped, each matched term in <mark>...</mark>, nothing else
_WORD = re.compile(r"\w+", re.UNICODE)
_HEAP = 32_000_000    # the writer's memory (one thread)


def build_schema() -> tantivy.Schema:
    builder = tantivy.SchemaBuilder()
    for name in ("id", "source", "campaign", "book", "kind", "author", "outcome", "address"):
        builder.add_text_field(name, stored=True, tokenizer_name="raw")
    builder.add_text_field("title", stored=True, tokenizer_name="en_stem")
    builder.add_text_field("body", stored=True, tokenizer_name="en_stem")
    builder.add_text_field("names", stored=True, tokenizer_name="default")
    for name in ("page", "n", "scene", "seq", "rounds"):
        builder.add_integer_field(name, stored=True, indexed=True, fast=True)
    for name in ("at", "started_at"):
        builder.add_float_field(name, stored=True, fast=True)
    for name in ("book_title", "attribution", "license", "reason", "scene_title"):
        builder.add_text_field(name, stored=True, tokenizer_name="raw", index_option="basic")
    return builder.build()


class SearchIndex:
    """An index directory, opened (created if empty) with a writer when ``writable``."""

    def __init__(self, path: str | Path, writable: bool = True) -> None:
        self.path = Path(path)
        self.path.mkdir(parents=True, exist_ok=True)
        self.schema = build_schema()
        self.index = tantivy.Index(self.schema, path=str(self.path))
        self.writer = self.index.writer(_HEAP, 1) if writable else None

    # -- writing (one thread at a time) ---------------------------------------------------------

    def put(self, docs: list[dict[str, Any]]) -> None:
        """Add documents, each replacing any document of its id (commit to publish them)."""
        assert self.writer is not None, "opened read-only"
        for doc in docs:
            self.writer.delete_documents_by_term("id", doc["id"])
            self.writer.add_document(tantivy.Document.from_dict(
                {key: value for key, value in doc.items() if value is not None}, self.schema))

    def delete_book(self, name: str) -> None:
        assert self.writer is not None, "opened read-only"
        self.writer.delete_documents_by_term("book", name)

    def commit(self) -> None:
        """Make what was put durable and visible to searches."""
        assert self.writer is not None, "opened read-only"
        self.writer.commit()
        self.index.reload()

    def rollback(self) -> None:
        """Drop what was put since the last commit."""
        assert self.writer is not None, "opened read-only"
        self.writer.rollback()

    def close(self) -> None:
        """Let merges finish and release the writer (the directory's lock)."""
        if self.writer is not None:
            writer, self.writer = self.writer, None
            writer.wait_merging_threads()

    # -- reading (any thread) -------------------------------------------------------------------

    def documents(self) -> int:
        return self.index.searcher().num_docs

    def counts(self) -> dict[str, int]:
        """Documents by source."""
        searcher = self.index.searcher()
        return {source: searcher.search(self._term("source", source), 1, count=True).count for source in SOURCES}

    def user_query(self, text: str) -> tantivy.Query:
        """The query a person typed: tantivy's syntax (words, "phrases", +must, -not, field:value),
        or, where that does not parse, its words; raises InvalidQuery when there are none."""
        text = (text or "").strip()
        if not text:
            raise InvalidQuery("the query is empty: give q, some words to search for")
        if len(text) > MAX_QUERY:
            raise InvalidQuery(f"the query is {len(text)} characters long; at most {MAX_QUERY}")
        try:
            return self.index.parse_query(text, TEXT_FIELDS, field_boosts=BOOSTS)
        except ValueError:
            pass  # unbalanced quotes, a stray operator, a field that does not exist: search the words
        words = _WORD.findall(text)
        if not words:
            raise InvalidQuery(f"nothing to search for in {text!r}: use words, \"a phrase\", +required or -excluded")
        return self.index.parse_query(" ".join(word.lower() for word in words), TEXT_FIELDS, field_boosts=BOOSTS)

    def words_query(self, words: list[str]) -> tantivy.Query:
        """Any of ``words`` (already plain), ranked by BM25."""
        return self.index.parse_query(" ".join(words), TEXT_FIELDS, field_boosts=BOOSTS)

    def _term(self, field: str, value: Any) -> tantivy.Query:
        return tantivy.Query.term_query(self.schema, field, value)

    def restricted(self, query: tantivy.Query, scope: str = "all", filters: dict[str, Any] | None = None,
                   campaigns: frozenset[str] | None = None) -> tantivy.Query | None:
        """``query`` within ``scope``, the ``filters`` and the campaigns a reader reaches (None: all).

        Rules are open to every reader; posts and encounter summaries only of ``campaigns``.
        None: nothing can match (a reader of no campaign searching only posts).
        """
        if scope not in SCOPES:
            raise InvalidQuery(f"scope {scope!r}: one of {', '.join(SCOPES)}")
        sources = SCOPES[scope]
        clauses = [(tantivy.Occur.Must, query), (tantivy.Occur.Must, self._any("source", sources))]
        if campaigns is not None:
            open_to = [self._term("source", "rules")] if "rules" in sources else []
            open_to += [self._term("campaign", campaign) for campaign in sorted(campaigns)]
            if not open_to:
                return None
            clauses.append((tantivy.Occur.Must, self._either(open_to)))
        for field, value in (filters or {}).items():
            if value is None or value == "":
                continue
            if field in INT_FILTERS:
                if isinstance(value, bool) or not isinstance(value, int):
                    if not (isinstance(value, str) and value.isdigit() and len(value) < 10):
                        raise InvalidQuery(f"{field} must be a whole number, not {value!r}")
                    value = int(value)
            elif field not in RAW_FILTERS:
                raise InvalidQuery(f"no filter {field!r}; filters: {', '.join(RAW_FILTERS + INT_FILTERS)}")
            elif not isinstance(value, str) or len(value) > 200:
                raise InvalidQuery(f"{field} must be text of at most 200 characters")
            clauses.append((tantivy.Occur.Must, self._term(field, value)))
        return tantivy.Query.boolean_query(clauses)

    def _any(self, field: str, values: tuple[str, ...]) -> tantivy.Query:
        return self._either([self._term(field, value) for value in values])

    def _either(self, queries: list[tantivy.Query]) -> tantivy.Query:
        return queries[0] if len(queries) == 1 else tantivy.Query.boolean_query(
            [(tantivy.Occur.Should, q) for q in queries])

    def search(self, q: str, scope: str = "all", filters: dict[str, Any] | None = None,
               campaigns: frozenset[str] | None = None, limit: int = 10, offset: int = 0) -> dict[str, Any]:
        """A page of hits: ``{"total", "items": [hit], "next_offset"}``; raises InvalidQuery.

        ``total`` counts only what the reader may see (restricted like the hits).
        """
        if not 1 <= limit <= MAX_LIMIT:
            raise InvalidQuery(f"limit must be 1 to {MAX_LIMIT}")
        if not 0 <= offset <= MAX_OFFSET:
            raise InvalidQuery(f"results go {MAX_OFFSET} deep; narrow the query or add filters")
        user = self.user_query(q)
        query = self.restricted(user, scope, filters, campaigns)
        if query is None:
            return {"total": 0, "items": [], "next_offset": None}
        searcher = self.index.searcher()
        result = searcher.search(query, offset + limit + TIE_SLACK, count=True)
        page = ranked_page(searcher, result.hits, offset, limit)
        body = tantivy.SnippetGenerator.create(searcher, user, self.schema, "body")
        body.set_max_num_chars(SNIPPET_CHARS)
        items = [hit_json(score, fields, snippet_html(body, fields)) for score, fields in page]
        more = offset + limit < result.count
        return {"total": result.count, "items": items, "next_offset": offset + limit if more else None}

    def passages(self, query: tantivy.Query, limit: int) -> list[tuple[float, dict[str, Any]]]:
        """The best rule passages for an already restricted ``query``: (score, stored fields)."""
        searcher = self.index.searcher()
        return ranked_page(searcher, searcher.search(query, limit + TIE_SLACK).hits, 0, limit)

    def doc_freq(self, field: str, term: str) -> int:
        return self.index.searcher().doc_freq(field, term)


def ranked_page(searcher: tantivy.Searcher, hits: list[tuple[float, Any]], offset: int,
                limit: int) -> list[tuple[float, dict[str, Any]]]:
    """Hits ``offset`` to ``offset + limit`` of ``hits`` (tantivy's order: score, then where each
    document happens to lie) in the order (score, id), with their stored fields.  Only the page
    and the hits tied with its first and last are read from the store.
    """
    if offset >= len(hits):
        return []
    lo, hi = offset, min(offset + limit, len(hits))
    while lo > 0 and hits[lo - 1][0] == hits[offset][0]:
        lo -= 1
    while hi < len(hits) and hits[hi][0] == hits[hi - 1][0]:
        hi += 1
    window = sorted(((score, searcher.doc(address).to_dict()) for score, address in hits[lo:hi]),
                    key=lambda hit: (-hit[0], hit[1]["id"][0]))
    return window[offset - lo:offset - lo + limit]


def snippet_html(generator: tantivy.SnippetGenerator, fields: dict[str, list[Any]]) -> str:
    """The best fragment of the body, HTML-escaped, with each matched term in ``<mark>``; the
    opening of the body when no term of it matched (a match in the title or names)."""
    body = first(fields, "body") or ""
    snippet = generator.snippet_from_doc(tantivy.Document.from_dict({"body": body}))
    fragment = snippet.fragment()
    if not fragment:
        return html.escape(opening(body))
    raw, out, at = fragment.encode(), [], 0
    for span in sorted(snippet.highlighted(), key=lambda s: s.start):  # byte offsets into the fragment
        out.append(html.escape(raw[at:span.start].decode()))
        out.append(f"<{HIGHLIGHT}>{html.escape(raw[span.start:span.end].decode())}</{HIGHLIGHT}>")
        at = span.end
    out.append(html.escape(raw[at:].decode()))
    return "".join(out).strip()


def opening(text: str, chars: int = SNIPPET_CHARS) -> str:
    text = " ".join(text.split())
    if len(text) <= chars:
        return text
    return text[:chars].rsplit(" ", 1)[0] + " \u2026"


def first(fields: dict[str, list[Any]], name: str, default: Any = None) -> Any:
    values = fields.get(name)
    return values[0] if values else default


def iso(at: float | None) -> str | None:
    if at is None:
        return None
    return datetime.fromtimestamp(at, tz=timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def citation(fields: dict[str, list[Any]]) -> dict[str, Any]:
    """Where a hit comes from, to cite: book, page and section; or campaign, post, scene and time."""
    get = lambda name, default=None: first(fields, name, default)  # noqa: E731
    source = get("source")
    if source == "rules":
        return {"book": get("book"), "book_title": get("book_title"), "page": get("page"), "section": get("title", ""),
                "attribution": get("attribution") or None, "license": get("license") or None}
    if source == "posts":
        return {"campaign": get("campaign"), "post": get("n"), "scene": get("scene"), "scene_title": get("title", ""),
                "at": iso(get("at")), "author": get("author"), "author_name": get("names"), "kind": get("kind"),
                "address": get("address"), "seq": get("seq")}
    return {"campaign": get("campaign"), "encounter": get("n"), "address": get("address"), "scene": get("scene"),
            "scene_title": get("scene_title", ""), "at": iso(get("at")), "outcome": get("outcome"),
            "rounds": get("rounds")}


def hit_json(score: float, fields: dict[str, list[Any]], snippet: str) -> dict[str, Any]:
    return {"id": first(fields, "id"), "source": first(fields, "source"), "score": round(score, 4),
            "title": first(fields, "title", ""), "snippet": snippet, "citation": citation(fields)}


def encode_cursor(offset: int) -> str:
    return base64.urlsafe_b64encode(f"o{offset}".encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> int:
    """The offset an opaque search cursor stands for; raises InvalidQuery."""
    try:
        text = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
    except ValueError:
        text = ""
    match = re.fullmatch(r"o([0-9]{1,5})", text)
    if match is None or int(match[1]) > MAX_OFFSET:
        raise InvalidQuery("cursor is not one this server gave out")
    return int(match[1])
