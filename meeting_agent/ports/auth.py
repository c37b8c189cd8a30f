"""Authentication: the port that turns a call's metadata into a principal. Ports are
what the services need from infrastructure; `meeting_agent.auth` implements this one
(JWT verification, trusted-gateway mode).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from meeting_agent.domain.models import Principal


class Authenticator(Protocol):
    """Turns call metadata into a principal."""

    def authenticate(self, metadata: Sequence[tuple[str, str | bytes]]) -> Principal:
        """Raises `Unauthenticated` with a stable reason when the call is not acceptable.

        May block (fetching a JWKS document): call it off the event loop.
        """
        ...

    def recall(self, metadata: Sequence[tuple[str, str | bytes]]) -> Principal | None:
        """The principal when it is known without I/O (a token verified before and still
        valid), else None and the caller must `authenticate`. Never blocks."""
        ...
