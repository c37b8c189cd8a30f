"""Content terms of a text, for ranking sentences and comparing them."""

from __future__ import annotations

import re

from meeting_agent.text.cjk import CJK_CHAR, CJK_RANGES
from meeting_agent.text.word_lists import load_word_list

__all__ = ["STOPWORDS", "STOP_CHARS", "terms"]


_CJK_RUN = f"[{CJK_RANGES}]+"
_TOKEN = re.compile(rf"[A-Za-z][A-Za-z0-9'’\-]*|{_CJK_RUN}")

STOPWORDS = frozenset(load_word_list("stopwords_en.txt"))

# Characters that are function words on their own; a bigram made only of them carries
# no topic ("我们", "这个", "就是").
STOP_CHARS = frozenset(
    "的了是在我你他她它们这那就都也和与及或"
    "吗呢吧啊呀哦嗯哈么嘛啦个一不有没要会能"
    "把被给让对从到为而但所以如果因还很太更"
    "最又再才已经着过地得说看下上里中些"
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
