"""String similarity for hotword matching: edit distance, English sound keys, pinyin.

The English key is a consonant skeleton in the spirit of Metaphone: spellings of one
sound collapse ("ph"/"f", "c"/"k"), voiced and voiceless pairs merge ("b"/"p", "d"/"t"),
vowels and glides go. It is deliberately coarse; the caller also compares spellings.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Sequence

__all__ = ["english_key", "levenshtein", "pinyin_syllables", "similarity"]

# Applied in order to lowercase a-z text.
_ENGLISH_RULES: tuple[tuple[re.Pattern[str], str], ...] = tuple(
    (re.compile(pattern), replacement)
    for pattern, replacement in (
        (r"^(?:kn|gn|pn)", "n"),
        (r"^wr", "r"),
        (r"^ps", "s"),
        (r"^x", "s"),
        (r"tch|dg", "j"),
        (r"sch", "sk"),
        (r"ph", "f"),
        (r"^gh", "g"),
        (r"gh", ""),
        (r"ck", "k"),
        (r"c(?=[eiy])", "s"),
        (r"sh|ch|zh|sz|cz", "j"),  # one class for the hushing sounds
        (r"th", "t"),
        (r"qu", "kw"),
        (r"q", "k"),
        (r"x", "ks"),
        (r"c", "k"),
        # Voiced and voiceless pairs: speech recognisers confuse them most.
        (r"b", "p"),
        (r"d", "t"),
        (r"g", "k"),
        (r"v", "f"),
        (r"z", "s"),
        (r"[aeiouhwy]", ""),
        (r"(.)\1+", r"\1"),
    )
)


def levenshtein(a: Sequence[object], b: Sequence[object]) -> int:
    """Edit distance (insertions, deletions, substitutions) between two sequences."""
    if len(a) < len(b):
        a, b = b, a
    previous = list(range(len(b) + 1))
    for i, x in enumerate(a, 1):
        current = [i]
        for j, y in enumerate(b, 1):
            current.append(min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (x != y)))
        previous = current
    return previous[-1]


def similarity(a: Sequence[object], b: Sequence[object]) -> float:
    """1.0 for equal sequences, falling to 0.0 as edits approach the longer length."""
    longest = max(len(a), len(b))
    return 1.0 if longest == 0 else 1.0 - levenshtein(a, b) / longest


@functools.lru_cache(maxsize=4096)
def english_key(letters: str) -> str:
    """The sound key of lowercase letters, e.g. "graphana" and "grafana" → "krfn"."""
    key = letters
    for pattern, replacement in _ENGLISH_RULES:
        key = pattern.sub(replacement, key)
    return key


# Mandarin sounds that speakers (and so recognisers) merge: retroflex and flat
# initials, n and l, front and back nasal finals.
_PINYIN_RULES: tuple[tuple[re.Pattern[str], str], ...] = tuple(
    (re.compile(pattern), replacement)
    for pattern, replacement in (
        (r"^([zcs])h", r"\1"),
        (r"^l", "n"),
        (r"ng$", "n"),
    )
)


def pinyin_syllables(han: str) -> list[str]:
    """Toneless, accent-merged pinyin of each character of a run of Han characters."""
    # Imported on first use: the dictionary costs ~50 MB and half a second, and most
    # hotword sets of an English deployment never need it.
    from pypinyin import Style, lazy_pinyin

    syllables = lazy_pinyin(han, style=Style.NORMAL)
    if len(syllables) != len(han):  # never expected; fall back to the characters
        return list(han)
    result = []
    for syllable in syllables:
        for pattern, replacement in _PINYIN_RULES:
            syllable = pattern.sub(replacement, syllable)
        result.append(syllable)
    return result
