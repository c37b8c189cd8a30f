"""Bearer-token authentication: `authorization: Bearer <JWT>` verified against a key ring."""

from __future__ import annotations

import logging
import threading
import time
from collections import OrderedDict
from collections.abc import Collection
from typing import Any

import jwt

from meeting_agent import reasons
from meeting_agent.auth._metadata import (
    Metadata,
    metadata_values,
    optional_text,
    require_identity,
)
from meeting_agent.auth.keyring import KeyRing
from meeting_agent.domain.models import Principal
from meeting_agent.errors import Unauthenticated

logger = logging.getLogger(__name__)

# Far above any real token; stops a caller making us base64-decode megabytes.
MAX_TOKEN_LENGTH = 8192

# Verified tokens are remembered, so a caller's every RPC does not pay for parsing and an
# RSA verification; at most this long, so a key withdrawn from the JWKS stops working
# within it, and at most this many, least recently used first out.
DEFAULT_CACHE_SECONDS = 60.0
DEFAULT_CACHE_SIZE = 10_000

# RFC 7519 §2: NumericDate is a JSON number. PyJWT would also take "1796159411".
_NUMERIC_DATE_CLAIMS = ("exp", "nbf", "iat")

# Most specific first: InvalidSignatureError is a DecodeError, and DecodeError an
# InvalidTokenError.
_ERROR_REASONS: tuple[tuple[type[jwt.PyJWTError], str, str], ...] = (
    (jwt.InvalidSignatureError, reasons.INVALID_SIGNATURE, "invalid signature"),
    (jwt.ExpiredSignatureError, reasons.TOKEN_EXPIRED, "token expired"),
    (jwt.ImmatureSignatureError, reasons.TOKEN_NOT_YET_VALID, "token not yet valid"),
    (jwt.InvalidIssuerError, reasons.INVALID_ISSUER, "invalid issuer"),
    (jwt.InvalidAudienceError, reasons.INVALID_AUDIENCE, "invalid audience"),
    (jwt.InvalidAlgorithmError, reasons.DISALLOWED_ALGORITHM, "algorithm not allowed"),
)


def bearer_token(metadata: Metadata) -> str:
    """The token of the single `authorization: Bearer` entry."""
    values = metadata_values(metadata, "authorization")
    if not values:
        raise Unauthenticated("missing credentials", reason=reasons.MISSING_CREDENTIALS)
    if len(values) > 1:
        raise Unauthenticated("more than one authorization entry", reason=reasons.MALFORMED_TOKEN)
    value = values[0]
    if isinstance(value, bytes):
        try:
            value = value.decode("ascii")
        except UnicodeDecodeError:
            raise Unauthenticated(
                "malformed authorization", reason=reasons.MALFORMED_TOKEN
            ) from None
    scheme, _, token = value.strip().partition(" ")
    token = token.strip()
    # RFC 7235: the scheme name is case-insensitive.
    if scheme.lower() != "bearer" or not token or " " in token or len(token) > MAX_TOKEN_LENGTH:
        raise Unauthenticated("expected a Bearer token", reason=reasons.MALFORMED_TOKEN)
    return token


class JwtAuthenticator:
    """Verifies bearer JWTs: signature, `exp`, `nbf`, `iss`, `aud`, then the identity claims."""

    def __init__(
        self,
        keys: KeyRing,
        *,
        issuer: str,
        audience: str,
        algorithms: Collection[str],
        leeway_seconds: float,
        user_claim: str,
        tenant_claim: str,
        cache_seconds: float = DEFAULT_CACHE_SECONDS,
        cache_size: int = DEFAULT_CACHE_SIZE,
    ) -> None:
        self._keys = keys
        self._issuer = issuer
        self._audience = audience
        self._algorithms = frozenset(algorithms)
        self._leeway = leeway_seconds
        self._user_claim = user_claim
        self._tenant_claim = tenant_claim
        self._cache_seconds = cache_seconds
        self._cache_size = cache_size
        # token -> (principal, wall-clock time until which it may be reused)
        self._cache: OrderedDict[str, tuple[Principal, float]] = OrderedDict()
        self._cache_lock = threading.Lock()

    def authenticate(self, metadata: Metadata) -> Principal:
        try:
            return self.verify(bearer_token(metadata))
        except Unauthenticated as exc:
            logger.debug("refused bearer token: %s", exc.reason)
            raise

    def recall(self, metadata: Metadata) -> Principal | None:
        try:
            token = bearer_token(metadata)
        except Unauthenticated:
            return None  # `authenticate` gives the reason
        now = time.time()
        with self._cache_lock:
            found = self._cache.get(token)
            if found is None:
                return None
            principal, until = found
            if now >= until:
                del self._cache[token]
                return None
            self._cache.move_to_end(token)
            return principal

    def verify(self, token: str) -> Principal:
        """The principal a token names, or `Unauthenticated` with the reason it is refused."""
        claims = self._verified_claims(token)
        principal = Principal(
            tenant_id=require_identity(claims.get(self._tenant_claim), self._tenant_claim),
            user_id=require_identity(claims.get(self._user_claim), self._user_claim),
            email=optional_text(claims.get("email")),
            display_name=optional_text(claims.get("name")),
        )
        self._remember(token, principal, claims)
        return principal

    def _remember(self, token: str, principal: Principal, claims: dict[str, Any]) -> None:
        if self._cache_seconds <= 0 or self._cache_size <= 0:
            return
        now = time.time()
        until = min(float(claims["exp"]) + self._leeway, now + self._cache_seconds)
        if "nbf" in claims and float(claims["nbf"]) - self._leeway > now:
            return  # not valid yet (cannot happen after decode, but never cache it)
        with self._cache_lock:
            self._cache[token] = (principal, until)
            self._cache.move_to_end(token)
            while len(self._cache) > self._cache_size:
                self._cache.popitem(last=False)

    def _verified_claims(self, token: str) -> dict[str, Any]:
        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError:
            raise Unauthenticated("malformed token", reason=reasons.MALFORMED_TOKEN) from None
        alg = header.get("alg")
        if not isinstance(alg, str):
            raise Unauthenticated("malformed token", reason=reasons.MALFORMED_TOKEN)
        _check_numeric_dates(token)
        # The header is attacker-controlled: it may only pick among configured
        # algorithms, which are all asymmetric, so `none` and HS* stop here.
        if alg not in self._algorithms:
            raise Unauthenticated("algorithm not allowed", reason=reasons.DISALLOWED_ALGORITHM)
        # `jku`, `x5u` and `jwk` headers are ignored: keys come from configuration only.
        candidates = [
            key for key in self._keys.candidates(header.get("kid")) if alg in key.algorithms
        ]
        if not candidates:
            raise Unauthenticated("algorithm not allowed", reason=reasons.DISALLOWED_ALGORITHM)
        for key in candidates:
            try:
                return jwt.decode(
                    token,
                    key=key.public_key,
                    algorithms=[alg],
                    audience=self._audience,
                    issuer=self._issuer,
                    leeway=self._leeway,
                    options={
                        "require": ["exp", "iss", "aud"],
                        "verify_sub": False,
                        "verify_jti": False,
                        "enforce_minimum_key_length": True,
                    },
                )
            except jwt.InvalidSignatureError:
                # Several candidates only for kid-less tokens; another PEM key may match.
                continue
            except jwt.PyJWTError as exc:
                raise _refusal(exc) from exc
        raise Unauthenticated("invalid signature", reason=reasons.INVALID_SIGNATURE)


def _check_numeric_dates(token: str) -> None:
    """Refuse `exp`, `nbf` or `iat` that are not JSON numbers, before PyJWT reads "123"
    or true as one. Read from the unverified payload: only ever a reason to refuse."""
    try:
        claims = jwt.decode(token, options={"verify_signature": False})
    except jwt.PyJWTError:
        raise Unauthenticated("malformed token", reason=reasons.MALFORMED_TOKEN) from None
    for claim in _NUMERIC_DATE_CLAIMS:
        value = claims.get(claim)
        if claim in claims and (isinstance(value, bool) or not isinstance(value, int | float)):
            raise Unauthenticated(
                f"{claim} must be a number", reason=reasons.INVALID_CLAIM, metadata={"claim": claim}
            )


def _refusal(exc: jwt.PyJWTError) -> Unauthenticated:
    if isinstance(exc, jwt.MissingRequiredClaimError):
        return Unauthenticated(
            f"missing {exc.claim}", reason=reasons.MISSING_CLAIM, metadata={"claim": exc.claim}
        )
    for error_type, reason, message in _ERROR_REASONS:
        if isinstance(exc, error_type):
            return Unauthenticated(message, reason=reason)
    return Unauthenticated("malformed token", reason=reasons.MALFORMED_TOKEN)
