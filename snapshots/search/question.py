"""How a rules question is read: its content words, their stems, and the ideas they name.

A player asks in their words, a rulebook answers in its own: "knocked to 0 hit points" and
"brought to 0 HP" say the same thing.  :data:`SYNONYMS` lists groups of phrases that mean
one thing in the rules; :func:`ideas` reads a question's content words as ideas, each with
every spelling of its group (a word of no group is an idea spelled one way).  A passage is
searched for any spelling of any idea, and a sentence covers an idea when it holds every
stem of one of its spellings.  Phrases go through the same stop words and stemmer as the
question, so "knocked out" is the stem ``knock`` and "hit points" the stems ``hit point``.

Keep the table small and about the rules' own vocabulary: a group whose phrases are not
interchangeable in every rule (say "creature" and "character") makes answers worse.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

import tantivy

STOP_WORDS = frozenset("""
a about above after again against all am an and any are as at be because been before being below between both but
by can could did do does doing down during each few for from further had has have having he her here hers herself
him himself his how i if in into is it its itself just me more most my myself no nor not now of off on once only or
other our ours ourselves out over own same she should so some such than that the their theirs them themselves then
there these they this those through to too under until up very was we were what when where which while who whom why
will with would you your yours yourself yourselves rule rules happen happens work works get gets much many
""".split())
SYNONYMS: tuple[tuple[str, ...], ...] = (
    ("hit points", "hp"),
    ("0", "zero"),
    ("knocked out", "unconscious", "ko"),
    ("dying", "bleeding out"),
    ("attack of opportunity", "opportunity attack", "reactive strike"),
    ("armor class", "ac"),
    ("difficulty class", "dc"),
)
_WORD = re.compile(r"\w+", re.UNICODE)
_STEMMER = tantivy.TextAnalyzerBuilder(tantivy.Tokenizer.simple()).filter(tantivy.Filter.remove_long(40)).filter(
    tantivy.Filter.lowercase()).filter(tantivy.Filter.stemmer("english")).build()  # what en_stem does

Spelling = tuple[str, ...]  # the stems of one way to write an idea


def stems(text: str) -> list[str]:
    return _STEMMER.analyze(text)


def content_words(question: str) -> list[str]:
    """The question's words that carry meaning, lowercased, in order, once each."""
    words = [word.lower() for word in _WORD.findall(question)]
    return list(dict.fromkeys(word for word in words
                              if word not in STOP_WORDS and (not word.isdigit() or len(word) <= 3)))


@dataclass(frozen=True)
class Idea:
    """One thing a question asks about: the way it was said first, then every other spelling."""

    spellings: tuple[Spelling, ...]
    words: tuple[str, ...]  # the plain words of every spelling, to search the index with


def _group(phrases: tuple[str, ...]) -> tuple[tuple[Spelling, ...], tuple[str, ...]]:
    words = [content_words(phrase) for phrase in phrases]
    spellings = tuple(dict.fromkeys(tuple(stems(" ".join(w))) for w in words if w))
    return spellings, tuple(dict.fromkeys(word for w in words for word in w))


_GROUPS = [_group(phrases) for phrases in SYNONYMS]


def ideas(words: list[str]) -> list[Idea]:
    """The ideas of a question's content words, in order, once each: at each word the longest
    spelling of a synonym group that starts there, else the word alone."""
    said = [(stem, word) for word in words for stem in stems(word)]
    out: dict[tuple[Spelling, ...], Idea] = {}
    at = 0
    while at < len(said):
        match = max(((spelling, group) for group in _GROUPS for spelling in group[0]
                     if tuple(stem for stem, _ in said[at:at + len(spelling)]) == spelling),
                    key=lambda m: len(m[0]), default=None)
        if match is None:
            idea = Idea(((said[at][0],),), (said[at][1],))
            at += 1
        else:
            spelling, (spellings, group_words) = match
            idea = Idea((spelling, *(s for s in spellings if s != spelling)), group_words)
            at += len(spelling)
        out.setdefault(tuple(sorted(idea.spellings)), idea)
    return list(out.values())
