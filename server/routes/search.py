"""Search routes: rules, campaign posts and encounter summaries; rules answers; rulebooks.

``GET /api/v1/search`` and ``POST /api/v1/rules/ask`` take any valid token: rules are open
to everyone, posts and encounter summaries only of the campaigns the token reaches (an
operator: all), in the hits and in the counts alike.  ``GET /api/v1/rules`` lists the
rulebooks.  Operators import and remove rulebooks (``/api/v1/admin/rules``), see the index
(``GET /api/v1/admin/search``) and rebuild it (``POST /api/v1/admin/search/reindex``).
Queries run in worker threads; the index is fed by :class:`snapshots.search.Indexer`.
"""
from __future__ import annotations

import logging
import re
from typing import TYPE_CHECKING, Any

import trio
from pydantic import BaseModel, ConfigDict, Field, StrictBool, model_validator
from quart import Response, request

from snapshots.search import (
    HIGHLIGHT, MAX_LIMIT, MAX_OFFSET, REFERENCE, BookInfo, InvalidQuery, RulebookError, SearchError, answer, check_name,
    decode_cursor, encode_cursor, parse_text, srd_book,
)

from snapshots.search.index import MAX_QUERY
from snapshots.search.rules import NAME as BOOK_NAME
from snapshots.search.rules import Rulebooks

from ..errors import ApiError, not_found
from ..requests import authenticate, everturn, json_body, json_response, operator, validated
from .table import Resource

if TYPE_CHECKING:
    from snapshots.search import Indexer, SearchIndex

    from ..auth import Principal
    from ..context import Everturn

search = Resource("search", tag="search")
log = logging.getLogger("everturn.server")
CAMPAIGN_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:-]{0,127}")
FILTERS = ("campaign", "book", "kind", "author", "scene", "page", "outcome")
WORDS = r"\w"  # a query or question needs a word to look up (the server says search/invalid_query otherwise)
REPHRASE_TIMEOUT = 45.0  # seconds the narrator may take to rephrase an answer before the extract serves


class AskRequest(BaseModel):
    question: str = Field(min_length=1, max_length=500, examples=["How does the multiple attack penalty work?"],
                          json_schema_extra={"pattern": WORDS})  # no word to look up: 422 search/invalid_query
    book: str | None = Field(None, description="only this rulebook (GET /api/v1/rules names them)")
    rephrase: StrictBool = Field(False, description="let the narrator rephrase the answer, keeping its citations")


class RulebookImport(BaseModel):
    """A book as markdown or text with page markers (see docs/search.md), or ``{"srd": true}``."""

    model_config = ConfigDict(json_schema_extra={"oneOf": [  # what _one_source checks, for the document
        {"required": ["name", "text"], "properties": {"name": {"type": "string"}, "text": {"type": "string"},
                                                      "srd": {"const": False}}},
        {"required": ["srd"], "properties": {"srd": {"const": True}, "text": {"type": "null"}}}]})

    name: str | None = Field(None, description="1-64 of a-z, 0-9, '.', '_', '-'; the same name replaces the book",
                             json_schema_extra={"pattern": f"^{BOOK_NAME.pattern}$"})  # check_name says why not
    text: str | None = Field(None, description="markdown: <!-- page N --> or [page N] lines (or form feeds) start "
                             "pages, # headings start sections")
    title: str | None = Field(None, max_length=200)
    attribution: str | None = Field(None, max_length=2000, description="shown with every passage cited")
    license: str | None = Field(None, max_length=200)
    srd: StrictBool = Field(False, description="import the SRD 5.2.1 the server carries (CC-BY-4.0, attributed)")

    @model_validator(mode="after")
    def _one_source(self) -> "RulebookImport":
        if self.srd == (self.text is not None):
            raise ValueError("give either text (with a name) or srd: true")
        if self.text is not None and not self.name:
            raise ValueError("a book imported as text needs a name")
        return self


class RuleCitation(BaseModel):
    book: str
    book_title: str | None
    page: int
    section: str = Field(description="the heading the passage stands under")
    attribution: str | None = Field(description="the book's credit, to show with the passage (CC-BY: required)")
    license: str | None


class PostCitation(BaseModel):
    campaign: str
    post: int = Field(description="the post's number in its campaign")
    scene: int = Field(description="the scene it was posted in (0: before the first)")
    scene_title: str
    at: str = Field(description="ISO 8601 UTC, the game clock")
    author: str = Field(description="a player id, a GM token id, or 'server'")
    author_name: str = Field(description="the character's name, 'GM' or 'Server'")
    kind: str = Field(description="action, narration or notice")
    address: str
    seq: int = Field(description="the journal position of the post (GET /api/v1/actors/campaign/{id}/events)")


class EncounterCitation(BaseModel):
    campaign: str
    encounter: int
    address: str = Field(description="combat/{campaign}.{n}")
    scene: int
    scene_title: str
    at: str = Field(description="when it was closed, ISO 8601 UTC")
    outcome: str = Field(description="victory, defeat, max_rounds, gm, nobody_left or failed")
    rounds: int


class SearchHit(BaseModel):
    id: str = Field(description="rules/{book}/{page}/{i}, posts/{address}/{seq} or encounters/{address}")
    source: str = Field(description="rules, posts or encounters")
    score: float = Field(description="BM25; equal scores are ordered by id")
    title: str = Field(description="the section (rules), the scene's title (posts), 'Encounter n'")
    snippet: str = Field(description="HTML: the text escaped, every matched term in <mark>...</mark>, no other tag")
    citation: RuleCitation | PostCitation | EncounterCitation


class SearchPage(BaseModel):
    q: str
    scope: str
    filters: dict[str, str]
    total: int = Field(description="every match this token may see (never others' posts)")
    highlight: str = Field(description="the tag snippets mark matches with: mark")
    items: list[SearchHit]
    next_cursor: str | None


class AnswerSentence(BaseModel):
    text: str
    citation: int = Field(description="n of its entry in citations; the answer text cites it as [n]")
    score: float = Field(description="share of the question's weight the sentence covers")


class AnswerCitation(RuleCitation):
    n: int


class RulesAnswer(BaseModel):
    question: str
    found: bool
    answer: str = Field(description="the sentences, each followed by [n]; or 'Not found in the rules.'")
    sentences: list[AnswerSentence]
    citations: list[AnswerCitation]
    coverage: float = Field(description="share of the question's weight the best sentence covers")
    rephrased: bool = Field(description="the narrator rephrased the answer (keeping every [n])")
    extract: str | None = Field(None, description="the extractive answer, when rephrased")
    rephrase_error: str | None = Field(None, description="why a rephrasing asked for was not used")


class RulebookList(BaseModel):
    items: list[BookInfo]


class RulebookImported(BaseModel):
    book: BookInfo
    replaced: bool




def query(name: str, schema: dict[str, Any], description: str, required: bool = False) -> dict[str, Any]:
    return {"name": name, "in": "query", "required": required, "schema": schema, "description": description}


TEXT = {"type": "string", "maxLength": 200}
NUMBER = {"type": "integer", "minimum": 0, "maximum": 999_999_999}
SEARCH_QUERY = (
    query("q", {"type": "string", "minLength": 1, "maxLength": MAX_QUERY, "pattern": WORDS},
          "words, \"a phrase\", +required, -excluded, field:value "
          "(title, body, names); what does not parse is searched as its words", required=True),
    query("scope", {"type": "string", "enum": ["all", "rules", "posts", "encounters"], "default": "all"},
          "what to search"),
    query("campaign", {"type": "string", "pattern": f"^{CAMPAIGN_ID.pattern}$"},
          "only this campaign's posts and encounters (one the token reaches)"),
    query("book", TEXT, "only this rulebook"), query("page", NUMBER, "only this page of a book"),
    query("kind", TEXT, "posts of this kind: action, narration, notice"),
    query("author", TEXT, "posts by this player id ('server': the server's own)"),
    query("scene", NUMBER, "posts and encounters of this scene number"),
    query("outcome", TEXT, "encounters that ended so: victory, defeat, max_rounds, gm, nobody_left, failed"),
    query("limit", {"type": "integer", "minimum": 1, "maximum": MAX_LIMIT, "default": 10}, "hits per page"),
    query("cursor", {"type": "string"}, "next_cursor of the page before"),
)


async def in_thread(ctx: "Everturn", fn: Any, *args: Any) -> Any:
    return await trio.to_thread.run_sync(fn, *args, limiter=ctx.runtime.workers.threads, abandon_on_cancel=True)


@search.get("/api/v1/search",
            "search rules, campaign posts and encounter summaries: BM25 ranking, highlighted snippets, citations "
            "(rules: book, page, section; posts: campaign, post, scene, time); posts and encounters only of the "
            "campaigns the token reaches, in the hits and the total alike", response=SearchPage, query=SEARCH_QUERY)
async def search_everything() -> Response:
    ctx = everturn()
    principal = authenticate(ctx)
    index = indexer_of(ctx).index
    args = request.args
    unknown = sorted(set(args) - {"q", "scope", "limit", "cursor", *FILTERS})
    if unknown:
        raise ApiError(422, "search/invalid_query", f"unknown parameter {unknown[0]!r}; filters: "
                       f"{', '.join(FILTERS)}")
    campaigns = campaigns_of(ctx, principal)
    filters = {name: args[name] for name in FILTERS if args.get(name)}
    campaign = filters.get("campaign")
    if campaign is not None:
        if not CAMPAIGN_ID.fullmatch(campaign):
            raise ApiError(422, "search/invalid_query", f"campaign {campaign!r} is not a campaign id")
        if campaigns is not None and campaign not in campaigns:
            raise not_found(f"campaign/{campaign}")
    raw_limit = args.get("limit", "10")
    # a sibling shard asks for its best offset + limit hits at once (server.shards.merge.search)
    most = MAX_LIMIT + MAX_OFFSET if ctx.shards is not None and ctx.shards.internal() else MAX_LIMIT
    if not raw_limit.isdigit() or not 1 <= int(raw_limit) <= most:
        raise ApiError(422, "search/invalid_query", f"limit must be a whole number from 1 to {MAX_LIMIT}")
    scope = args.get("scope", "all")
    try:
        offset = decode_cursor(args["cursor"]) if args.get("cursor") else 0
        page = await in_thread(ctx, lambda: index.search(args.get("q", ""), scope, filters, campaigns,
                                                         int(raw_limit), offset))
    except InvalidQuery as exc:
        raise invalid(exc) from exc
    more = page["next_offset"]
    return json_response({"q": args.get("q", ""), "scope": scope, "filters": filters, "total": page["total"],
                          "highlight": HIGHLIGHT, "items": page["items"],
                          "next_cursor": encode_cursor(more) if more is not None else None})


@search.get("/api/v1/rules", "the rulebooks searches and answers cite", response=RulebookList)
async def rulebooks() -> Response:
    ctx = everturn()
    authenticate(ctx)
    books = await in_thread(ctx, rulebooks(ctx).list)
    return json_response({"items": [info.model_dump() for info in books]})


@search.post("/api/v1/rules/ask",
             "a rules question: an answer made of the best sentences of the rules, each with its citation (book, "
             "page, section), or found: false and 'Not found in the rules.'; rephrase: true lets the narrator "
             "reword it, keeping every citation", response=RulesAnswer, body=AskRequest)
async def ask_rules() -> Response:
    ctx = everturn()
    authenticate(ctx)
    indexer = indexer_of(ctx)
    body = validated(AskRequest, await json_body())
    if body.book is not None and body.book not in (indexer.feeder.books if indexer.feeder else {}):
        raise not_found(f"book {body.book}")
    index: SearchIndex = indexer.index
    try:
        result = await in_thread(ctx, answer, index, body.question, body.book)
    except InvalidQuery as exc:
        raise invalid(exc) from exc
    result = {"question": body.question, **result, "rephrased": False}
    if body.rephrase and result["found"]:
        result = await rephrased(ctx, body.question, result)
    return json_response(result)


@search.post("/api/v1/admin/rules",
             "import a rulebook (markdown with page markers, or the SRD 5.2.1); the same name replaces it",
             response=RulebookImported, body=RulebookImport, tag="operators", status=201)
async def admin_import_rules() -> Response:
    ctx = everturn()
    operator(ctx)
    indexer = indexer_of(ctx)
    body = validated(RulebookImport, await json_body())

    def parsed() -> Any:
        if body.srd:
            return srd_book()
        book = parse_text(body.text or "", check_name(body.name or ""), body.title, body.attribution,
                          body.license, source="POST /api/v1/admin/rules")
        return book

    try:
        book = await in_thread(ctx, parsed)
    except RulebookError as exc:
        raise ApiError(422, "rules/invalid", str(exc)) from exc
    if book.name == REFERENCE:
        raise ApiError(409, "rules/reserved", f"{REFERENCE} is the rules reference this server ships; "
                       f"import your book under another name")
    replaced = book.name in {info.name for info in rulebooks(ctx).list()}
    info = await in_thread(ctx, rulebooks(ctx).put, book)
    await indexer.refresh_books()
    return json_response({"book": info.model_dump(), "replaced": replaced}, 201)


@search.delete("/api/v1/admin/rules/{name}", "remove a rulebook and its pages from the index", tag="operators")
async def admin_remove_rules(name: str) -> Response:
    ctx = everturn()
    operator(ctx)
    indexer = indexer_of(ctx)
    if name == REFERENCE:
        raise ApiError(409, "rules/reserved", f"{REFERENCE} is the rules reference this server ships; "
                       f"it comes back on every start")
    if not await in_thread(ctx, rulebooks(ctx).remove, name):
        raise not_found(f"book {name}")
    await indexer.refresh_books()
    return json_response({"removed": name})


@search.get("/api/v1/admin/search",
            "the search index: documents by source, journals waiting to be indexed, commits, errors",
            tag="operators")
async def admin_search() -> Response:
    ctx = everturn()
    operator(ctx)
    indexer = ctx.search
    if indexer is None:
        raise ApiError(409, "search/disabled", "this server runs without search")
    return json_response(await in_thread(ctx, indexer.status))


@search.post("/api/v1/admin/search/reindex",
             "rebuild the search index from the journal and the rulebooks (searches use the old one until the new "
             "one is complete)", tag="operators")
async def admin_reindex() -> Response:
    ctx = everturn()
    operator(ctx)
    indexer = indexer_of(ctx)
    try:
        return json_response(await indexer.reindex())
    except SearchError as exc:
        raise ApiError(503, "search/reindex_failed", str(exc)) from exc


def indexer_of(ctx: "Everturn") -> "Indexer":
    indexer = ctx.search
    if indexer is None or indexer.index is None:
        raise ApiError(503, "search/unavailable", "search is not running on this server (see its log)",
                       retry_after=5)
    return indexer


def campaigns_of(ctx: "Everturn", principal: "Principal") -> frozenset[str] | None:
    """The campaigns whose posts a token may find (None: every one, an operator's)."""
    if principal.operator:
        return None
    campaign = principal.campaign
    if campaign and principal.reaches(f"campaign/{campaign}", ctx.settings.campaign_kinds):
        return frozenset({campaign})
    return frozenset()


def invalid(exc: Exception) -> ApiError:
    return ApiError(422, "search/invalid_query", str(exc))



async def rephrased(ctx: "Everturn", question: str, result: dict[str, Any]) -> dict[str, Any]:
    """The narrator's rephrasing of a found answer, if the server has one and it keeps every citation.

    ``ctx.rephrase`` is ``async (question, answer) -> str``; the text must cite with the same
    markers ``[1]``, ``[2]``... as the extract, all of them and no others.  Otherwise (no
    narrator, an error, a timeout, a lost citation) the extract stands and
    ``rephrase_error`` says why.
    """
    hook = getattr(ctx, "rephrase", None)
    if hook is None:
        return {**result, "rephrase_error": "this server has no narrator to rephrase answers"}
    text = None
    with trio.move_on_after(REPHRASE_TIMEOUT):
        try:
            text = await hook(question, result)
        except Exception as exc:
            log.warning("rephrasing a rules answer failed: %r", exc)
            return {**result, "rephrase_error": f"the narrator failed ({type(exc).__name__}): {exc}"}
    if not isinstance(text, str) or not text.strip():
        return {**result, "rephrase_error": "the narrator gave no text in time"}
    wanted = {f"[{c['n']}]" for c in result["citations"]}
    cited = set(re.findall(r"\[\d+\]", text))
    if cited != wanted:
        return {**result, "rephrase_error": "the narrator's text did not keep the citations; the extract stands"}
    if text.strip() == result["answer"]:
        return {**result, "rephrase_error": "the narrator kept the rules' own words"}
    return {**result, "answer": text.strip(), "extract": result["answer"], "rephrased": True}


def rulebooks(ctx: Any) -> Rulebooks:
    """The data directory's rulebooks, as the server was given them."""
    if ctx.books is None:
        raise ApiError(503, "rules/unavailable", "this server keeps no rulebooks")
    return ctx.books
