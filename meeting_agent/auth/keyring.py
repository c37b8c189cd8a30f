"""Finding the key that should have signed a token, by its `kid`."""

from __future__ import annotations

import logging
from collections.abc import Collection, Sequence

import jwt

from meeting_agent import reasons
from meeting_agent.auth.keys import VerificationKey, index_by_kid, key_from_jwk
from meeting_agent.errors import Unauthenticated, Unavailable

logger = logging.getLogger(__name__)


class RemoteJwks:
    """Keys published at a JWKS URL, cached, refetched on an unknown `kid`.

    PyJWKClient does the caching and the rate limit: an unknown `kid` forces one
    refetch, but not within `cooldown_seconds` of the previous fetch, so a flood of
    tokens with made-up key ids cannot turn into a flood of requests to the issuer.
    While the endpoint is unreachable, keys it served before stay trusted, so an
    identity-service blip at cache expiry does not log everybody out.
    """

    def __init__(
        self,
        url: str,
        algorithms: Collection[str],
        *,
        lifespan_seconds: float = 300.0,
        cooldown_seconds: float = 30.0,
        timeout_seconds: float = 5.0,
    ) -> None:
        self._url = url
        self._algorithms = frozenset(algorithms)
        self._client = jwt.PyJWKClient(
            url,
            cache_jwk_set=True,
            lifespan=lifespan_seconds,
            cooldown_duration=cooldown_seconds,
            timeout=timeout_seconds,
        )
        self._last_served: dict[str, VerificationKey] = {}

    def find(self, kid: str) -> VerificationKey | None:
        try:
            jwk = self._client.get_signing_key(kid)
        except jwt.PyJWKClientConnectionError as exc:
            logger.warning("cannot fetch JWKS from %s: %s", self._url, exc)
            stale = self._last_served.get(kid)
            if stale is not None:
                return stale
            raise Unavailable(
                "signing keys are unavailable",
                reason=reasons.KEYS_UNAVAILABLE,
                retry_after_seconds=5.0,
            ) from exc
        except (jwt.PyJWKClientError, jwt.PyJWKSetError):
            # Not found after the permitted refetch, or a document without usable keys;
            # either way no key with this id can be trusted.
            return None
        key = key_from_jwk(jwk, self._algorithms, f"JWKS {self._url}")
        if key is None:
            # A key exists under this id but verifies no configured algorithm (an HMAC
            # key, say), so whatever the token claims its algorithm is, it is refused.
            raise Unauthenticated("algorithm not allowed", reason=reasons.DISALLOWED_ALGORITHM)
        self._last_served[kid] = key
        return key


class KeyRing:
    """Local keys by id, then the remote JWKS if there is one.

    Tokens without a `kid` are tried against the PEM keys only: a JWKS always names
    its keys, and trying every key would make rotation mistakes silent.
    """

    def __init__(
        self,
        keys: Sequence[VerificationKey],
        *,
        unnamed: Sequence[VerificationKey] = (),
        remote: RemoteJwks | None = None,
    ) -> None:
        self._by_kid = index_by_kid(keys)
        self._unnamed = list(unnamed)
        self._remote = remote

    @property
    def empty(self) -> bool:
        return not self._by_kid and self._remote is None

    def candidates(self, kid: str | None) -> list[VerificationKey]:
        """The keys to try, best first; raises `Unauthenticated(UNKNOWN_KEY)` when none."""
        if kid is None:
            if self._unnamed:
                return self._unnamed
        else:
            key = self._by_kid.get(kid)
            if key is None and self._remote is not None:
                key = self._remote.find(kid)
            if key is not None:
                return [key]
        raise Unauthenticated("unknown signing key", reason=reasons.UNKNOWN_KEY)
