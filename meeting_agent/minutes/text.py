"""Text handling shared by the minutes generators and the exports: Chinese and English.

Mandarin has no spaces between words, so wherever words matter (ranking, keywords)
Chinese runs are cut into overlapping character bigrams, the usual dictionary-free
stand-in for word segmentation. Latin text is cut at word boundaries.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterator

__all__ = [
    "clock_text",
    "estimate_tokens",
    "is_cjk",
    "is_cjk_text",
    "join_sentences",
    "split_sentences",
    "terms",
]

# CJK ideographs (basic, extension A, compatibility), kana, Hangul syllables.
_CJK_RANGES = "\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\u3040-\u30ff\uac00-\ud7af"
CJK_CHAR = re.compile(f"[{_CJK_RANGES}]")
_CJK_RUN = f"[{_CJK_RANGES}]+"
# Full-width punctuation and symbols take a CJK cell too (for line widths and tokens).
_WIDE = re.compile(f"[{_CJK_RANGES}\u3000-\u303f\uff00-\uffef]")

_CJK_TERMINATORS = "。？！；…"
_LATIN_TERMINATORS = ".?!"
_CLOSERS = "\"'”’)]}）」』】》"
# Abbreviations after which a period never ends a sentence.
_NEVER_FINAL = frozenset({
    "mr", "mrs", "ms", "dr", "prof", "sr", "jr", "st", "vs", "approx", "dept", "fig", "cf", "al",
    "jan", "feb", "mar", "apr", "jun", "jul", "aug", "sep", "sept", "oct", "nov", "dec",
    "e.g", "i.e",
})
# Abbreviations that end a sentence only when a capital letter follows.
_MAYBE_FINAL = frozenset({"etc", "a.m", "p.m", "inc", "ltd", "co", "corp", "u.s", "u.k"})


def is_cjk(char: str) -> bool:
    """True for a character that takes a full-width cell (ideographs, kana, CJK marks)."""
    return bool(_WIDE.match(char))


def is_cjk_text(text: str) -> bool:
    """Whether Chinese (or another CJK script) dominates the text.

    One CJK character weighs about as much as one English word, which is what the
    comparison uses; mixed sentences such as "我们用 Kubernetes 部署" count as CJK.
    """
    cjk = len(CJK_CHAR.findall(text))
    latin_words = len(re.findall(r"[A-Za-z]+", text))
    return cjk > 0 and cjk >= latin_words


def estimate_tokens(text: str) -> int:
    """A conservative prompt-size estimate without a tokenizer.

    CJK characters cost about one token each in common tokenizers; other text about a
    quarter of a token per character. Dividing by three instead of four leaves headroom
    for tokenizers that split English less efficiently.
    """
    wide = len(_WIDE.findall(text))
    return wide + math.ceil((len(text) - wide) / 3)


def clock_text(seconds: float) -> str:
    """Seconds as "HH:MM:SS", rounded down (hours keep counting past 99)."""
    whole = max(int(seconds), 0)
    return f"{whole // 3600:02d}:{whole % 3600 // 60:02d}:{whole % 60:02d}"


# ---------------------------------------------------------------- sentences


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


# ---------------------------------------------------------------- terms

_TOKEN = re.compile(rf"[A-Za-z][A-Za-z0-9'’\-]*|{_CJK_RUN}")

_STOPWORD_TEXT = """
    a about above after again against all also am an and any are aren't as at be because
    been before being below between both but by can can't cannot could couldn't did didn't do
    does doesn't doing don't down during each few for from further get gets got had hadn't has
    hasn't have haven't having he he'd he'll he's her here here's hers herself him himself his
    how how's i i'd i'll i'm i've if in into is isn't it it's its itself just let let's like
    me more most mustn't my myself no nor not now of off on once only or other ought our ours
    ourselves out over own really same shan't she she'd she'll she's should shouldn't so some
    such than that that's the their theirs them themselves then there there's these they
    they'd they'll they're they've this those through to too under until up very was wasn't
    we we'd we'll we're we've were weren't what what's when when's where where's which while
    who who's whom why why's will with won't would wouldn't you you'd you'll you're you've your
    yours yourself yourselves yeah yes yep okay ok um uh uhm erm hmm oh ah right well sure
    thanks thank think know going go want need needs get one two three also maybe actually
    basically kind sort lot lots thing things something anything everything guys everyone
    good great fine mean said say says tell look looks see make sure still even way back
    today tomorrow week next last time bit little much many us put take done new old first
    second item items topic topics agenda start started"""
STOPWORDS = frozenset(_STOPWORD_TEXT.split())

# Characters that are function words on their own; a bigram made only of them carries
# no topic ("我们", "这个", "就是").
STOP_CHARS = frozenset(
    "的了是在我你他她它们这那就都也和与及或" "吗呢吧啊呀哦嗯哈么嘛啦个一不有没要会能"
    "把被给让对从到为而但所以如果因还很太更" "最又再才已经着过地得说看下上里中些"
)


def _stem(word: str) -> str:
    if word.endswith(("'s", "’s")):
        word = word[:-2]
    if len(word) > 4 and word.endswith("ies"):
        return word[:-3] + "y"
    if len(word) > 3 and word.endswith("s") and not word.endswith(("ss", "us", "is")):
        return word[:-1]
    return word


def terms(text: str) -> list[str]:
    """Content terms of a text: stemmed English words and CJK character bigrams."""
    out: list[str] = []
    for match in _TOKEN.finditer(text):
        token = match.group()
        if CJK_CHAR.match(token):
            if len(token) == 1:
                if token not in STOP_CHARS:
                    out.append(token)
                continue
            for k in range(len(token) - 1):
                bigram = token[k : k + 2]
                if not (bigram[0] in STOP_CHARS and bigram[1] in STOP_CHARS):
                    out.append(bigram)
        else:
            word = token.lower().strip("'’-")
            if len(word) > 1 and word not in STOPWORDS:
                out.append(_stem(word))
    return out
