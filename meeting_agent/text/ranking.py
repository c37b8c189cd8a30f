"""Sentence ranking, topic segmentation and keyword titles, in time linear in length.

- Ranking is centroid-based TF-IDF (as in MEAD): a sentence scores by its cosine
  to the whole meeting's centroid. Unlike pairwise TextRank it costs one pass,
  which matters for transcripts of several hours.
- Segmentation is TextTiling: lexical similarity of the sentence windows on either
  side of each gap, and boundaries at the deepest valleys.
- Titles are the section's most distinctive phrases: English word n-grams, or chains
  of repeated Chinese character bigrams (which rebuild words such as "数据库迁移"
  without a dictionary).
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Sequence

from meeting_agent.text.cjk import CJK_CHAR
from meeting_agent.text.terms import STOPWORDS

Vector = dict[str, float]

__all__ = [
    "Vector",
    "centroid",
    "cosine",
    "idf_weights",
    "keyphrases",
    "segment_topics",
    "tfidf",
]


def idf_weights(documents: Sequence[Sequence[str]]) -> dict[str, float]:
    df: Counter[str] = Counter()
    for doc in documents:
        df.update(set(doc))
    n = len(documents)
    return {term: math.log((n + 1) / (count + 1)) + 1.0 for term, count in df.items()}


def tfidf(terms: Sequence[str], idf: dict[str, float]) -> Vector:
    """A unit-length vector with sublinear term frequency."""
    counts = Counter(terms)
    vec = {t: (1.0 + math.log(c)) * idf.get(t, 1.0) for t, c in counts.items()}
    return _normalise(vec)


def _normalise(vec: Vector) -> Vector:
    norm = math.sqrt(sum(v * v for v in vec.values()))
    return {t: v / norm for t, v in vec.items()} if norm else {}


def centroid(vectors: Sequence[Vector]) -> Vector:
    total: dict[str, float] = {}
    for vec in vectors:
        for t, v in vec.items():
            total[t] = total.get(t, 0.0) + v
    return _normalise(total)


def cosine(a: Vector, b: Vector) -> float:
    """Dot product of two unit vectors (iterating the smaller one)."""
    if len(a) > len(b):
        a, b = b, a
    return sum(v * b.get(t, 0.0) for t, v in a.items())


def _counts_cosine(a: Counter[str], b: Counter[str]) -> float:
    if not a or not b:
        return 0.0
    if len(a) > len(b):
        a, b = b, a
    dot = sum(v * b.get(t, 0) for t, v in a.items())
    na = math.sqrt(sum(v * v for v in a.values()))
    nb = math.sqrt(sum(v * v for v in b.values()))
    return dot / (na * nb)


# ---------------------------------------------------------------- topics


def segment_topics(
    sentence_terms: Sequence[Sequence[str]], times: Sequence[float], duration: float
) -> list[int]:
    """Start indices of topic sections (always beginning with 0), for sentences in order.

    The number of sections grows with length: about one per 6 sentences and one per
    minute at most, ten at most, and at least one per 20 minutes so long meetings
    are always divided. When the text gives no lexical signal (repetitive speech)
    the sections fall back to an even split in time.
    """
    n = len(sentence_terms)
    if n < 8:
        return [0]
    k_max = max(1, min(10, n // 6, int(duration // 60) or 1))
    k_min = max(1, min(k_max, round(duration / 1200)))
    if k_max == 1:
        return [0]
    min_size = max(3, n // (3 * k_max))
    depths = _gap_depths(sentence_terms)
    ranked = sorted(range(1, n), key=lambda i: (-depths[i], i))
    positive = [depths[i] for i in range(1, n) if depths[i] > 0]
    threshold = (sum(positive) / len(positive)) if positive else math.inf
    starts: list[int] = []
    for gap in ranked:
        if len(starts) >= k_max - 1:
            break
        if depths[gap] <= 0 or (depths[gap] < threshold and len(starts) >= k_min - 1):
            break
        if gap < min_size or n - gap < min_size:
            continue
        if all(abs(gap - s) >= min_size for s in starts):
            starts.append(gap)
    if len(starts) < k_min - 1:
        starts = _even_split(times, k_min)
    return [0, *sorted(starts)]


def _gap_depths(sentence_terms: Sequence[Sequence[str]]) -> list[float]:
    """TextTiling depth score for the gap before each sentence (index 0 unused)."""
    n = len(sentence_terms)
    w = max(2, min(6, n // 10))
    left: Counter[str] = Counter()
    right: Counter[str] = Counter()
    for terms in sentence_terms[0:w]:
        right.update(terms)
    raw = [0.0] * n
    # Slide two adjacent windows of w sentences across the text, updating counts.
    for gap in range(1, n):
        left.update(sentence_terms[gap - 1])
        if gap - 1 - w >= 0:
            left.subtract(sentence_terms[gap - 1 - w])
        right.subtract(sentence_terms[gap - 1])
        if gap - 1 + w < n:
            right.update(sentence_terms[gap - 1 + w])
        # Unary plus drops the zero counts that `subtract` leaves behind.
        left, right = +left, +right
        raw[gap] = _counts_cosine(left, right)
    smooth = raw[:]
    for gap in range(2, n - 1):
        smooth[gap] = (raw[gap - 1] + raw[gap] + raw[gap + 1]) / 3
    reach = 2 * w
    depths = [0.0] * n
    for gap in range(1, n):
        lo, hi = max(1, gap - reach), min(n - 1, gap + reach)
        left_peak = max(smooth[lo : gap + 1])
        right_peak = max(smooth[gap : hi + 1])
        depths[gap] = (left_peak - smooth[gap]) + (right_peak - smooth[gap])
    return depths


def _even_split(times: Sequence[float], k: int) -> list[int]:
    if not times:
        return []
    first, last = times[0], times[-1]
    starts: list[int] = []
    index = 0
    for part in range(1, k):
        cut = first + (last - first) * part / k
        while index < len(times) and times[index] < cut:
            index += 1
        if 0 < index < len(times) and (not starts or index > starts[-1]):
            starts.append(index)
    return starts


# ---------------------------------------------------------------- titles

_WORD_RUN = re.compile(r"[A-Za-z][A-Za-z0-9'’\-]*(?:\s+[A-Za-z][A-Za-z0-9'’\-]*)*")
_CJK_RUN = re.compile(f"(?:{CJK_CHAR.pattern})+")
# Function characters that never belong in a title phrase.
_TITLE_STOP_CHARS = frozenset(
    "的了吗呢吧啊呀嗯哦哈么着们我你他她它这那就都也是在和把被给个一不没很还说"
)


def phrase_counts(text: str) -> Counter[str]:
    """Candidate title phrases of a text with their frequencies."""
    counts: Counter[str] = Counter()
    for run in _WORD_RUN.findall(text):
        words = [w.lower().strip("'’-") for w in run.split()]
        chunk: list[str] = []
        for word in [*words, ""]:
            if word and word not in STOPWORDS and len(word) > 2 and not word.isdigit():
                chunk.append(word)
                continue
            for size in (1, 2, 3):
                for k in range(len(chunk) - size + 1):
                    counts[" ".join(chunk[k : k + size])] += 1
            chunk = []
    for run in _CJK_RUN.findall(text):
        piece = ""
        for char in [*run, ""]:
            if char and char not in _TITLE_STOP_CHARS:
                piece += char
                continue
            for k in range(len(piece) - 1):
                counts[piece[k : k + 2]] += 1
            piece = ""
    return counts


def keyphrases(
    section: Counter[str], document_frequency: Counter[str], sections: int, text: str, limit: int
) -> list[str]:
    """The `limit` most distinctive phrases of one section.

    English candidates are word n-grams; a shorter n-gram mostly seen inside a longer
    one gives way to it. Chinese candidates are bigrams, then grown into the longest
    run of adjacent repeated bigrams in the section's text.
    """

    def weight(phrase: str) -> float:
        idf = math.log((sections + 1) / (document_frequency[phrase] + 1)) + 1.0
        size = len(phrase.split()) if " " in phrase or phrase.isascii() else len(phrase) / 2
        return section[phrase] * idf * (1.0 + 0.3 * (size - 1))

    repeated = [p for p, c in section.items() if c >= 2] or list(section)
    # The count of the most frequent longer n-gram around each English n-gram.
    inside: dict[str, int] = {}
    for phrase in repeated:
        words = phrase.split()
        for size in range(1, len(words)):
            for k in range(len(words) - size + 1):
                part = " ".join(words[k : k + size])
                inside[part] = max(inside.get(part, 0), section[phrase])
    candidates = [p for p in repeated if not (p.isascii() and inside.get(p, 0) >= 0.7 * section[p])]
    scored = sorted(candidates, key=lambda p: (-weight(p), p))
    chosen: list[str] = []
    for phrase in scored:
        if not phrase.isascii():
            phrase = _grow_cjk(phrase, text)
        if any(phrase in c or c in phrase for c in chosen):
            continue
        chosen.append(phrase)
        if len(chosen) == limit:
            break
    return chosen


def _grow_cjk(bigram: str, text: str) -> str:
    """Extend a bigram one character at a time while the longer string still recurs:
    数据 → 数据库 → 数据库迁 → 数据库迁移, stopping at function characters.

    An extension is taken when it occurs at least twice and in at least a third of
    the places the shorter string does, so a frequent word does not swallow one of
    its rarer neighbours ("数据" stays "数据" when "数据量" is said once).
    """
    phrase = bigram
    count = text.count(phrase)
    while len(phrase) < 6:
        options: list[tuple[int, str]] = []
        for grown in _neighbours(text, phrase):
            seen = text.count(grown)
            if seen >= 2 and seen * 3 >= count:
                options.append((seen, grown))
        if not options:
            break
        count, phrase = max(options)
    return phrase


def _neighbours(text: str, phrase: str) -> list[str]:
    """The distinct one-character extensions of a phrase where it occurs in the text."""
    found: set[str] = set()
    start = text.find(phrase)
    while start >= 0:
        for char, grown in (
            (text[start - 1] if start else "", "<"),
            (text[start + len(phrase) : start + len(phrase) + 1], ">"),
        ):
            if char and CJK_CHAR.match(char) and char not in _TITLE_STOP_CHARS:
                found.add(char + phrase if grown == "<" else phrase + char)
        start = text.find(phrase, start + 1)
    return sorted(found)
