"""``everturn bench search``: the SRD 5.2.1 into a fresh index, and queries against it, each
beside a naive baseline in the same run.

- ``pages_per_s``: SRD pages (their passages as documents) added and committed into a new
  index on disk, the best of three fresh indexes; beside it, the same passages into a Python
  inverted index (word -> passages) in memory.
- ``query_p50_ms`` / ``query_p99_ms``: a fixed seeded set of queries (one to three words of
  the rules' vocabulary), each a whole search as ``GET /api/v1/search`` runs it (BM25 over the
  rules, top 10, stored fields, highlighted snippets), without HTTP; beside them, a naive scan
  that counts the query's words in every passage and keeps the best 10.
- ``ask_p50_ms``: rules answers to a fixed set of questions.
"""
from __future__ import annotations

import random
import re
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import orjson

from snapshots.search.answer import answer
from snapshots.search.documents import rule_documents
from snapshots.search.index import SearchIndex
from snapshots.search.rules import srd_book

VOCABULARY = (
    "attack", "grapple", "prone", "spell", "concentration", "advantage", "disadvantage", "saving", "throw", "damage",
    "hit", "points", "rest", "short", "long", "opportunity", "reaction", "bonus", "action", "cover", "hide",
    "invisible", "frightened", "charmed", "poisoned", "exhaustion", "falling", "jump", "climb", "swim", "light",
    "darkness", "vision", "initiative", "surprise", "critical", "death", "unconscious", "healing", "potion",
    "armor", "shield", "weapon", "finesse", "range", "ammunition", "dragon", "goblin", "wizard", "cleric",
    "ranger", "rogue", "sneak", "fighter", "rage", "level", "proficiency", "skill", "check", "difficulty",
)
QUESTIONS = (
    "How does grappling work?", "What happens when a creature drops to 0 hit points?",
    "How do death saving throws work?", "What is an opportunity attack?", "How long is a short rest?",
    "How does advantage work?", "What does the prone condition do?", "How much damage does falling do?",
    "What is the capital of France?", "How does cover work?",
)


def queries(count: int, seed: int) -> list[str]:
    rng = random.Random(seed)
    return [" ".join(rng.sample(VOCABULARY, rng.randint(1, 3))) for _ in range(count)]


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def measure(count: int = 500, seed: int = 1, say: Any = None) -> dict[str, Any]:
    say = say or (lambda line: None)
    started = time.perf_counter()
    book = srd_book()
    parse_s = time.perf_counter() - started
    docs = rule_documents(book)
    pages = len(book.pages)
    say(f"SRD 5.2.1: {pages} pages, {len(docs)} passages (parsed in {parse_s:.2f} s)")
    with tempfile.TemporaryDirectory(prefix="everturn-bench-search-") as tmp:
        index_s = []
        for run in range(3):
            index = SearchIndex(Path(tmp) / f"run-{run}")
            began = time.perf_counter()
            index.put(docs)
            index.commit()
            index_s.append(time.perf_counter() - began)
            index.close()
        index = SearchIndex(Path(tmp) / "run-0", writable=False)
        began = time.perf_counter()
        postings: dict[str, set[int]] = {}
        for i, doc in enumerate(docs):
            for word in re.findall(r"\w+", f"{doc['title']} {doc['body']}".lower()):
                postings.setdefault(word, set()).add(i)
        dict_s = time.perf_counter() - began
        say(f"indexed: best of 3 {min(index_s):.3f} s (tantivy), {dict_s:.3f} s (Python dict)")
        texts = [f"{doc['title']} {doc['body']}".lower() for doc in docs]
        asked = queries(count, seed)
        for q in asked[:20]:  # warm the caches the way a running server has them
            index.search(q, "rules", limit=10)
        tantivy_ms, scan_ms = [], []
        for q in asked:
            began = time.perf_counter()
            index.search(q, "rules", limit=10)
            tantivy_ms.append((time.perf_counter() - began) * 1000)
            words = q.split()
            began = time.perf_counter()
            scored = sorted(((sum(text.count(w) for w in words), i) for i, text in enumerate(texts)), reverse=True)
            [i for score, i in scored[:10] if score]
            scan_ms.append((time.perf_counter() - began) * 1000)
        ask_ms = []
        for question in QUESTIONS * 5:
            began = time.perf_counter()
            answer(index, question)
            ask_ms.append((time.perf_counter() - began) * 1000)
    best = min(index_s)
    p50, scan_p50 = statistics.median(tantivy_ms), statistics.median(scan_ms)
    return {
        "pages_per_s": round(pages / best, 1),
        "query_p50_ms": round(p50, 3),
        "query_p99_ms": round(percentile(tantivy_ms, 0.99), 3),
        "ask_p50_ms": round(statistics.median(ask_ms), 3),
        "scan_p50_ms": round(scan_p50, 3),
        "scan_ratio": round(scan_p50 / p50, 1),
        "details": {
            "pages": pages, "passages": len(docs), "queries": count, "seed": seed,
            "index_s_runs": [round(s, 4) for s in index_s], "passages_per_s": round(len(docs) / best, 1),
            "dict_pages_per_s": round(pages / dict_s, 1), "scan_p99_ms": round(percentile(scan_ms, 0.99), 3),
            "parse_s": round(parse_s, 3),
        },
    }


def run_search_bench(json_output: bool = False, count: int = 500, seed: int = 1) -> int:
    if count < 1:
        print("everturn bench search: --queries is at least 1", file=sys.stderr)
        return 2
    result = measure(count, seed, say=lambda line: print(f"  {line}", file=sys.stderr, flush=True))
    if json_output:
        print(orjson.dumps(result).decode())
        return 0
    details = result["details"]
    print(f"everturn bench search (SRD 5.2.1: {details['pages']} pages, {details['passages']} passages; "
          f"{count} queries, seed {seed})")
    print(f"  {'figure':<16} {'tantivy':>12} {'naive':>12}  ratio")
    print(f"  {'pages_per_s':<16} {result['pages_per_s']:>12} {details['dict_pages_per_s']:>12}  "
          f"{result['pages_per_s'] / details['dict_pages_per_s']:.2f} (naive: a Python dict in memory, no disk)")
    print(f"  {'query_p50_ms':<16} {result['query_p50_ms']:>12} {result['scan_p50_ms']:>12}  "
          f"{result['scan_ratio']} x faster than scanning every passage")
    print(f"  {'query_p99_ms':<16} {result['query_p99_ms']:>12} {details['scan_p99_ms']:>12}")
    print(f"  {'ask_p50_ms':<16} {result['ask_p50_ms']:>12}")
    return 0
