"""Extractive answers to rules questions: the best sentences of the best passages, each cited.

1. The question's content words (stop words out) find the best rule passages (BM25).
2. Each sentence of those passages is scored by how much of the question it covers: the sum
   of the inverse document frequencies of the question's stems found in it or in its
   passage's section heading (a passage headed "Fireball" is about fireball in every
   sentence), over the sum for the whole question.  Rare words weigh most; a question word
   the rules never use still counts in the whole, so an off-topic question covers little.
   Ties go to the better passage (BM25), then to the sentence that says more of the question
   itself, then to the earlier one.
3. The answer is up to ``SENTENCES`` sentences, best first, each ending in a citation marker
   ``[k]`` that indexes ``citations`` (book, page, section).  The best sentence must cover
   ``MIN_COVERAGE`` of the question, or ``MIN_COVERAGE_KNOWN`` when every word of the question
   occurs in the rules (a question about pasta uses words no rulebook does); else the answer is
   "Not found in the rules."  Table rows and stat lines (mostly numbers) are not sentences.
"""
from __future__ import annotations

import math
import re
from typing import Any

import tantivy

from .errors import InvalidQuery
from .index import MAX_QUERY, SearchIndex, first

NOT_FOUND = "Not found in the rules."
PASSAGES = 8            # passages read for sentences
SENTENCES = 3           # sentences in an answer, at most
MIN_COVERAGE = 0.5      # of the question's weight the best sentence must cover to count as an answer
MIN_COVERAGE_KNOWN = 0.34  # the same when the rules use every word of the question
KEEP_RATIO = 0.6        # other sentences must score at least this share of the best one
STOP_WORDS = frozenset("""
a about above after again against all am an and any are as at be because been before being below between both but
by can could did do does doing down during each few for from further had has have having he her here hers herself
him himself his how i if in into is it its itself just me more most my myself no nor not now of off on once only or
other our ours ourselves out over own same she should so some such than that the their theirs them themselves then
there these they this those through to too under until up very was we were what when where which while who whom why
will with would you your yours yourself yourselves rule rules happen happens work works get gets much many
""".split())
_WORD = re.compile(r"\w+", re.UNICODE)
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[\"'\u201c(]?[A-Z0-9])")
_STEMMER = tantivy.TextAnalyzerBuilder(tantivy.Tokenizer.simple()).filter(tantivy.Filter.remove_long(40)).filter(
    tantivy.Filter.lowercase()).filter(tantivy.Filter.stemmer("english")).build()  # what en_stem does


def stems(text: str) -> list[str]:
    return _STEMMER.analyze(text)


def content_words(question: str) -> list[str]:
    """The question's words that carry meaning, lowercased, in order, once each."""
    words = [word.lower() for word in _WORD.findall(question)]
    return list(dict.fromkeys(word for word in words
                              if word not in STOP_WORDS and (not word.isdigit() or len(word) <= 3)))


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
    query = index.restricted(index.words_query(words), "rules", {"book": book} if book else None)
    passages = index.passages(query, PASSAGES) if query is not None else []
    if not passages:
        return not_found()
    weights, known = term_weights(index, words)
    whole = sum(weights.values())
    candidates = []  # (coverage, passage rank, -weight found in the sentence itself, position, sentence, fields)
    for rank, (_, fields) in enumerate(passages):
        heading = set(stems(first(fields, "title", ""))) & weights.keys()
        for position, sentence in enumerate(sentences(first(fields, "body", ""))):
            direct = set(stems(sentence)) & weights.keys()
            if direct | heading:  # summed in a fixed order: equal coverages must compare equal
                coverage = round(sum(weights[t] for t in sorted(direct | heading)) / whole, 9)
                said = round(sum(weights[t] for t in sorted(direct)), 9)
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


def term_weights(index: SearchIndex, words: list[str]) -> tuple[dict[str, float], bool]:
    """Each stem of the question with its inverse document frequency in the indexed bodies (a stem
    never seen weighs as much as the rarest), and whether every stem was seen."""
    total = max(1, index.documents())
    weights, known = {}, True
    for stem in dict.fromkeys(stems(" ".join(words))):
        df = index.doc_freq("body", stem)
        known = known and df > 0
        weights[stem] = math.log(1 + (total - df + 0.5) / (df + 0.5))
    return weights, known


def not_found(coverage: float = 0.0) -> dict[str, Any]:
    return {"found": False, "answer": NOT_FOUND, "sentences": [], "citations": [], "coverage": round(coverage, 3)}
