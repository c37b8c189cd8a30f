"""Merging partial minutes of consecutive transcript chunks (the reduce step).

Chunks overlap in subject, not in text: the same decision is often restated in the
next chunk, and a topic that straddles a chunk boundary comes back under the same
title. Items are compared by their content terms (English words and Chinese
bigrams), so "We agreed to use Stripe." and "we agreed to use stripe" are one.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from meeting_agent.text import join_sentences, terms

__all__ = ["merge_partials", "similar"]

# Jaccard similarity of content terms above which two items say the same thing.
_SAME = 0.8


def similar(a: str, b: str) -> bool:
    """Whether two short texts are near-identical (case, punctuation and fillers aside)."""
    if _normal(a) == _normal(b):
        return True
    ta, tb = _content(a), _content(b)
    if not ta or not tb:
        return False
    return len(ta & tb) / len(ta | tb) >= _SAME


def _content(text: str) -> set[str]:
    # Numbers tell "ship on March 3" from "ship on March 10", so they count here.
    return set(terms(text)) | set(_NUMBER.findall(text))


_NUMBER = re.compile(r"\d+(?:[.:/-]\d+)*")


def _normal(text: str) -> str:
    return re.sub(r"[\W_]+", "", text.casefold())


def merge_partials(partials: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """Decisions, action items and topics of several partial minutes, in order.

    The summary is left empty: it is written by one more model call over the partial
    summaries, since concatenated summaries do not read as one.
    """
    decisions: list[dict[str, Any]] = []
    actions: list[dict[str, Any]] = []
    topics: list[dict[str, Any]] = []
    for partial in partials:
        for decision in partial["decisions"]:
            _add_decision(decisions, dict(decision))
        for action in partial["action_items"]:
            _add_action(actions, dict(action))
        for topic in partial["topics"]:
            _add_topic(topics, dict(topic))
    return {"summary": "", "decisions": decisions, "action_items": actions, "topics": topics}


def _add_decision(decisions: list[dict[str, Any]], decision: dict[str, Any]) -> None:
    for kept in decisions:
        if similar(kept["text"], decision["text"]):
            if kept["source_offset_seconds"] is None:
                kept["source_offset_seconds"] = decision["source_offset_seconds"]
            return
    decisions.append(decision)


def _add_action(actions: list[dict[str, Any]], action: dict[str, Any]) -> None:
    for kept in actions:
        owners = {_normal(kept["owner"]), _normal(action["owner"])} - {""}
        if len(owners) <= 1 and similar(kept["text"], action["text"]):
            # The restatement may carry what the first mention lacked.
            for key in ("owner", "due_date", "due_text", "source_offset_seconds"):
                if kept[key] in ("", None) and action[key] not in ("", None):
                    kept[key] = action[key]
            return
    actions.append(action)


def _add_topic(topics: list[dict[str, Any]], topic: dict[str, Any]) -> None:
    # Only the previous topic can continue: the same title an hour later is a new section.
    if topics and similar(topics[-1]["title"], topic["title"]):
        last = topics[-1]
        last["start_seconds"] = min(last["start_seconds"], topic["start_seconds"])
        last["end_seconds"] = max(last["end_seconds"], topic["end_seconds"])
        if topic["summary"] and not similar(last["summary"], topic["summary"]):
            last["summary"] = join_sentences([last["summary"], topic["summary"]])
        return
    topics.append(topic)
