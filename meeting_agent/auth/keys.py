"""Verification keys: public keys bound to a key id and the algorithms they may verify.

Only asymmetric public keys are ever loaded. That, together with the configured
algorithm list, is what makes the HS256-with-the-public-key attack impossible: no
key here can be handed to an HMAC verifier.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Collection, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jwt
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from meeting_agent.config import ConfigurationError

logger = logging.getLogger(__name__)

PublicKey = rsa.RSAPublicKey | ec.EllipticCurvePublicKey

MIN_RSA_BITS = 2048
RSA_ALGORITHMS = frozenset({"RS256", "RS384", "RS512", "PS256", "PS384", "PS512"})
EC_ALGORITHMS = {"secp256r1": "ES256", "secp384r1": "ES384", "secp521r1": "ES512"}


@dataclass(frozen=True)
class VerificationKey:
    """A trusted public key under its id (JWK `kid`, PEM file stem, or `dev`)."""

    kid: str
    public_key: PublicKey
    algorithms: frozenset[str]
    source: str

    def fingerprint(self) -> bytes:
        """The DER SubjectPublicKeyInfo, to compare key material regardless of its encoding."""
        return public_key_der(self.public_key)


def public_key_der(key: PublicKey) -> bytes:
    return key.public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )


def algorithms_for(key: object, configured: Collection[str]) -> frozenset[str]:
    """The configured algorithms this key can verify; empty for unusable keys."""
    if isinstance(key, rsa.RSAPublicKey):
        if key.key_size < MIN_RSA_BITS:
            return frozenset()
        return RSA_ALGORITHMS & frozenset(configured)
    if isinstance(key, ec.EllipticCurvePublicKey):
        alg = EC_ALGORITHMS.get(key.curve.name)
        return frozenset({alg}) & frozenset(configured) if alg else frozenset()
    return frozenset()


def load_pem_key(path: Path, configured: Collection[str]) -> VerificationKey:
    """A PEM public key (or certificate) file; its key id is the file stem."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise ConfigurationError(f"cannot read public key file {path}: {exc.strerror}") from exc
    try:
        if b"-----BEGIN CERTIFICATE-----" in data:
            key: object = x509.load_pem_x509_certificate(data).public_key()
        else:
            key = serialization.load_pem_public_key(data)
    except ValueError as exc:
        raise ConfigurationError(f"{path} is not a PEM public key or certificate") from exc
    algorithms = algorithms_for(key, configured)
    if not isinstance(key, PublicKey) or not algorithms:
        raise ConfigurationError(
            f"{path}: key cannot verify any configured algorithm {sorted(configured)} "
            f"(RSA keys need at least {MIN_RSA_BITS} bits)"
        )
    return VerificationKey(path.stem, key, algorithms, f"file {path}")


def key_from_jwk(
    jwk: jwt.PyJWK, configured: Collection[str], source: str
) -> VerificationKey | None:
    """A JWK as a verification key, or None when it cannot verify configured tokens.

    PyJWT binds a JWK to its `alg`, or to the default for its type (RS256 for RSA)
    when `alg` is absent; the same binding applies here so a key is never used with
    an algorithm its publisher did not intend.
    """
    kid = jwk.key_id
    algorithms = algorithms_for(jwk.key, configured) & {jwk.algorithm_name}
    if not isinstance(kid, str) or not kid or not isinstance(jwk.key, PublicKey) or not algorithms:
        logger.warning(
            "ignoring JWK %r from %s: not a usable public key for algorithms %s",
            kid,
            source,
            sorted(configured),
        )
        return None
    return VerificationKey(kid, jwk.key, algorithms, source)


def load_jwks_file(path: Path, configured: Collection[str]) -> list[VerificationKey]:
    """Every usable signing key of a JWKS document on disk."""
    try:
        document: Any = json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ConfigurationError(f"cannot read JWKS file {path}: {exc.strerror}") from exc
    except ValueError as exc:
        raise ConfigurationError(f"JWKS file {path} is not JSON") from exc
    entries = document.get("keys") if isinstance(document, dict) else None
    if not isinstance(entries, list):
        raise ConfigurationError(f'JWKS file {path} has no "keys" list')
    keys = []
    for entry in entries:
        if not isinstance(entry, dict) or entry.get("use", "sig") != "sig":
            continue
        try:
            jwk = jwt.PyJWK(entry)
        except jwt.PyJWTError as exc:
            # Like PyJWKSet: a document may list key types this service has no use for.
            logger.warning("ignoring a JWK in %s: %s", path, exc)
            continue
        key = key_from_jwk(jwk, configured, f"JWKS file {path}")
        if key is not None:
            keys.append(key)
    if not keys:
        raise ConfigurationError(f"JWKS file {path} has no key for {sorted(configured)}")
    return keys


def index_by_kid(keys: Iterable[VerificationKey]) -> dict[str, VerificationKey]:
    """Keys by id; the same key listed twice is fine, two keys under one id are not."""
    by_kid: dict[str, VerificationKey] = {}
    for key in keys:
        known = by_kid.get(key.kid)
        if known is None:
            by_kid[key.kid] = key
        elif known.fingerprint() != key.fingerprint():
            raise ConfigurationError(
                f"key id {key.kid!r} names different keys in {known.source} and {key.source}"
            )
    return by_kid
