"""Authentication (SPEC §6): bearer JWTs, the trusted-gateway mode and the development key.

`build_authenticator(settings)` is the only constructor the rest of the service
needs; every refusal is an `Unauthenticated` whose `reason` is one of the constants
re-exported here.

Layer: infrastructure, beside `adapters` and independent of them; the gRPC edge
(`api`) and the CLI use it.
"""

from meeting_agent.auth.builder import build_authenticator
from meeting_agent.auth.dev_keys import mint_dev_token
from meeting_agent.auth.reasons import (
    ALL_REASONS,
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
    "build_authenticator",
    "mint_dev_token",
]
