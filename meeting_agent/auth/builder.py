"""Building the authenticator the settings describe."""

from __future__ import annotations

import logging
from collections.abc import Collection, Sequence
from pathlib import Path
from urllib.parse import urlparse

import jwt

from meeting_agent.auth.dev_keys import dev_verification_key, load_dev_public_key
from meeting_agent.auth.gateway import GatewayAuthenticator
from meeting_agent.auth.jwt_authenticator import JwtAuthenticator
from meeting_agent.auth.keyring import KeyRing, RemoteJwks
from meeting_agent.auth.keys import (
    VerificationKey,
    load_jwks_file,
    load_pem_key,
    public_key_der,
)
from meeting_agent.config import ConfigurationError, Settings
from meeting_agent.ports import Authenticator

logger = logging.getLogger(__name__)


def build_authenticator(settings: Settings) -> Authenticator:
    """The authenticator for these settings; raises `ConfigurationError` when unusable.

    Reads key files once, here. A JWKS URL is fetched on the first token, not now,
    so the service can start while the identity service is briefly down.
    """
    auth = settings.auth
    production = settings.environment == "production"
    algorithms = list(auth.algorithms)

    pem_keys = [load_pem_key(path, algorithms) for path in auth.public_key_files]
    jwks_keys = load_jwks_file(auth.jwks_file, algorithms) if auth.jwks_file else []
    local = [*pem_keys, *jwks_keys]
    if production:
        _refuse_dev_key_material(local, settings.data_dir)
    if auth.dev_key:
        if production:
            raise ConfigurationError("MEETING_AGENT_AUTH__DEV_KEY must be false in production")
        dev_key = dev_verification_key(settings.data_dir, algorithms)
        if dev_key is not None:
            local.append(dev_key)
    remote = None
    if auth.jwks_url:
        remote = _remote_jwks(auth.jwks_url, algorithms, production=production)

    keys = KeyRing(local, unnamed=pem_keys, remote=remote)
    bearer = (
        None
        if keys.empty
        else JwtAuthenticator(
            keys,
            issuer=auth.issuer,
            audience=auth.audience,
            algorithms=algorithms,
            leeway_seconds=auth.leeway_seconds,
            user_claim=auth.user_claim,
            tenant_claim=auth.tenant_claim,
        )
    )
    if auth.trusted_gateway:
        logger.warning("trusted-gateway mode: x-user-id and x-tenant-id are believed as sent")
        return GatewayAuthenticator(bearer)
    if bearer is None:
        raise ConfigurationError(
            "no key to verify tokens with: set MEETING_AGENT_AUTH__PUBLIC_KEY_FILES, "
            "MEETING_AGENT_AUTH__JWKS_FILE or MEETING_AGENT_AUTH__JWKS_URL"
        )
    return bearer


def _refuse_dev_key_material(keys: Sequence[VerificationKey], data_dir: Path) -> None:
    # Compare material, not names: a copied dev key may be renamed or re-encoded as a JWK.
    dev_public_key = load_dev_public_key(data_dir)
    if dev_public_key is None:
        return
    dev_der = public_key_der(dev_public_key)
    for key in keys:
        if key.fingerprint() == dev_der:
            raise ConfigurationError(
                f"{key.source} (key id {key.kid!r}) is the development key, which production "
                "must not trust"
            )


def _remote_jwks(url: str, algorithms: Collection[str], *, production: bool) -> RemoteJwks:
    # Over plain HTTP anyone on the path could substitute their own signing keys.
    if production and urlparse(url).scheme != "https":
        raise ConfigurationError("MEETING_AGENT_AUTH__JWKS_URL must use https in production")
    try:
        return RemoteJwks(url, algorithms)
    except jwt.PyJWKClientError as exc:
        raise ConfigurationError(f"MEETING_AGENT_AUTH__JWKS_URL: {exc}") from exc
