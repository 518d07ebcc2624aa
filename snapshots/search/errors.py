"""Errors of the search layer.

    SearchError            anything search cannot do
    ├── InvalidQuery       a query or filter nothing can be searched for (empty, too long, unknown scope)
    └── RulebookError      a rulebook cannot be imported or found (no pages, a bad name, an unreadable file)
"""
from __future__ import annotations


class SearchError(Exception):
    """Base class of every search failure."""


class InvalidQuery(SearchError):
    """The query (or one of its filters) cannot be searched; the message says why, for a person."""


class RulebookError(SearchError):
    """A rulebook cannot be imported, stored or found."""
