"""Common English words: a run made only of these is never taken for a hotword.

The list is data (`meeting_agent/data/common_words.txt`); its header says how
`scripts/gen_common_words.py` makes it from pinned sources.
"""

from __future__ import annotations

from importlib import resources


def _load() -> frozenset[str]:
    text = resources.files("meeting_agent").joinpath("data/common_words.txt").read_text("utf-8")
    return frozenset(
        line for line in (raw.strip() for raw in text.splitlines()) if line and line[0] != "#"
    )


COMMON_WORDS: frozenset[str] = _load()
