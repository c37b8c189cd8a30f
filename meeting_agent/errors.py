"""The domain error hierarchy of meeting-agent.

Every error the service raises on purpose derives from `MeetingAgentError` and
carries a stable, UPPER_SNAKE `reason` that callers can branch on, one of those
`meeting_agent.reasons` catalogues. gRPC never appears here: `meeting_agent.api.errors`
maps each class to a status code in one place.

    MeetingAgentError
    ├── InvalidArgument            bad request fields (carries field violations)
    ├── Unauthenticated            missing or invalid credentials
    ├── NotFound                   missing, or another tenant's
    ├── AlreadyExists              a name or request id already taken
    ├── FailedPrecondition         the system must change before a retry helps
    ├── Aborted                    a concurrent change (etag mismatch)
    ├── ResourceExhausted          a limit or quota is reached
    └── Unavailable                a dependency is down; retry later

Layer: the lowest. It imports nothing from meeting-agent, and every layer may use it.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

__all__ = [
    "Aborted",
    "AlreadyExists",
    "CanonicalCode",
    "FailedPrecondition",
    "FieldViolation",
    "InvalidArgument",
    "MeetingAgentError",
    "NotFound",
    "ResourceExhausted",
    "Unauthenticated",
    "Unavailable",
    "canonical_code",
]


@dataclass(frozen=True)
class FieldViolation:
    """One invalid field of a request, named by its path (for example `task.labels`)."""

    field: str
    description: str


class MeetingAgentError(Exception):
    """Base of every error meeting-agent raises deliberately."""

    default_reason = "ERROR"

    def __init__(
        self,
        message: str,
        *,
        reason: str | None = None,
        metadata: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.reason = reason or self.default_reason
        self.metadata: dict[str, str] = dict(metadata or {})


class InvalidArgument(MeetingAgentError):
    """The request is malformed; `violations` says which fields and why."""

    default_reason = "INVALID_ARGUMENT"

    def __init__(
        self,
        message: str,
        *,
        violations: Sequence[FieldViolation] = (),
        reason: str | None = None,
        metadata: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(message, reason=reason, metadata=metadata)
        self.violations = list(violations)

    @classmethod
    def field(cls, field: str, description: str, *, reason: str | None = None) -> InvalidArgument:
        """An error about a single field."""
        return cls(
            f"{field}: {description}",
            violations=[FieldViolation(field, description)],
            reason=reason,
        )


class Unauthenticated(MeetingAgentError):
    """The caller's credentials are missing or not acceptable."""

    default_reason = "UNAUTHENTICATED"


class NotFound(MeetingAgentError):
    """The resource does not exist for the caller's tenant."""

    default_reason = "NOT_FOUND"

    def __init__(self, resource_name: str, *, reason: str | None = None) -> None:
        super().__init__(
            f"{resource_name} not found", reason=reason, metadata={"resource": resource_name}
        )
        self.resource_name = resource_name


class AlreadyExists(MeetingAgentError):
    """The resource name (or idempotency key) is already taken."""

    default_reason = "ALREADY_EXISTS"


class FailedPrecondition(MeetingAgentError):
    """The request is valid but the system is not in a state to accept it."""

    default_reason = "FAILED_PRECONDITION"


class Aborted(MeetingAgentError):
    """A concurrent change won; re-read and try again."""

    default_reason = "ABORTED"


class ResourceExhausted(MeetingAgentError):
    """A size limit or quota is exceeded."""

    default_reason = "RESOURCE_EXHAUSTED"


class Unavailable(MeetingAgentError):
    """A dependency is unreachable; the same call may succeed later."""

    default_reason = "UNAVAILABLE"

    def __init__(
        self,
        message: str,
        *,
        retry_after_seconds: float | None = None,
        reason: str | None = None,
        metadata: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(message, reason=reason, metadata=metadata)
        self.retry_after_seconds = retry_after_seconds


class CanonicalCode(enum.IntEnum):
    """The canonical error space of `google.rpc.Code`, which gRPC status codes share.

    Stored with a failed task's error, so it is part of the data, not of a transport.
    """

    OK = 0
    INVALID_ARGUMENT = 3
    NOT_FOUND = 5
    ALREADY_EXISTS = 6
    FAILED_PRECONDITION = 9
    ABORTED = 10
    RESOURCE_EXHAUSTED = 8
    UNAUTHENTICATED = 16
    UNAVAILABLE = 14
    CANCELLED = 1
    INTERNAL = 13


_CODES: dict[type[MeetingAgentError], CanonicalCode] = {
    InvalidArgument: CanonicalCode.INVALID_ARGUMENT,
    Unauthenticated: CanonicalCode.UNAUTHENTICATED,
    NotFound: CanonicalCode.NOT_FOUND,
    AlreadyExists: CanonicalCode.ALREADY_EXISTS,
    FailedPrecondition: CanonicalCode.FAILED_PRECONDITION,
    Aborted: CanonicalCode.ABORTED,
    ResourceExhausted: CanonicalCode.RESOURCE_EXHAUSTED,
    Unavailable: CanonicalCode.UNAVAILABLE,
}


def canonical_code(error: BaseException) -> CanonicalCode:
    """The code an error maps to; anything unexpected is INTERNAL."""
    for cls, code in _CODES.items():
        if isinstance(error, cls):
            return code
    return CanonicalCode.INTERNAL
