"""Sentences in Chinese, English and mixed text: where they end, and how they join."""

from __future__ import annotations

import re
from collections.abc import Iterator

from meeting_agent.text.cjk import is_cjk

__all__ = ["ensure_terminated", "join_sentences", "split_sentences"]

_CJK_TERMINATORS = "。？！；…"
_LATIN_TERMINATORS = ".?!"
_CLOSERS = "\"'”’)]}）」』】》"
# Abbreviations after which a period never ends a sentence.
_NEVER_FINAL = frozenset(
    {
        "mr",
        "mrs",
        "ms",
        "dr",
        "prof",
        "sr",
        "jr",
        "st",
        "vs",
        "approx",
        "dept",
        "fig",
        "cf",
        "al",
        "jan",
        "feb",
        "mar",
        "apr",
        "jun",
        "jul",
        "aug",
        "sep",
        "sept",
        "oct",
        "nov",
        "dec",
        "e.g",
        "i.e",
    }
)
# Abbreviations that end a sentence only when a capital letter follows.
_MAYBE_FINAL = frozenset({"etc", "a.m", "p.m", "inc", "ltd", "co", "corp", "u.s", "u.k"})


def split_sentences(text: str, *, max_chars: int = 0) -> list[str]:
    """Cut text into sentences at `.?!` and `。？！；…`.

    Periods inside numbers ("3.5"), web names ("example.com"), abbreviations
    ("Dr.", "e.g.") and before a lower-case word are not sentence ends. With
    `max_chars`, longer sentences are cut further at clause punctuation, then spaces,
    so that no piece exceeds it; nothing is dropped.
    """
    pieces = [p for p in _split(text) if p]
    if max_chars <= 0:
        return pieces
    out: list[str] = []
    for piece in pieces:
        out.extend(_split_long(piece, max_chars))
    return out


def _split(text: str) -> Iterator[str]:
    start = 0
    i = 0
    n = len(text)
    while i < n:
        char = text[i]
        end = -1
        if char in _CJK_TERMINATORS or char in "！？":
            end = _after_closers(text, i + 1)
        elif char in "?!":
            j = _after_run(text, i + 1, _LATIN_TERMINATORS)
            end = _after_closers(text, j)
            if end < n and not (text[end].isspace() or is_cjk(text[end])):
                end = -1
        elif char == "." and _period_ends_sentence(text, i):
            end = _after_closers(text, _after_run(text, i + 1, _LATIN_TERMINATORS))
        if end > 0:
            yield text[start:end].strip()
            start = i = end
        else:
            i += 1
    yield text[start:].strip()


def _after_run(text: str, i: int, chars: str) -> int:
    while i < len(text) and text[i] in chars:
        i += 1
    return i


def _after_closers(text: str, i: int) -> int:
    return _after_run(text, i, _CLOSERS)


def _period_ends_sentence(text: str, i: int) -> bool:
    n = len(text)
    nxt = _after_closers(text, _after_run(text, i + 1, "."))
    if nxt < n and not (text[nxt].isspace() or is_cjk(text[nxt])):
        return False  # "3.5", "example.com", "v1.2"
    following = text[nxt:].lstrip()
    if following[:1].islower():
        return False  # "approx. five", "... and then"
    word = re.search(r"([A-Za-z][A-Za-z.]*)$", text[:i])
    if word is None:
        return True
    token = word.group(1).lower()
    if token in _NEVER_FINAL:
        return False
    if token in _MAYBE_FINAL:
        return following[:1].isupper() or is_cjk(following[:1])
    # A single capital other than "I" or "A" is an initial: "J. Smith".
    return not (len(token) == 1 and token not in "ia" and word.group(1).isupper())


def _split_long(sentence: str, limit: int) -> list[str]:
    out: list[str] = []
    rest = sentence
    while len(rest) > limit:
        window = rest[: limit + 1]
        cut = max(window.rfind(c) for c in ",，、:：")
        if cut < limit // 3:
            cut = window.rfind(" ")
        if cut < limit // 3:
            cut = limit - 1
        out.append(rest[: cut + 1].strip())
        rest = rest[cut + 1 :].strip()
    if rest:
        out.append(rest)
    return out


def join_sentences(sentences: list[str]) -> str:
    """Join sentences with a space between Latin ones and nothing after CJK ones."""
    out = ""
    for sentence in sentences:
        sentence = sentence.strip()
        if not sentence:
            continue
        if out and not is_cjk(out[-1]):
            out += " "
        out += sentence
    return out


def ensure_terminated(sentence: str) -> str:
    """Add a full stop (。 or .) when a sentence has no closing punctuation."""
    sentence = sentence.strip()
    if not sentence or sentence[-1] in _CJK_TERMINATORS + _LATIN_TERMINATORS + _CLOSERS + "！？":
        return sentence
    return sentence + ("。" if is_cjk(sentence[-1]) else ".")
