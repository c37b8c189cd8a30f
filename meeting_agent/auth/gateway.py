"""Trusted-gateway mode: a gateway in front of us authenticated the caller already."""

from __future__ import annotations

from meeting_agent import reasons
from meeting_agent.auth._metadata import Metadata, require_identity, single_text_value
from meeting_agent.domain.models import Principal
from meeting_agent.errors import Unauthenticated
from meeting_agent.ports import Authenticator

USER_ID_HEADER = "x-user-id"
TENANT_ID_HEADER = "x-tenant-id"


class GatewayAuthenticator:
    """Takes the principal from `x-user-id` / `x-tenant-id`, else from a bearer token.

    Only safe when every call passes through a gateway that sets these headers and
    strips them from client requests; that is why the mode must be switched on.
    The headers win over a token because the gateway is the party that checked the
    caller.
    """

    def __init__(self, fallback: Authenticator | None = None) -> None:
        self._fallback = fallback

    def recall(self, metadata: Metadata) -> Principal | None:
        if _has_identity_headers(metadata):
            return self.authenticate(metadata)  # no I/O: the headers are the answer
        return self._fallback.recall(metadata) if self._fallback is not None else None

    def authenticate(self, metadata: Metadata) -> Principal:
        user_id = single_text_value(metadata, USER_ID_HEADER)
        tenant_id = single_text_value(metadata, TENANT_ID_HEADER)
        if user_id is None and tenant_id is None:
            if self._fallback is not None:
                return self._fallback.authenticate(metadata)
            raise Unauthenticated("missing credentials", reason=reasons.MISSING_CREDENTIALS)
        return Principal(
            tenant_id=require_identity(tenant_id, TENANT_ID_HEADER),
            user_id=require_identity(user_id, USER_ID_HEADER),
        )


def _has_identity_headers(metadata: Metadata) -> bool:
    return any(name.lower() in (USER_ID_HEADER, TENANT_ID_HEADER) for name, _ in metadata)
