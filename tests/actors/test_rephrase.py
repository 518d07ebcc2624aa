"""Rephrasing a cited rules answer: the real model rewords sentence by sentence; citations and numbers stay."""
from __future__ import annotations

import re

import trio

from actors.narration.rephrase import acceptable, numbers, rephrase
from actors.narration.service import configured

RESULT = {"found": True, "sentences": [
    {"text": "The second attack on your turn takes a -5 multiple attack penalty, or -4 with an agile weapon.",
     "citation": 1, "score": 1.0},
    {"text": "A critical hit deals double damage, so 1d8+4 becomes 2d8+8.", "citation": 2, "score": 0.5},
]}


def test_a_rewording_must_keep_every_number_and_read_as_prose():
    original = RESULT["sentences"][0]["text"]
    assert numbers(original) == ["-4", "-5"]
    assert acceptable(original, "Your second attack in a turn gets -5 to hit, or -4 if the weapon is agile.")
    assert not acceptable(original, "Your second attack in a turn gets a penalty to hit.")  # the -5 is gone
    assert not acceptable(original, "Your second attack gets -5, or -4 with agile weapons. " * 6)  # padded
    assert not acceptable(original, "As an AI language model, -5 and -4 are numbers.")
    assert numbers("roll 1d20+7 and d6") == ["1d20", "7", "d6"]


async def test_the_narrator_rewords_each_sentence_and_puts_its_citation_back():
    narrator = configured([], threads=2)
    async with narrator.serving():
        with trio.fail_after(120):
            text = await rephrase(narrator, "How does the multiple attack penalty work?", RESULT)
    parts = re.split(r"(?<=\]) ", text)
    assert [re.findall(r"\[(\d+)\]$", part) for part in parts] == [["1"], ["2"]]  # each sentence, its own [n]
    for part, sentence in zip(parts, RESULT["sentences"], strict=True):
        body = part.rsplit(" [", 1)[0]
        assert body == sentence["text"] or acceptable(sentence["text"], body), body
    assert narrator.figures.outcomes == {} and narrator.health.failures == 0  # rephrasing is not narration
