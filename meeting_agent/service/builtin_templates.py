"""Prompt templates every tenant has. They live in code, so they cannot drift per tenant."""

from __future__ import annotations

from datetime import UTC, datetime

from meeting_agent.domain.models import PromptTemplate
from meeting_agent.service.common import etag_of

_EPOCH = datetime(2026, 1, 1, tzinfo=UTC)

_DEFAULT_SYSTEM = (
    "You write accurate, concise meeting minutes. Use only what the transcript says. "
    "Write in the language of the meeting unless told otherwise."
)

_DEFAULT_BODY = """\
Meeting date: {{ date }}
Language: {{ language }}
Participants: {{ speakers | join(", ") }}

Write the minutes of the meeting below: a summary of a few sentences, the decisions
taken, the action items (owner, task, due date if one was said, and the time of the
segment where it was agreed) and the topics discussed.

Transcript:
{% for segment in transcript -%}
[{{ segment.start_text }}] {{ segment.speaker }}: {{ segment.text }}
{% endfor %}"""

_ZH_BODY = """\
会议日期：{{ date }}
参会人：{{ speakers | join("、") }}

请根据以下会议记录撰写会议纪要：简要总结、会议决定、待办事项（负责人、事项、截止日期、
对应的发言时间）以及讨论的议题。只使用记录中出现的信息。

会议记录：
{% for segment in transcript -%}
[{{ segment.start_text }}] {{ segment.speaker }}：{{ segment.text }}
{% endfor %}"""


def _builtin(
    template_id: str, display_name: str, description: str, body: str, language_code: str
) -> PromptTemplate:
    return PromptTemplate(
        id=template_id,
        tenant_id=None,
        display_name=display_name,
        description=description,
        system_prompt=_DEFAULT_SYSTEM,
        body=body,
        language_code=language_code,
        etag=etag_of(template_id, body, _DEFAULT_SYSTEM),
        create_time=_EPOCH,
        update_time=_EPOCH,
    )


BUILTIN_TEMPLATES: dict[str, PromptTemplate] = {
    t.id: t
    for t in (
        _builtin(
            "default",
            "Standard minutes",
            "Summary, decisions, action items and topics, in the meeting's language.",
            _DEFAULT_BODY,
            "",
        ),
        _builtin(
            "zh-standard",
            "标准会议纪要",
            "中文会议纪要：摘要、决定、待办事项与议题。",
            _ZH_BODY,
            "zh",
        ),
    )
}

DEFAULT_TEMPLATE_ID = "default"
