"""Word error rate with the normalisation speech benchmarks use: case, punctuation, numbers.

"$90,000", "90000" and "ninety thousand dollars" are the same words here, as are
"Let's" and "lets"; only what a reader would call a different word counts as an error.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

import jiwer

__all__ = ["WerCounts", "normalize", "number_words", "wer"]

_ONES = (
    "zero",
    "one",
    "two",
    "three",
    "four",
    "five",
    "six",
    "seven",
    "eight",
    "nine",
    "ten",
    "eleven",
    "twelve",
    "thirteen",
    "fourteen",
    "fifteen",
    "sixteen",
    "seventeen",
    "eighteen",
    "nineteen",
)
_TENS = ("", "", "twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety")
_SCALES = ((10**9, "billion"), (10**6, "million"), (1000, "thousand"), (100, "hundred"))


def number_words(n: int) -> str:
    """English words for a non-negative integer: 4092 → "four thousand ninety two"."""
    if n < 20:
        return _ONES[n]
    if n < 100:
        return _TENS[n // 10] + ("" if n % 10 == 0 else " " + _ONES[n % 10])
    for scale, name in _SCALES:
        if n >= scale:
            rest = n % scale
            head = f"{number_words(n // scale)} {name}"
            return head if rest == 0 else f"{head} {number_words(rest)}"
    raise AssertionError("unreachable")


def normalize(text: str) -> str:
    """Lowercase words with numbers spelled out and no punctuation."""
    text = text.lower()
    text = re.sub(r"(?<=\d),(?=\d{3}\b)", "", text)  # 90,000 → 90000
    text = re.sub(r"\$(\d+)", r"\1 dollars", text)
    text = re.sub(r"(\d+)\s*%", r"\1 percent", text)
    text = re.sub(r"\d+", lambda m: f" {number_words(int(m.group()))} ", text)
    text = re.sub(r"['’]", "", text)  # let's → lets
    text = re.sub(r"[^\w\s]|_", " ", text)  # hyphens and all other punctuation
    return " ".join(text.split())


@dataclass(frozen=True)
class WerCounts:
    reference_words: int
    errors: int  # substitutions + deletions + insertions

    @property
    def wer(self) -> float:
        return self.errors / self.reference_words if self.reference_words else 0.0

    def __add__(self, other: WerCounts) -> WerCounts:
        return WerCounts(self.reference_words + other.reference_words, self.errors + other.errors)


def wer(references: Sequence[str], hypotheses: Sequence[str]) -> WerCounts:
    """Corpus counts over pairs of texts, after `normalize`."""
    refs = [normalize(r) for r in references]
    hyps = [normalize(h) for h in hypotheses]
    # jiwer refuses an empty reference; a dropped hypothesis is fine (all deletions).
    output = jiwer.process_words(refs, hyps)
    errors = output.substitutions + output.deletions + output.insertions
    return WerCounts(output.hits + output.substitutions + output.deletions, errors)
