"""JSON documents stored in columns, and the opaque page cursors.

Value objects inside JSON columns are converted by pydantic `TypeAdapter`s built from the
domain dataclasses themselves, so a new field needs no hand-written mapping here.
"""

from __future__ import annotations

import base64
import binascii
import json
from datetime import datetime
from typing import Any

from pydantic import TypeAdapter, ValidationError

from meeting_agent.domain.models import (
    AudioSource,
    Hotword,
    ProviderFallback,
    TaskError,
    TaskOptions,
    Word,
)
from meeting_agent.errors import InvalidArgument

AUDIO_SOURCES: TypeAdapter[list[AudioSource]] = TypeAdapter(list[AudioSource])
TASK_OPTIONS: TypeAdapter[TaskOptions] = TypeAdapter(TaskOptions)
TASK_ERROR: TypeAdapter[TaskError] = TypeAdapter(TaskError)
LABELS: TypeAdapter[dict[str, str]] = TypeAdapter(dict[str, str])
HOTWORDS: TypeAdapter[list[Hotword]] = TypeAdapter(list[Hotword])
WORDS: TypeAdapter[list[Word]] = TypeAdapter(list[Word])
FALLBACKS: TypeAdapter[list[ProviderFallback]] = TypeAdapter(list[ProviderFallback])
FALLBACK: TypeAdapter[ProviderFallback | None] = TypeAdapter(ProviderFallback | None)


def dump_error(error: TaskError | None) -> dict[str, Any] | None:
    return None if error is None else TASK_ERROR.dump_python(error, mode="json")


def load_error(document: Any) -> TaskError | None:
    return None if document is None else TASK_ERROR.validate_python(document)


# ---------------------------------------------------------------- cursors

CursorValue = str | int


def encode_cursor(*key: CursorValue | datetime) -> str:
    """The sort key of the last row of a page, as a URL-safe opaque token."""
    values = [value.isoformat() if isinstance(value, datetime) else value for value in key]
    raw = json.dumps(values, separators=(",", ":"), ensure_ascii=False).encode()
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def decode_cursor(cursor: str, *types: type[CursorValue] | type[datetime]) -> tuple[Any, ...]:
    """Parse a token from `encode_cursor`, checking it has one value of each type.

    Raises `InvalidArgument` (`INVALID_PAGE_TOKEN`) for anything else, so a tampered or
    stale token is the caller's error, not a server fault.
    """
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        values = json.loads(base64.urlsafe_b64decode(padded.encode("ascii")))
        if not isinstance(values, list) or len(values) != len(types):
            raise ValueError("wrong number of values")
        parsed: list[Any] = []
        for value, kind in zip(values, types, strict=True):
            if kind is datetime:
                moment = datetime.fromisoformat(value)
                if moment.tzinfo is None:
                    raise ValueError("naive time")
                parsed.append(moment)
            elif isinstance(value, kind) and not isinstance(value, bool):
                parsed.append(value)
            else:
                raise ValueError(f"expected {kind.__name__}")
        return tuple(parsed)
    except (ValueError, TypeError, UnicodeError, binascii.Error, ValidationError) as exc:
        raise InvalidArgument.field(
            "page_token", "is not a token returned by a previous page", reason="INVALID_PAGE_TOKEN"
        ) from exc
