"""Checks on request shape, done before any storage is touched.

Each check raises `InvalidArgument` naming the field, so callers get a
`BadRequest` field violation they can show next to the right input.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta

from google.protobuf import timestamp_pb2

from meeting_agent.errors import FieldViolation, InvalidArgument

# Server-generated ids are UUIDs; caller-chosen ids follow AIP-122's recommendation.
RESOURCE_ID = r"[a-z0-9][a-z0-9-]{0,62}"
CALLER_ID = re.compile(r"[a-z][a-z0-9-]{0,62}")
LABEL_KEY = re.compile(r"[a-z][a-z0-9_-]{0,62}")
SPEAKER_LABEL = re.compile(r"[A-Za-z0-9_-]{1,64}")
LANGUAGE_CODE = re.compile(r"[A-Za-z]{2,3}(-[A-Za-z0-9]{2,8}){0,3}")
SHA256_HEX = re.compile(r"[0-9a-f]{64}")
REQUEST_ID = re.compile(r"[A-Za-z0-9_.:-]{1,64}")
# RFC 6838 type/subtype names, then RFC 9110 parameters (token=token or token="...").
_MIME_NAME = r"[A-Za-z0-9][A-Za-z0-9!#$&^_.+-]{0,126}"
MIME_TYPE = re.compile(
    rf"{_MIME_NAME}/{_MIME_NAME}(\s*;\s*[A-Za-z0-9!#$&^_.+-]+=(\"[ -~]*\"|[A-Za-z0-9!#$&^_.+-]+))*"
)

# google.protobuf.Timestamp's valid range: 0001-01-01T00:00:00Z to 9999-12-31T23:59:59Z.
MIN_TIMESTAMP_SECONDS = -62_135_596_800
MAX_TIMESTAMP_SECONDS = 253_402_300_799
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


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


def parse_name(name: str, field: str, *collections: str) -> tuple[str, ...]:
    """Split `coll1/{id1}/coll2/{id2}` into its ids, or raise naming the expected form."""
    form = "/".join(f"{c}/{{{c[:-1] if c.endswith('s') else c}}}" for c in collections)
    if not name:
        raise InvalidArgument.field(field, f"is required, in the form {form}")
    pattern = "/".join(f"{re.escape(c)}/({RESOURCE_ID})" for c in collections)
    match = re.fullmatch(pattern, name)
    if match is None:
        raise InvalidArgument.field(field, f"must have the form {form}, got {name!r}")
    return match.groups()


def parse_singleton(name: str, field: str, collection: str, singleton: str) -> str:
    """The parent id of a singleton such as `tasks/{task}/transcript`."""
    form = f"{collection}/{{id}}/{singleton}"
    if not name:
        raise InvalidArgument.field(field, f"is required, in the form {form}")
    match = re.fullmatch(f"{re.escape(collection)}/({RESOURCE_ID})/{re.escape(singleton)}", name)
    if match is None:
        raise InvalidArgument.field(field, f"must have the form {form}, got {name!r}")
    return match.group(1)


def check_text(
    v: Violations, value: str, field: str, *, max_length: int, required: bool = False
) -> None:
    if required and not value.strip():
        v.add(field, "is required")
    elif len(value) > max_length:
        v.add(field, f"must be at most {max_length} characters")


def check_timestamp(v: Violations, value: timestamp_pb2.Timestamp, field: str) -> datetime | None:
    """The moment a Timestamp names, or None (recorded) when it is outside the range
    the Timestamp type allows, which no datetime can hold."""
    if not 0 <= value.nanos < 1_000_000_000:
        v.add(field, "nanos must be between 0 and 999999999")
        return None
    if not MIN_TIMESTAMP_SECONDS <= value.seconds <= MAX_TIMESTAMP_SECONDS:
        v.add(field, "must be between 0001-01-01T00:00:00Z and 9999-12-31T23:59:59Z")
        return None
    return _EPOCH + timedelta(seconds=value.seconds, microseconds=value.nanos // 1000)


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


def check_mask(
    paths: Iterable[str], allowed: Iterable[str], field: str = "update_mask"
) -> list[str]:
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
