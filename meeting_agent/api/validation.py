"""Checks on the shape of requests: resource names and wire-format values.

Each check raises (or records in `Violations`) an `InvalidArgument` naming the field,
so callers get a `BadRequest` field violation they can show next to the right input.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta

from google.protobuf import timestamp_pb2

from meeting_agent.domain.checks import Violations
from meeting_agent.domain.models import ProviderChoice
from meeting_agent.errors import InvalidArgument
from meeting_agent.v1 import common_pb2

# Server-generated ids are UUIDs, caller-chosen ones follow AIP-122: a name holds either.
RESOURCE_ID = r"[a-z0-9][a-z0-9-]{0,62}"
LABEL_KEY = re.compile(r"[a-z][a-z0-9_-]{0,62}")
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


def collect_name(v: Violations, name: str, field: str, collection: str) -> str:
    """Like `parse_name` with one collection, recording the violation instead of raising;
    empty when the name is malformed."""
    try:
        (resource_id,) = parse_name(name, field, collection)
    except InvalidArgument as exc:
        for violation in exc.violations:
            v.add(violation.field, violation.description)
        return ""
    return resource_id


def parse_singleton(name: str, field: str, collection: str, singleton: str) -> str:
    """The parent id of a singleton such as `tasks/{task}/transcript`."""
    form = f"{collection}/{{id}}/{singleton}"
    if not name:
        raise InvalidArgument.field(field, f"is required, in the form {form}")
    match = re.fullmatch(f"{re.escape(collection)}/({RESOURCE_ID})/{re.escape(singleton)}", name)
    if match is None:
        raise InvalidArgument.field(field, f"must have the form {form}, got {name!r}")
    return match.group(1)


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


def check_request_id(v: Violations, value: str, field: str = "request_id") -> None:
    v.check(
        not value or REQUEST_ID.fullmatch(value) is not None,
        field,
        "must be 1 to 64 characters of letters, digits, '_', '.', ':', '-'",
    )


def provider_choices(
    v: Violations, choices: Iterable[common_pb2.ProviderChoice], field: str
) -> list[ProviderChoice]:
    """The choices in order of preference; each must name its provider."""
    result = []
    for i, choice in enumerate(choices):
        v.check(bool(choice.provider), f"{field}[{i}].provider", "is required")
        result.append(ProviderChoice(choice.provider, choice.model))
    return result
