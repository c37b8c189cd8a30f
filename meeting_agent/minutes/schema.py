"""The shape of minutes, shared by every generator, the store and the exports.

Minutes travel as plain JSON-compatible dicts so that LLM output can be validated
against the same schema the extractive generator fills in.
"""

from __future__ import annotations

from typing import Any

_OFFSET = {
    "type": ["number", "null"],
    "minimum": 0,
    "description": "Seconds from the start of the meeting where it was said.",
}

MINUTES_SCHEMA: dict[str, Any] = {
    "type": "object",
    "additionalProperties": False,
    "required": ["summary", "decisions", "action_items", "topics"],
    "properties": {
        "summary": {"type": "string"},
        "decisions": {
            "type": "array",
            "items": {
                "type": "object",
                "additionalProperties": False,
                "required": ["text", "source_offset_seconds"],
                "properties": {"text": {"type": "string"}, "source_offset_seconds": _OFFSET},
            },
        },
        "action_items": {
            "type": "array",
            "items": {
                "type": "object",
                "additionalProperties": False,
                "required": ["owner", "text", "due_date", "due_text", "source_offset_seconds"],
                "properties": {
                    "owner": {"type": "string"},
                    "text": {"type": "string"},
                    "due_date": {
                        "type": "string",
                        "description": "ISO 8601 date, or empty when none was said.",
                    },
                    "due_text": {"type": "string"},
                    "source_offset_seconds": _OFFSET,
                },
            },
        },
        "topics": {
            "type": "array",
            "items": {
                "type": "object",
                "additionalProperties": False,
                "required": ["title", "summary", "start_seconds", "end_seconds"],
                "properties": {
                    "title": {"type": "string"},
                    "summary": {"type": "string"},
                    "start_seconds": {"type": "number", "minimum": 0},
                    "end_seconds": {"type": "number", "minimum": 0},
                },
            },
        },
    },
}


def empty_minutes() -> dict[str, Any]:
    return {"summary": "", "decisions": [], "action_items": [], "topics": []}
