"""Common English words: a run made only of these is never taken for a hotword.

The list is data (`meeting_agent/data/common_words.txt`); its header says how
`scripts/gen_common_words.py` makes it from pinned sources.
"""

from __future__ import annotations

from meeting_agent.text.word_lists import load_word_list

COMMON_WORDS: frozenset[str] = frozenset(load_word_list("common_words.txt"))
