"""Minutes exports: Markdown for people, JSON for programs. UTF-8 text without a BOM.

Markdown headings follow the meeting's language (Chinese for `zh*`, English
otherwise); the content is left as the generator wrote it.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from datetime import date
from typing import Any

from meeting_agent.domain.models import ProviderFallback
from meeting_agent.minutes.schema import MINUTES_SCHEMA

__all__ = ["to_json", "to_markdown"]

_LABELS = {
    False: {
        "title": "Meeting minutes",
        "date": "Date",
        "summary": "Summary",
        "decisions": "Decisions",
        "action_items": "Action items",
        "topics": "Topics",
        "owner": "Owner",
        "action": "Action",
        "due": "Due",
        "time": "Time",
        "none": "None.",
    },
    True: {
        "title": "会议纪要",
        "date": "日期",
        "summary": "摘要",
        "decisions": "决定",
        "action_items": "待办事项",
        "topics": "议题",
        "owner": "负责人",
        "action": "事项",
        "due": "截止日期",
        "time": "时间",
        "none": "无。",
    },
}

_OUTPUTS = {
    False: {"transcript": "the transcript", "minutes": "these minutes"},
    True: {"transcript": "转写稿", "minutes": "本纪要"},
}


def _fallback_note(fallback: ProviderFallback, zh: bool) -> str:
    """One line that says a later provider of the order made an output, and why."""
    what = _OUTPUTS[zh].get(fallback.output, fallback.output)
    skipped = [s.provider for s in fallback.skipped]
    if zh:
        causes = "；".join(f"{s.provider} 不可用（{s.reason}）" for s in fallback.skipped)
        return (
            f"> **注意：**{what}由 {fallback.provider} 生成，而非 {'、'.join(skipped)}："
            f"{_inline(causes)}。"
        )
    causes = "; ".join(f"{s.provider} unavailable ({s.reason})" for s in fallback.skipped)
    return (
        f"> **Note:** {what} came from {fallback.provider}, not "
        f"{', '.join(skipped)}: {_inline(causes)}."
    )


def _offset_text(seconds: float) -> str:
    whole = max(int(seconds), 0)
    hours, rest = divmod(whole, 3600)
    if hours:
        return f"{hours}:{rest // 60:02d}:{rest % 60:02d}"
    return f"{rest // 60:02d}:{rest % 60:02d}"


def _time_link(seconds: Any) -> str:
    """`[mm:ss](#t=SECONDS)`: a media-fragment link players and viewers can seek with."""
    if not isinstance(seconds, int | float) or isinstance(seconds, bool):
        return ""
    return f"[{_offset_text(seconds)}](#t={max(int(seconds), 0)})"


def _inline(text: Any) -> str:
    """Text on one line, so that it cannot start a new list item or heading."""
    return " ".join(str(text).split())


def _cell(text: Any) -> str:
    """Text on one line, safe inside a table cell."""
    return _inline(text).replace("|", "\\|")


def to_markdown(
    minutes: Mapping[str, Any],
    *,
    title: str,
    meeting_date: date | None,
    language_code: str,
    fallbacks: Sequence[ProviderFallback] = (),
) -> str:
    """The minutes as a Markdown document with localised headings.

    `fallbacks` (of the transcript and of these minutes) are noted under the title:
    a reader must know when the minutes are extractive because the LLM was down.
    """
    zh = language_code.lower().startswith("zh")
    labels = _LABELS[zh]
    colon = "：" if zh else ": "
    opening, closing = ("（", "）") if zh else (" (", ")")
    out = [f"# {_inline(title) or labels['title']}", ""]
    if meeting_date is not None:
        out += [f"**{labels['date']}**{colon}{meeting_date.isoformat()}", ""]
    for fallback in fallbacks:
        out += [_fallback_note(fallback, zh), ""]

    out += [
        f"## {labels['summary']}",
        "",
        str(minutes.get("summary", "")).strip() or labels["none"],
        "",
    ]

    out += [f"## {labels['decisions']}", ""]
    decisions = minutes.get("decisions", [])
    for decision in decisions:
        link = _time_link(decision.get("source_offset_seconds"))
        out.append(f"- {_inline(decision.get('text', ''))}" + (f" {link}" if link else ""))
    out += ([] if decisions else [labels["none"]]) + [""]

    out += [f"## {labels['action_items']}", ""]
    actions = minutes.get("action_items", [])
    if actions:
        out += [
            f"| {labels['owner']} | {labels['action']} | {labels['due']} | {labels['time']} |",
            "| --- | --- | --- | --- |",
        ]
        for item in actions:
            due_date, due_text = item.get("due_date", ""), item.get("due_text", "")
            due = (
                f"{due_date}{opening}{due_text}{closing}"
                if due_date and due_text
                else due_date or due_text or "—"
            )
            owner = _cell(item.get("owner", "")) or "—"
            link = _time_link(item.get("source_offset_seconds"))
            out.append(f"| {owner} | {_cell(item.get('text', ''))} | {_cell(due)} | {link} |")
    else:
        out.append(labels["none"])
    out.append("")

    out += [f"## {labels['topics']}", ""]
    topics = minutes.get("topics", [])
    for topic in topics:
        start, end = topic.get("start_seconds", 0), topic.get("end_seconds", 0)
        span = f"{opening}{_time_link(start)}–{_offset_text(end)}{closing}"
        out += [
            f"### {_inline(topic.get('title', ''))}{span}",
            "",
            str(topic.get("summary", "")).strip(),
            "",
        ]
    if not topics:
        out += [labels["none"], ""]
    return "\n".join(out).rstrip("\n") + "\n"


def _ordered(value: Any, schema: Mapping[str, Any]) -> Any:
    """The value with object keys in schema order (unknown keys after, sorted)."""
    if isinstance(value, dict):
        properties: Mapping[str, Any] = schema.get("properties", {})
        keys = [k for k in properties if k in value]
        keys += sorted(k for k in value if k not in properties)
        return {k: _ordered(value[k], properties.get(k, {})) for k in keys}
    if isinstance(value, list):
        items: Mapping[str, Any] = schema.get("items", {})
        return [_ordered(v, items) for v in value]
    return value


def to_json(minutes: Mapping[str, Any]) -> str:
    """The minutes as JSON, keys in the schema's order, non-ASCII text kept as is."""
    return json.dumps(_ordered(dict(minutes), MINUTES_SCHEMA), ensure_ascii=False, indent=2) + "\n"
