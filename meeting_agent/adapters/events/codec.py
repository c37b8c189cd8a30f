"""`TaskEvent` as JSON, the message format on the Redis channels.

Every field travels: times as ISO 8601 with their offset, enums by value, the error as
an object. Decoding ignores keys it does not know, so a newer worker can add a field
without breaking the servers of an older release during a rolling upgrade.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any, TypeVar

from meeting_agent.domain.models import TaskError, TaskEvent, TaskEventType, TaskStage, TaskState

__all__ = ["EventDecodeError", "decode_event", "encode_event"]

T = TypeVar("T")


class EventDecodeError(ValueError):
    """The message is not a task event this release understands."""


def encode_event(event: TaskEvent) -> str:
    document: dict[str, Any] = {
        "task_id": event.task_id,
        "sequence": event.sequence,
        "type": event.type.value,
        "state": event.state.value,
        "stage": event.stage.value,
        "progress_percent": event.progress_percent,
        "message": event.message,
        "event_time": event.event_time.isoformat(),
        "reason": event.reason,
        "error": None
        if event.error is None
        else {
            "code": event.error.code,
            "reason": event.error.reason,
            "message": event.error.message,
            "metadata": dict(event.error.metadata),
        },
    }
    # Raw UTF-8, not \uXXXX escapes: Chinese messages stay readable in `redis-cli monitor`.
    return json.dumps(document, ensure_ascii=False, separators=(",", ":"))


def decode_event(data: str | bytes) -> TaskEvent:
    """Raises `EventDecodeError` for anything but a well-formed event."""
    try:
        document = json.loads(data)
        error = document.get("error")
        event_time = datetime.fromisoformat(document["event_time"])
        if event_time.tzinfo is None:
            raise ValueError("event_time has no offset")
        return TaskEvent(
            task_id=_typed(document["task_id"], str),
            sequence=_typed(document["sequence"], int),
            type=TaskEventType(document["type"]),
            state=TaskState(document["state"]),
            stage=TaskStage(document["stage"]),
            progress_percent=_typed(document["progress_percent"], int),
            message=_typed(document["message"], str),
            event_time=event_time,
            reason=_typed(document.get("reason", ""), str),
            error=None
            if error is None
            else TaskError(
                code=_typed(error["code"], int),
                reason=_typed(error["reason"], str),
                message=_typed(error["message"], str),
                metadata={
                    _typed(k, str): _typed(v, str)
                    for k, v in dict(error.get("metadata") or {}).items()
                },
            ),
        )
    except (ValueError, TypeError, KeyError, AttributeError) as exc:
        raise EventDecodeError(f"not a task event: {exc}") from exc


def _typed(value: object, kind: type[T]) -> T:
    # bool is an int in Python, but never a valid sequence or percent.
    if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
        raise TypeError(f"expected {kind.__name__}, got {type(value).__name__}")
    return value
