"""Authentication (SPEC §6): bearer JWTs, the trusted-gateway mode and the development key.

`build_authenticator(settings)` is the only constructor the rest of the service
needs; every refusal is an `Unauthenticated` whose `reason` is one of the authentication
reasons in `meeting_agent.reasons` (docs/errors.md).

Layer: infrastructure, beside `adapters` and independent of them; the gRPC edge
(`api`) and the CLI use it.
"""

from meeting_agent.auth.builder import build_authenticator
from meeting_agent.auth.dev_keys import mint_dev_token

__all__ = ["build_authenticator", "mint_dev_token"]
