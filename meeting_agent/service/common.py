"""Small pieces every service uses: ids, etags, clocks and page tokens."""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from meeting_agent.errors import InvalidArgument

DEFAULT_PAGE_SIZE = 50
MAX_PAGE_SIZE = 1000


class SystemClock:
    """The real clock, in UTC."""

    def now(self) -> datetime:
        return datetime.now(UTC)


def new_id() -> str:
    """A server-generated resource id: a random UUID, lowercase with dashes."""
    return str(uuid.uuid4())


def etag_of(*parts: Any) -> str:
    """A weak content hash; changes whenever any part changes."""
    digest = hashlib.sha256(json.dumps(parts, sort_keys=True, default=str).encode()).hexdigest()
    return f'W/"{digest[:16]}"'


def fingerprint(payload: Any) -> str:
    """A stable digest of a request, to tell a retry from a reused request id."""
    return hashlib.sha256(json.dumps(payload, sort_keys=True, default=str).encode()).hexdigest()


@dataclass(frozen=True)
class PageRequest:
    """A validated page size and the repository cursor decoded from a page token."""

    size: int
    cursor: str | None


def page_request(page_size: int, page_token: str, *, scope: Any) -> PageRequest:
    """Validate pagination input.

    Page tokens bind the repository cursor to the request's filters (`scope`), so a
    token replayed with other filters is rejected instead of returning a wrong page.
    """
    if page_size < 0:
        raise InvalidArgument.field("page_size", "must not be negative")
    size = min(page_size or DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE)
    if not page_token:
        return PageRequest(size, None)
    try:
        padded = page_token + "=" * (-len(page_token) % 4)
        decoded = json.loads(base64.urlsafe_b64decode(padded.encode()))
        cursor, token_scope = decoded["c"], decoded["s"]
    except (ValueError, KeyError, TypeError, binascii.Error):
        raise InvalidArgument.field(
            "page_token", "is not a token returned by this method", reason="INVALID_PAGE_TOKEN"
        ) from None
    if token_scope != fingerprint(scope)[:16] or not isinstance(cursor, str):
        raise InvalidArgument.field(
            "page_token",
            "was issued for a request with other parameters",
            reason="INVALID_PAGE_TOKEN",
        )
    return PageRequest(size, cursor)


def next_page_token(cursor: str | None, *, scope: Any) -> str:
    """The opaque token for the page after `cursor`; empty on the last page."""
    if cursor is None:
        return ""
    raw = json.dumps({"c": cursor, "s": fingerprint(scope)[:16]}).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")
