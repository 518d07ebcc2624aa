"""Search: one tantivy index per data directory, fed by the journal and the stored rulebooks.

Campaign posts, encounter summaries and rulebook pages, ranked by BM25, with highlighted
snippets and citations; extractive rules answers.  The index is derived data: ``reindex``
rebuilds it from the journal and the rulebooks stored in RocksDB.
"""
from .answer import NOT_FOUND, answer
from .errors import InvalidQuery, RulebookError, SearchError
from .index import HIGHLIGHT, MAX_LIMIT, MAX_OFFSET, SCOPES, SearchIndex, decode_cursor, encode_cursor
from .indexer import Feeder, Indexer, open_feeder, rebuild, search_root
from .projection import Facts, Projection
from .rules import (
    REFERENCE, SRD, Book, BookInfo, book_info, check_name, ensure_reference, get_book, list_books, parse_text,
    put_book, read_book_file, reference_book, remove_book, srd_book,
)

__all__ = [
    "Book", "BookInfo", "Facts", "Feeder", "HIGHLIGHT", "Indexer", "InvalidQuery", "MAX_LIMIT", "MAX_OFFSET", "NOT_FOUND",
    "Projection", "REFERENCE", "SCOPES", "SRD", "RulebookError", "SearchError", "SearchIndex", "answer", "book_info",
    "check_name", "decode_cursor", "encode_cursor", "ensure_reference", "get_book", "list_books", "open_feeder",
    "parse_text", "put_book", "read_book_file", "rebuild", "reference_book", "remove_book", "search_root", "srd_book",
]
