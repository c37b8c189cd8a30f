"""The development signing key: generated once per data directory, never for production.

`<data_dir>/dev-keys/dev-private.pem` holds the private key (mode 0600) and
`dev.pem` the public key, named so that its file stem is the key id `dev` should
another local service be configured with it.
"""

from __future__ import annotations

import logging
import os
import secrets
import time
from collections.abc import Collection, Mapping
from pathlib import Path
from typing import Any

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from meeting_agent.auth.keys import RSA_ALGORITHMS, PublicKey, VerificationKey, algorithms_for
from meeting_agent.config import ConfigurationError, Settings

logger = logging.getLogger(__name__)

DEV_KID = "dev"
DEV_KEY_DIR = "dev-keys"
PRIVATE_KEY_FILE = "dev-private.pem"
PUBLIC_KEY_FILE = f"{DEV_KID}.pem"


def dev_key_dir(data_dir: Path) -> Path:
    return data_dir / DEV_KEY_DIR


def ensure_dev_key(data_dir: Path) -> rsa.RSAPrivateKey:
    """The development private key, created on first use."""
    directory = dev_key_dir(data_dir)
    directory.mkdir(mode=0o700, parents=True, exist_ok=True)
    private_path = directory / PRIVATE_KEY_FILE
    key = _read_private_key(private_path)
    if key is None:
        key = _create_private_key(private_path)
    _write_public_key(directory / PUBLIC_KEY_FILE, key.public_key())
    return key


def load_dev_public_key(data_dir: Path) -> PublicKey | None:
    """The development public key if this data directory has one; never creates it."""
    directory = dev_key_dir(data_dir)
    private_key = _read_private_key(directory / PRIVATE_KEY_FILE)
    if private_key is not None:
        return private_key.public_key()
    try:
        key = serialization.load_pem_public_key((directory / PUBLIC_KEY_FILE).read_bytes())
    except FileNotFoundError:
        return None
    return key if isinstance(key, PublicKey) else None


def dev_verification_key(data_dir: Path, algorithms: Collection[str]) -> VerificationKey | None:
    """The development key as a trusted key, or None when no configured algorithm fits it."""
    public_key = ensure_dev_key(data_dir).public_key()
    usable = algorithms_for(public_key, algorithms)
    if not usable:
        logger.warning(
            "development key unused: it is RSA and %s allows no RSA algorithm", sorted(algorithms)
        )
        return None
    return VerificationKey(DEV_KID, public_key, usable, f"development key in {data_dir}")


def mint_dev_token(
    settings: Settings,
    *,
    user_id: str = "dev-user",
    tenant_id: str = "dev-tenant",
    ttl_seconds: int = 3600 * 12,
    extra_claims: Mapping[str, Any] | None = None,
) -> str:
    """A token the development key signs, with the configured issuer, audience and claims.

    `extra_claims` are applied last, so tests can also override the standard ones.
    """
    if settings.environment == "production" or not settings.auth.dev_key:
        raise ConfigurationError("the development key is off (MEETING_AGENT_AUTH__DEV_KEY)")
    algorithm = next((alg for alg in settings.auth.algorithms if alg in RSA_ALGORITHMS), None)
    if algorithm is None:
        raise ConfigurationError(
            "MEETING_AGENT_AUTH__ALGORITHMS allows no RSA algorithm for the development key"
        )
    now = int(time.time())
    claims: dict[str, Any] = {
        "iss": settings.auth.issuer,
        "aud": settings.auth.audience,
        "iat": now,
        "exp": now + ttl_seconds,
        settings.auth.user_claim: user_id,
        settings.auth.tenant_claim: tenant_id,
    }
    claims.update(extra_claims or {})
    return jwt.encode(
        claims, ensure_dev_key(settings.data_dir), algorithm=algorithm, headers={"kid": DEV_KID}
    )


def _read_private_key(path: Path) -> rsa.RSAPrivateKey | None:
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        return None
    try:
        key = serialization.load_pem_private_key(data, password=None)
    except (ValueError, TypeError) as exc:
        raise ConfigurationError(
            f"{path} is not an unencrypted PEM private key; delete it "
            "to generate a new development key"
        ) from exc
    if not isinstance(key, rsa.RSAPrivateKey):
        raise ConfigurationError(f"{path} is not an RSA key; delete it to generate a new one")
    return key


def _create_private_key(path: Path) -> rsa.RSAPrivateKey:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    temporary = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}")
    # The mode is set at creation, so the key is never readable by others, even briefly.
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(descriptor, "wb") as file:
            file.write(pem)
            file.flush()
            os.fsync(file.fileno())
        # link(), unlike rename(), fails when the name exists: of two processes
        # starting together exactly one publishes its key, and the other adopts it.
        try:
            os.link(temporary, path)
        except FileExistsError:
            winner = _read_private_key(path)
            if winner is None:
                raise ConfigurationError(f"{path} vanished while being created") from None
            return winner
    finally:
        temporary.unlink(missing_ok=True)
    logger.info("generated a development signing key in %s", path.parent)
    return key


def _write_public_key(path: Path, public_key: rsa.RSAPublicKey) -> None:
    pem = public_key.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    try:
        if path.read_bytes() == pem:
            return
    except FileNotFoundError:
        pass
    temporary = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}")
    try:
        temporary.write_bytes(pem)
        # Every writer derives the same bytes from the one private key: last one wins safely.
        os.replace(temporary, path)
    finally:
        temporary.unlink(missing_ok=True)
