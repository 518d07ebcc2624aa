"""Extractive answers to rules questions: the best sentences of the best passages, each cited.

1. The question's content words (stop words out) are read as ideas, each with its synonyms
   (:mod:`.question`: "hit points" is also "HP", "0" also "zero"); every spelling of every
   idea finds the best rule passages (BM25).
2. Each sentence of those passages is scored by how much of the question it covers: the sum
   of the weights of the question's ideas found in it or in its passage's section heading
   (a passage headed "Fireball" is about fireball in every sentence), over the sum for the
   whole question.  An idea is found where every stem of one of its spellings is; it weighs
   the inverse document frequency of its commonest spelling (a spelling's is the sum of its
   stems').  Rare words weigh most; a question word the rules never use still counts in the
   whole, so an off-topic question covers little.
   Ties go to the better passage (BM25), then to the sentence that says more of the question
   itself, then to the earlier one.
3. The answer is up to ``SENTENCES`` sentences, best first, each ending in a citation marker
   ``[k]`` that indexes ``citations`` (book, page, section).  The best sentence must cover
   ``MIN_COVERAGE`` of the question, or ``MIN_COVERAGE_KNOWN`` when every idea of the question
   occurs in the rules (in one of its spellings) (a question about pasta uses words no rulebook does); else the answer is
   "Not found in the rules."  Table rows and stat lines (mostly numbers) are not sentences.
"""
from __future__ import annotations

import math
import re
from typing import Any

from .errors import InvalidQuery
from .index import MAX_QUERY, SearchIndex, first
from .question import Idea, content_words, ideas, stems

NOT_FOUND = "Not found in the rules."
PASSAGES = 8            # passages read for sentences
SENTENCES = 3           # sentences in an answer, at most
MIN_COVERAGE = 0.5      # of the question's weight the best sentence must cover to count as an answer
MIN_COVERAGE_KNOWN = 0.34  # the same when the rules use every idea of the question
KEEP_RATIO = 0.6        # other sentences must score at least this share of the best one
_WORD = re.compile(r"\w+", re.UNICODE)
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[\"'\u201c(]?[A-Z0-9])")


def sentences(text: str) -> list[str]:
    """A passage's sentences: paragraphs split after '.', '!' or '?' before a capital or digit."""
    out = []
    for paragraph in text.split("\n"):
        for sentence in _SENTENCE_END.split(paragraph.strip()):
            sentence = sentence.strip()
            words = _WORD.findall(sentence)
            prose = sum(1 for word in words if word.isalpha())
            if len(sentence) >= 12 and words and prose >= 0.6 * len(words):
                out.append(sentence)
    return out


def answer(index: SearchIndex, question: str, book: str | None = None) -> dict[str, Any]:
    """``{"found", "answer", "sentences": [{text, citation, score}], "citations": [...]}``; raises InvalidQuery."""
    question = (question or "").strip()
    if not question:
        raise InvalidQuery("the question is empty")
    if len(question) > MAX_QUERY:
        raise InvalidQuery(f"the question is {len(question)} characters long; at most {MAX_QUERY}")
    words = content_words(question)
    if not _WORD.search(question):
        raise InvalidQuery(f"no words to look up in {question!r}")
    if not words:
        return not_found()
    asked = ideas(words)
    searched = list(dict.fromkeys(word for idea in asked for word in idea.words))
    query = index.restricted(index.words_query(searched), "rules", {"book": book} if book else None)
    passages = index.passages(query, PASSAGES) if query is not None else []
    if not passages:
        return not_found()
    weights, known = idea_weights(index, asked)
    whole = sum(weights)
    candidates = []  # (coverage, passage rank, -weight found in the sentence itself, position, sentence, fields)
    for rank, (_, fields) in enumerate(passages):
        heading = set(stems(first(fields, "title", "")))
        for position, sentence in enumerate(sentences(first(fields, "body", ""))):
            own = set(stems(sentence))
            direct = [covers(idea, own) for idea in asked]
            found = [d or covers(idea, own | heading) for d, idea in zip(direct, asked)]
            if any(found):  # summed in a fixed order: equal coverages must compare equal
                coverage = round(sum(w for w, f in zip(weights, found) if f) / whole, 9)
                said = round(sum(w for w, d in zip(weights, direct) if d), 9)
                candidates.append((coverage, rank, -said, position, sentence, fields))
    if not candidates:
        return not_found()
    candidates.sort(key=lambda c: (-c[0], c[1], c[2], c[3]))
    best = candidates[0][0]
    if best < (MIN_COVERAGE_KNOWN if known else MIN_COVERAGE):
        return not_found(best)
    chosen, seen = [], set()
    for coverage, _, _, _, sentence, fields in candidates:
        if coverage < best * KEEP_RATIO or len(chosen) == SENTENCES:
            break
        if sentence.lower() not in seen:
            seen.add(sentence.lower())
            chosen.append((coverage, sentence, fields))
    citations: list[dict[str, Any]] = []
    keys: dict[tuple, int] = {}
    out = []
    for coverage, sentence, fields in chosen:
        key = (first(fields, "book"), first(fields, "page"), first(fields, "title", ""))
        if key not in keys:
            keys[key] = len(citations) + 1
            citations.append({"n": keys[key], "book": key[0], "book_title": first(fields, "book_title"),
                              "page": key[1], "section": key[2], "attribution": first(fields, "attribution") or None,
                              "license": first(fields, "license") or None})
        out.append({"text": sentence, "citation": keys[key], "score": round(coverage, 3)})
    text = " ".join(f"{s['text']} [{s['citation']}]" for s in out)
    return {"found": True, "answer": text, "sentences": out, "citations": citations, "coverage": round(best, 3)}


def covers(idea: Idea, found: set[str]) -> bool:
    """Whether ``found`` (stems) holds every stem of one spelling of ``idea``."""
    return any(found.issuperset(spelling) for spelling in idea.spellings)


def idea_weights(index: SearchIndex, asked: list[Idea]) -> tuple[list[float], bool]:
    """Each idea's weight: the inverse document frequency in the indexed bodies of its commonest
    spelling the rules use (a spelling weighs the sum of its stems'; a stem never seen weighs as
    much as the rarest); and whether the rules use every idea, in one spelling or another."""
    total = max(1, index.documents())

    def idf(stem: str) -> tuple[float, bool]:
        df = index.doc_freq("body", stem)
        return math.log(1 + (total - df + 0.5) / (df + 0.5)), df > 0

    weights, known = [], True
    for idea in asked:
        spelt = [[idf(stem) for stem in spelling] for spelling in idea.spellings]
        seen = [sum(w for w, _ in s) for s in spelt if all(ok for _, ok in s)]
        known = known and bool(seen)
        weights.append(min(seen) if seen else sum(w for w, _ in spelt[0]))
    return weights, known


def not_found(coverage: float = 0.0) -> dict[str, Any]:
    return {"found": False, "answer": NOT_FOUND, "sentences": [], "citations": [], "coverage": round(coverage, 3)}
