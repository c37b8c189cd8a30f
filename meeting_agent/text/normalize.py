"""Tidying mixed Chinese–English text: widths, spaces, and vendor tokens put together.

The conventions are those of Chinese technical writing (and of the Chinese
copywriting guidelines most teams follow):

- letters and digits are half-width (ＡＰＩ → API), Chinese punctuation stays
  full-width (，。？);
- no space between two Chinese characters ("李强 你 来" is an ASR artefact);
- one space between Chinese and a Latin word ("用 PostgreSQL 部署", "5G 网络");
- bare numbers keep whatever spacing was said ("3月20日", "iOS 17 上").
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from meeting_agent.text.cjk import CJK_RANGES

__all__ = ["join_tokens", "speaking_seconds", "tidy_spacing", "to_halfwidth"]

# Full-width forms of ASCII letters and digits, and the ideographic space.
_HALFWIDTH = {
    code: code - 0xFEE0 for code in range(0xFF10, 0xFF5B) if chr(code - 0xFEE0).isalnum()
} | {0x3000: 0x20}

_HAN = f"[{CJK_RANGES}]"
_CJK_PUNCT = "，。、！？；：（）「」『』《》【】“”‘’…—"
_WIDE = f"[{CJK_RANGES}{_CJK_PUNCT}]"
# A Latin token: letters and digits with inner marks ("Q3", "5G", "v1.2", "C++", "gRPC").
_LATIN = r"[A-Za-z0-9][A-Za-z0-9+#._/-]*[A-Za-z0-9+#]|[A-Za-z0-9]"
_SPACE_INSIDE_CJK = re.compile(rf"(?<={_WIDE})[ \t]+(?={_WIDE})")
_SPACE_AROUND_PUNCT = re.compile(rf"[ \t]+(?=[{_CJK_PUNCT}])|(?<=[{_CJK_PUNCT}])[ \t]+")
_LATIN_WORD = re.compile(rf"(?:{_LATIN})")
_HAN_CHAR = re.compile(_HAN)
_LATIN_PUNCT = frozenset(",.;:?!")


def to_halfwidth(text: str) -> str:
    """Full-width letters, digits and spaces as ASCII; punctuation untouched."""
    return text.translate(_HALFWIDTH)


def tidy_spacing(text: str) -> str:
    """The text with the spacing conventions above, and runs of spaces as one."""
    text = re.sub(r"\s+", " ", to_halfwidth(text)).strip()
    text = _SPACE_AROUND_PUNCT.sub("", _SPACE_INSIDE_CJK.sub("", text))
    return _space_latin_runs(text)


def _space_latin_runs(text: str) -> str:
    out: list[str] = []
    last = 0
    for match in _LATIN_WORD.finditer(text):
        start, end = match.span()
        word = match.group()
        # Only words with a letter are spaced off: "3月20日" stays as it is said.
        if any(c.isalpha() for c in word):
            if start > 0 and _HAN_CHAR.match(text[start - 1]):
                out.append(text[last:start] + " ")
                last = start
            if end < len(text) and _HAN_CHAR.match(text[end]):
                out.append(text[last:end] + " ")
                last = end
    out.append(text[last:])
    return "".join(out)


def join_tokens(tokens: Iterable[str]) -> str:
    """Vendor word tokens as text, tidied.

    Vendors that give Chinese word by word give English letter by letter as often as
    word by word ("P", "o", "s", "t", …). Letters that come alone are one word;
    whole words get a space between them, as after Latin punctuation.
    """
    out = ""
    previous = ""
    for raw in tokens:
        token = raw.strip()
        if not token:
            continue
        if out and _needs_space(previous, token):
            out += " "
        out += token
        previous = token
    return tidy_spacing(out)


def _needs_space(before: str, after: str) -> bool:
    if not (after[0].isascii() and after[0].isalnum()):
        return False
    if before[-1] in _LATIN_PUNCT:
        return not (before[-1] == "." and after[0].isdigit())  # "3" "." "5" is 3.5
    if not (before[-1].isascii() and before[-1].isalnum()):
        return False
    # Letters that come one by one spell a word ("Q" "3" is Q3); a whole word on either
    # side is a word boundary ("use" "API", "am" "I").
    return len(before) > 1 or len(after) > 1


def speaking_seconds(text: str) -> float:
    """About how long the text takes to say: four Chinese characters or fifteen Latin
    characters a second, for utterances a vendor gave no duration."""
    han = len(_HAN_CHAR.findall(text))
    return max(0.5, han / 4.0 + (len(text) - han) / 15.0)
