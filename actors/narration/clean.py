"""What the narrator may post: cleaning a small model's raw text, then checking it.

Pure functions of the text (no model, no clock). ``clean`` repairs what can be repaired
(role tokens and prefixes, wrapping quotes, markdown, whitespace, repeated sentences,
length); ``check`` says why what is left should not be posted, as one of ``REASONS``, so
the caller can fall back to the template text and say which reason made it.
"""
from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable

REASONS = ("empty", "role_leak", "too_short", "meta", "not_prose", "repetitive", "missing_name", "unsafe",
           "first_person")

ELLIPSIS = "…"

# Chat-format control tokens of the common templates (ChatML, Llama 2, Mistral, the GGUF eos).
_TOKEN = re.compile(r"(<\|[A-Za-z_]+\|>|</?s>|\[/?INST\]|<</?SYS>>)")
_ROLE_WORD = re.compile(r"\s*(system|user|assistant)\b[ \t]*:?", re.IGNORECASE)
# The narrator's own voice announcing itself at the start of a line: dropped, the text kept.
_OWN_PREFIX = re.compile(r"^\s*(?:the\s+)?(?:assistant|narrator|narration|system|gm|game\s*master|dm|ai|bot|answer|"
                         r"response|output)\s*:\s*", re.IGNORECASE)
# Someone else's turn starting: the model writing the next message; everything from here goes.
_OTHER_TURN = re.compile(r"^\s*(?:user|human|player|question|instruction)\s*:", re.IGNORECASE)
# "Aria:", "Old Maren:", "Scene:" at the start of a line: a speaker or a label, not prose.
_LABEL = re.compile(r"^\s*[A-Z][\w'’-]*(?:\s+[A-Z][\w'’-]*){0,2}\s*:(?:\s+|$)")
_HEADING = re.compile(r"^\s*#{1,6}(?:\s|$)")
_RULE = re.compile(r"^\s*(?:[-*_=]\s*){3,}$")
_BULLET = re.compile(r"^\s*(?:[-*+•>]|\d{1,3}[.)])\s+")
_SENTENCE_END = re.compile(r"(?<=[.!?…])\s+|(?<=[.!?…][\"'”’)\]])\s+")
_ENDED = re.compile(r"[.!?…][\"'”’)\]]?$")
_WORD = re.compile(r"[^\W_]+")
_QUOTES = (('"', '"'), ("“", "”"), ("'", "'"), ("‘", "’"))


def clean(text: str, *, max_chars: int = 600) -> str:
    """The raw text made postable: one paragraph of whole sentences, at most ``max_chars`` long.

    Idempotent (``clean(clean(x)) == clean(x)``); may return ``""`` when nothing of
    prose is left, which ``check`` reports as ``"empty"``.
    """
    if max_chars < 1:
        raise ValueError("max_chars must be at least 1")
    # One rule can expose another (quotes around a "Narrator:" prefix, a prefix inside
    # quotes): repeat until nothing changes. Each pass only shortens, so this ends quickly.
    for _ in range(8):
        cleaned = _clean_once(text, max_chars)
        if cleaned == text:
            break
        text = cleaned
    return text


def _clean_once(text: str, max_chars: int) -> str:
    text = _first_answer(text.replace("\r\n", "\n").replace("\r", "\n"))
    lines: list[str] = []
    for raw in text.split("\n"):
        if _RULE.match(raw):
            continue
        line = _BULLET.sub("", raw).replace("*", "").replace("`", "").replace("__", "")
        if _OTHER_TURN.match(line):
            break
        own = _OWN_PREFIX.match(line)
        if own:
            line = line[own.end():]
        elif _LABEL.match(line):
            if any(kept.strip() for kept in lines):
                break  # "Aria: ...", "Scene: ..." after the prose: a transcript or notes begin
            line = _LABEL.sub("", line, count=1)  # a speaker's name before the words
        lines.append(line)
    if sum(bool(line.strip()) for line in lines) > 1:  # a title over prose: dropped; a lone one is the text
        lines = [line for line in lines if not _HEADING.match(line)]
    lines = [_HEADING.sub("", line) for line in lines]
    text = " ".join(" ".join(lines).split())
    text = _unquote(text)
    seen: set[str] = set()
    sentences = []
    for sentence in _SENTENCE_END.split(text):
        key = " ".join(_WORD.findall(sentence.lower()))
        if key and key not in seen:  # no letters or digits at all ("...", "!!"): noise, dropped
            seen.add(key)
            sentences.append(sentence)
    if len(sentences) > 1 and not _ENDED.search(sentences[-1]):
        sentences.pop()  # the model stopped mid-sentence (max_tokens): end at the last whole one
    return _cut(sentences, max_chars)


def _first_answer(text: str) -> str:
    """The first non-empty stretch not written by the system or the user, between control tokens."""
    role: str | None = None
    for piece in _TOKEN.split(text):
        if _TOKEN.fullmatch(piece):
            if piece == "<|im_start|>":
                role = "turn"  # the role word follows
            elif piece in ("[INST]", "<<SYS>>"):
                role = "user"
            elif piece == "<</SYS>>":
                role = "user"  # Llama 2 puts the system block inside the user's [INST]
            else:
                role = None
            continue
        if role == "turn":
            said = _ROLE_WORD.match(piece)
            role = said.group(1).lower() if said else None
            piece = piece[said.end():] if said else piece
        if role in (None, "assistant") and piece.strip():
            return piece
    return ""


def _unquote(text: str) -> str:
    for opening, closing in _QUOTES:
        inner = text[1:-1]
        if (len(text) >= 2 and text[0] == opening and text[-1] == closing
                and opening not in inner and closing not in inner):
            return inner.strip()
    return text


def _cut(sentences: list[str], max_chars: int) -> str:
    text = " ".join(sentences)
    if len(text) <= max_chars:
        return text
    kept: list[str] = []
    size = -1
    for sentence in sentences:
        if size + 1 + len(sentence) > max_chars:
            break
        kept.append(sentence)
        size += 1 + len(sentence)
    if kept:
        return " ".join(kept)
    # Not even the first sentence fits: cut it at a word and say so.
    head = text[:max_chars - 1]
    if " " in head.strip():
        head = head[:head.rstrip().rfind(" ")]
    head = head.rstrip(" ,;:-–—")
    return head + ELLIPSIS if _WORD.search(head) else ""


_LEAK = re.compile(r"<\|[A-Za-z_]*\|?>?|\|>|</?s>|\[/?INST\]|<</?SYS>>|^\s*(?:system|user|assistant|human)\s*:",
                   re.IGNORECASE | re.MULTILINE)
# Words a table's narrator never says unprompted (slurs, the strongest profanity); a small model
# picks them up from its web text. A GM who wants a foul-mouthed NPC writes the line themselves.
_UNSAFE = re.compile(
    r"\b(?:(?:mother)?fuck(?:s|ed|er|ers|ing)?|shit(?:s|ty|ting)?|bitch(?:es|y)?|cunts?|whores?|sluts?|assholes?|"
    r"dickheads?|nigg(?:er|a)s?|fags?|faggots?|retard(?:s|ed)?|rap(?:e|es|ed|ing|ist|ists)|kikes?|spics?|"
    r"trann(?:y|ies))\b", re.IGNORECASE)  # whole words: a bastard sword, a spice pouch or grapes stay

_META = re.compile(
    r"\b(?:as an? (?:ai|assistant|language model|narrator ai|large language model)|language model|"
    r"i(?: am|'m) (?:an? )?(?:ai|artificial intelligence|assistant|chatbot|bot)\b|ai assistant|"
    r"i (?:cannot|can't|can not|am unable to|won't) (?:help|assist|fulfill|comply|provide|create|generate|write)|"
    r"(?:i'm|i am) sorry,? but|i apologi[sz]e|openai|chatgpt|smollm|hugging ?face|my (?:training|programming)|"
    r"the prompt\b|(?:one|two|three|[123]) (?:to (?:two|three|[23]) )?(?:short )?sentences\b|"
    r"here (?:is|'s) (?:a|the|your) (?:short |brief )?(?:narration|story|"
    r"response|paragraph|description))",
    re.IGNORECASE)
_URL = re.compile(r"https?://|www\.\w|\w\.(?:com|org|net|io)\b", re.IGNORECASE)
_CODE = re.compile(r"```|\b(?:def|class|function)\s+\w+\s*[(:{]|^\s*(?:import\s+\w+|from\s+\w+\s+import\b|#include)|"
                   r"[{};]\s*$|=>|==|\w\(\)|</?\w+>|\w+_\w+|\w+\.\w+\(", re.MULTILINE)
_FIRST_PERSON = re.compile(r"\b(?:I|I'm|I've|I'll|I'd|me|my|mine|myself|we|we're|our|ours|us)\b")
_QUOTED = re.compile(r"\"[^\"]*\"|“[^”]*”|‘[^’]*’")

# Words every stretch of English prose is full of; a "text" with almost none is a list of tokens.
_FUNCTION_WORDS = frozenset(
    "a an the and or but of to in on at by for with from into onto over under as is are was were be been it its "
    "he she they them his her their him we you your i my this that these those there here not no so then than "
    "while when where who which what up down out off through across against toward towards behind before after "
    "has have had does do did will would can could".split())


def check(text: str, *, min_chars: int = 20, names: Iterable[str] = (), third_person: bool = False) -> str | None:
    """``None`` if the (cleaned) text may be posted, else why not: one of ``REASONS``.

    ``names``: characters the text is expected to mention; when given, at least one of
    them (or its first word: "Aria" for "Aria Swiftwind") must appear, else "missing_name".
    ``third_person``: the narrator's own voice, which never says I (a small model slips into a
    character's first person); quoted speech may, so it is not looked at.
    """
    stripped = text.strip()
    if not stripped:
        return "empty"
    if _LEAK.search(stripped):
        return "role_leak"
    if len(stripped) < min_chars:
        return "too_short"
    if _META.search(stripped):
        return "meta"
    words = _WORD.findall(stripped.lower())
    letters = sum(ch.isalpha() for ch in stripped)
    visible = sum(not ch.isspace() for ch in stripped)
    if (_URL.search(stripped) or _CODE.search(stripped) or not words or letters < 0.7 * visible
            or max(map(len, words)) > 30  # no word of any language here is this long: a hash, a key, a run
            or (len(words) >= 8 and sum(word in _FUNCTION_WORDS for word in words) < 0.08 * len(words))):
        return "not_prose"
    if _repetitive(words):
        return "repetitive"
    if _UNSAFE.search(stripped):
        return "unsafe"
    if third_person and _FIRST_PERSON.search(_QUOTED.sub(" ", stripped)):
        return "first_person"
    wanted = [name.strip() for name in names if name.strip()]
    if wanted and not any(_mentions(stripped, name) for name in wanted):
        return "missing_name"
    return None


def _repetitive(words: list[str]) -> bool:
    if len(words) >= 8 and len(set(words)) < 0.4 * len(words):
        return True
    trigrams = Counter(zip(words, words[1:], words[2:], strict=False))
    return bool(trigrams) and trigrams.most_common(1)[0][1] >= 3


def _mentions(text: str, name: str) -> bool:
    for form in {name, name.split()[0]}:
        if re.search(rf"(?<!\w){re.escape(form)}(?!\w)", text, re.IGNORECASE):
            return True
    return False
