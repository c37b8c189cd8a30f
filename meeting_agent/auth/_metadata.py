"""Reading gRPC metadata and validating the identities taken from it or from a token."""

from __future__ import annotations

import unicodedata
from collections.abc import Sequence

from meeting_agent import reasons
from meeting_agent.errors import Unauthenticated

MAX_IDENTITY_LENGTH = 128
# Room for any real email (254 by RFC 5321) or display name; longer ones are dropped.
MAX_PROFILE_LENGTH = 320

Metadata = Sequence[tuple[str, str | bytes]]


def metadata_values(metadata: Metadata, key: str) -> list[str | bytes]:
    """Every value sent under `key`, in order."""
    return [value for name, value in metadata if name.lower() == key]


def single_text_value(metadata: Metadata, key: str) -> str | None:
    """The one value of `key` as text; refuses duplicates, which a proxy might have appended."""
    values = metadata_values(metadata, key)
    if not values:
        return None
    if len(values) > 1:
        raise Unauthenticated(
            f"{key} sent more than once", reason=reasons.INVALID_CLAIM, metadata={"claim": key}
        )
    value = values[0]
    if isinstance(value, bytes):
        try:
            return value.decode("utf-8")
        except UnicodeDecodeError:
            raise Unauthenticated(
                f"{key} is not UTF-8", reason=reasons.INVALID_CLAIM, metadata={"claim": key}
            ) from None
    return value


def require_identity(value: object, claim: str) -> str:
    """A user or tenant id: a non-empty string of at most 128 printable characters.

    Control characters are refused because ids end up in log lines and storage keys.
    """
    if value is None or value == "":
        raise Unauthenticated(
            f"missing {claim}", reason=reasons.MISSING_CLAIM, metadata={"claim": claim}
        )
    if (
        not isinstance(value, str)
        or len(value) > MAX_IDENTITY_LENGTH
        or any(unicodedata.category(char) == "Cc" for char in value)
    ):
        raise Unauthenticated(
            f"invalid {claim}", reason=reasons.INVALID_CLAIM, metadata={"claim": claim}
        )
    return value


def optional_text(value: object) -> str | None:
    """A profile claim such as `email`: kept when it is a usable string, dropped otherwise."""
    if isinstance(value, str) and value and len(value) <= MAX_PROFILE_LENGTH:
        return value
    return None
