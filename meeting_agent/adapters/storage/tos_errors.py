"""Errors of the `tos` SDK as domain errors, for the TOS object store.

The SDK raises two exception types: `TosServerError` for any HTTP status of 300 or more
(with the status, the TOS error code and a request id) and `TosClientError` for local
failures: the network, timeouts, and a CRC-64 that does not match what TOS reports.
Messages keep the TOS code and request id, which support needs, and leave out keys,
URLs and credentials.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

from tos.exceptions import TosClientError, TosServerError

from meeting_agent.adapters.storage.writer import OBJECT_TOO_LARGE
from meeting_agent.errors import (
    FailedPrecondition,
    MeetingAgentError,
    NotFound,
    ResourceExhausted,
    Unavailable,
)

__all__ = [
    "OBJECT_CHECKSUM_MISMATCH",
    "OBJECT_NOT_FOUND",
    "OBJECT_STORE_ACCESS_DENIED",
    "OBJECT_STORE_UNAVAILABLE",
    "OBJECT_TOO_LARGE",
    "is_not_found",
    "map_tos_errors",
    "translate",
]

OBJECT_NOT_FOUND = "OBJECT_NOT_FOUND"
OBJECT_KEY_CONFLICT = "OBJECT_KEY_CONFLICT"
OBJECT_STORE_UNAVAILABLE = "OBJECT_STORE_UNAVAILABLE"
# Wrong or revoked keys, or a bucket policy that refuses us: callers cannot fix it, an
# operator must, so it is `Unavailable` with its own reason rather than a caller error.
OBJECT_STORE_ACCESS_DENIED = "OBJECT_STORE_ACCESS_DENIED"
# The bytes TOS stored or sent differ from ours; the transfer may be retried.
OBJECT_CHECKSUM_MISMATCH = "OBJECT_CHECKSUM_MISMATCH"

# The SDK words its CRC failures in two ways (upload check, download check).
_CRC_MESSAGES = ("check crc failed", "client crc")


def is_not_found(exc: BaseException) -> bool:
    return isinstance(exc, TosServerError) and exc.status_code == 404


def _server_error(exc: TosServerError, action: str, key: str | None) -> MeetingAgentError:
    status = exc.status_code or 0
    code = exc.code or f"HTTP {status}"
    detail = f"{code}, request id {exc.request_id or 'unknown'}"
    if status == 404 and key is not None:
        return NotFound(key, reason=OBJECT_NOT_FOUND)
    if status in (401, 403):
        return Unavailable(
            f"object store refused access while {action} ({detail}); check the TOS "
            "credentials and bucket policy",
            reason=OBJECT_STORE_ACCESS_DENIED,
        )
    if code == "EntityTooLarge":
        return ResourceExhausted(
            f"object is too large for the object store ({detail})", reason=OBJECT_TOO_LARGE
        )
    if status in (409, 412):
        return FailedPrecondition(
            f"object store refused the change while {action} ({detail})",
            reason=OBJECT_KEY_CONFLICT,
        )
    retry_after: float | None = None
    header = (exc.header or {}).get("Retry-After") if exc.header else None
    if header is not None:
        with contextlib.suppress(ValueError):
            retry_after = float(header)
    return Unavailable(
        f"object store failed while {action} ({detail})",
        reason=OBJECT_STORE_UNAVAILABLE,
        retry_after_seconds=retry_after,
    )


def translate(exc: Exception, action: str, *, key: str | None = None) -> MeetingAgentError:
    """The domain error for an SDK failure; `key` turns a 404 into `NotFound`."""
    if isinstance(exc, TosServerError):
        return _server_error(exc, action, key)
    message = str(getattr(exc, "message", "") or "")
    if isinstance(exc, TosClientError) and message.lower().startswith(_CRC_MESSAGES):
        return Unavailable(
            f"object store checksum (CRC-64) mismatch while {action}",
            reason=OBJECT_CHECKSUM_MISMATCH,
        )
    # Client errors carry the cause (timeouts, refused connections) in their message.
    return Unavailable(
        f"object store is unreachable while {action}: {message or type(exc).__name__}",
        reason=OBJECT_STORE_UNAVAILABLE,
    )


@contextlib.contextmanager
def map_tos_errors(action: str, *, key: str | None = None) -> Iterator[None]:
    try:
        yield
    except (TosClientError, TosServerError) as exc:
        raise translate(exc, action, key=key) from exc
