"""The `Unauthenticated.reason` values of authentication, and the one `Unavailable` one."""

from __future__ import annotations

from meeting_agent.reasons import (
    DISALLOWED_ALGORITHM,
    INVALID_AUDIENCE,
    INVALID_CLAIM,
    INVALID_ISSUER,
    INVALID_SIGNATURE,
    KEYS_UNAVAILABLE,
    MALFORMED_TOKEN,
    MISSING_CLAIM,
    MISSING_CREDENTIALS,
    TOKEN_EXPIRED,
    TOKEN_NOT_YET_VALID,
    UNKNOWN_KEY,
)

__all__ = [
    "ALL_REASONS",
    "DISALLOWED_ALGORITHM",
    "INVALID_AUDIENCE",
    "INVALID_CLAIM",
    "INVALID_ISSUER",
    "INVALID_SIGNATURE",
    "KEYS_UNAVAILABLE",
    "MALFORMED_TOKEN",
    "MISSING_CLAIM",
    "MISSING_CREDENTIALS",
    "TOKEN_EXPIRED",
    "TOKEN_NOT_YET_VALID",
    "UNKNOWN_KEY",
]

# KEYS_UNAVAILABLE is not among them: an unreachable JWKS endpoint is the service's
# problem, so it surfaces as `Unavailable` and the caller may retry.
ALL_REASONS = (
    MISSING_CREDENTIALS,
    MALFORMED_TOKEN,
    DISALLOWED_ALGORITHM,
    UNKNOWN_KEY,
    INVALID_SIGNATURE,
    TOKEN_EXPIRED,
    TOKEN_NOT_YET_VALID,
    INVALID_ISSUER,
    INVALID_AUDIENCE,
    MISSING_CLAIM,
    INVALID_CLAIM,
)
