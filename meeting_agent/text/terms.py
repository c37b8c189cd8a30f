"""Content terms of a text, for ranking sentences and comparing them."""

from __future__ import annotations

import re

from meeting_agent.text.cjk import CJK_CHAR, CJK_RANGES

__all__ = ["STOPWORDS", "STOP_CHARS", "terms"]


_CJK_RUN = f"[{CJK_RANGES}]+"
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
