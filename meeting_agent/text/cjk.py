"""Which characters are CJK, how wide they are, and how many tokens they cost.

Mandarin has no spaces between words and a Chinese character takes a full cell on
screen; these are the facts every text path needs before it can count, wrap or budget.
"""

from __future__ import annotations

import math
import re

__all__ = [
    "CJK_CHAR",
    "CJK_RANGES",
    "clock_text",
    "display_columns",
    "estimate_tokens",
    "is_cjk",
    "is_cjk_text",
]

# CJK ideographs (basic, extension A, compatibility), kana, Hangul syllables.
CJK_RANGES = "\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\u3040-\u30ff\uac00-\ud7af"
CJK_CHAR = re.compile(f"[{CJK_RANGES}]")
# Full-width punctuation and symbols take a CJK cell too (for line widths and tokens).
_WIDE = re.compile(f"[{CJK_RANGES}\u3000-\u303f\uff00-\uffef]")


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


def display_columns(text: str) -> int:
    """Screen columns the text takes: two for a CJK character, one for anything else."""
    return len(text) + len(_WIDE.findall(text))
