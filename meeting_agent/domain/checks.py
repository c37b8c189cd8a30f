"""Checks on field values that report every problem of a request at once.

Each violation names its field, so callers get a `BadRequest` field violation they can
show next to the right input.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable

from meeting_agent.errors import FieldViolation, InvalidArgument

# Caller-chosen ids follow AIP-122's recommendation.
CALLER_ID = re.compile(r"[a-z][a-z0-9-]{0,62}")
LANGUAGE_CODE = re.compile(r"[A-Za-z]{2,3}(-[A-Za-z0-9]{2,8}){0,3}")


class Violations:
    """Collects every problem of a request, so one round trip reports them all."""

    def __init__(self) -> None:
        self._items: list[FieldViolation] = []

    def add(self, field: str, description: str) -> None:
        self._items.append(FieldViolation(field, description))

    def check(self, ok: bool, field: str, description: str) -> None:
        if not ok:
            self.add(field, description)

    def raise_if_any(self) -> None:
        if self._items:
            summary = "; ".join(f"{v.field}: {v.description}" for v in self._items[:5])
            raise InvalidArgument(f"invalid request: {summary}", violations=self._items)


def check_text(
    v: Violations, value: str, field: str, *, max_length: int, required: bool = False
) -> None:
    if required and not value.strip():
        v.add(field, "is required")
    elif len(value) > max_length:
        v.add(field, f"must be at most {max_length} characters")


def check_plain_text(
    v: Violations, value: str, field: str, *, max_length: int, required: bool = False
) -> None:
    """Like `check_text`, and without control characters (CR, LF, NUL, ...): such values
    end up in headers, file names and log lines."""
    check_text(v, value, field, max_length=max_length, required=required)
    if any(unicodedata.category(char) == "Cc" for char in value):
        v.add(field, "must not contain control characters")


def check_language(v: Violations, value: str, field: str) -> None:
    if value and not LANGUAGE_CODE.fullmatch(value):
        v.add(field, f"must be a BCP-47 language code such as 'en' or 'zh-CN', got {value!r}")


def check_caller_id(value: str, field: str) -> None:
    """An id the caller may choose for a new resource; empty lets the server choose."""
    v = Violations()
    v.check(
        not value or CALLER_ID.fullmatch(value) is not None,
        field,
        "must match [a-z][a-z0-9-]{0,62}",
    )
    v.raise_if_any()


def check_mask(
    paths: Iterable[str], allowed: Iterable[str], field: str = "update_mask"
) -> list[str]:
    """The fields an update names, when every one of them may be changed."""
    paths = list(paths)
    allowed_set = set(allowed)
    if not paths:
        raise InvalidArgument.field(field, "must name at least one field")
    unknown = [p for p in paths if p not in allowed_set]
    if unknown:
        raise InvalidArgument.field(
            field, f"unknown or immutable paths {unknown}; allowed: {sorted(allowed_set)}"
        )
    return paths
