"""Authentication: every refusal by reason, then each way a caller is accepted."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import secrets
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from jwt.algorithms import RSAAlgorithm

from meeting_agent import auth, reasons
from meeting_agent.auth.dev_keys import DEV_KID, dev_key_dir, ensure_dev_key
from meeting_agent.auth.jwt_authenticator import JwtAuthenticator
from meeting_agent.auth.keyring import KeyRing, RemoteJwks
from meeting_agent.config import AuthSettings, ConfigurationError, Settings
from meeting_agent.domain.models import Principal
from meeting_agent.errors import Unauthenticated, Unavailable
from meeting_agent.ports import Authenticator

ISSUER = "https://id.example.test"
AUDIENCE = "meeting-agent"
LEEWAY = 30

Metadata = list[tuple[str, str | bytes]]


# ---------------------------------------------------------------- helpers


def new_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def public_pem(key: rsa.RSAPrivateKey) -> bytes:
    return key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )


def jwk(key: rsa.RSAPrivateKey, kid: str) -> dict[str, Any]:
    return {
        **RSAAlgorithm.to_jwk(key.public_key(), as_dict=True),
        "kid": kid,
        "alg": "RS256",
        "use": "sig",
    }


def claims(**changes: Any) -> dict[str, Any]:
    """Valid claims; a change to None drops that claim."""
    now = int(time.time())
    base: dict[str, Any] = {
        "iss": ISSUER,
        "aud": AUDIENCE,
        "sub": "alice",
        "tenant_id": "acme",
        "iat": now,
        "exp": now + 300,
    }
    base.update(changes)
    return {name: value for name, value in base.items() if value is not None}


def sign(
    key: rsa.RSAPrivateKey,
    payload: dict[str, Any] | None = None,
    *,
    kid: str | None = "idp",
    alg: str = "RS256",
) -> str:
    headers = {"kid": kid} if kid is not None else None
    return jwt.encode(payload or claims(), key, algorithm=alg, headers=headers)


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def forge(header: dict[str, Any], payload: dict[str, Any], signer: Callable[[bytes], bytes]) -> str:
    """A token built by hand, as an attacker would, bypassing PyJWT's own safeguards."""
    signing_input = f"{b64(json.dumps(header).encode())}.{b64(json.dumps(payload).encode())}"
    return f"{signing_input}.{b64(signer(signing_input.encode()))}"


def hs256(secret: bytes) -> Callable[[bytes], bytes]:
    return lambda message: hmac.new(secret, message, hashlib.sha256).digest()


def tamper_payload(token: str) -> str:
    header, _, signature = token.split(".")
    return ".".join([header, b64(json.dumps(claims(tenant_id="victim")).encode()), signature])


def tamper_signature(token: str) -> str:
    header, payload, signature = token.split(".")
    raw = bytearray(base64.urlsafe_b64decode(signature + "=" * (-len(signature) % 4)))
    raw[0] ^= 0x01
    return ".".join([header, payload, b64(bytes(raw))])


def bearer(token: str) -> Metadata:
    return [("authorization", f"Bearer {token}")]


def make_settings(data_dir: Path, **auth_fields: Any) -> Settings:
    fields: dict[str, Any] = {
        "issuer": ISSUER,
        "audience": AUDIENCE,
        "leeway_seconds": LEEWAY,
        "dev_key": False,
    }
    fields.update(auth_fields)
    environment = fields.pop("environment", "development")
    return Settings(environment=environment, data_dir=data_dir, auth=AuthSettings(**fields))


def refusal(authenticator: Authenticator, metadata: Metadata) -> Unauthenticated:
    with pytest.raises(Unauthenticated) as caught:
        authenticator.authenticate(metadata)
    return caught.value


@dataclass(frozen=True)
class Kit:
    idp: rsa.RSAPrivateKey
    attacker: rsa.RSAPrivateKey
    pem_file: Path


@pytest.fixture(scope="module")
def kit(tmp_path_factory: pytest.TempPathFactory) -> Kit:
    directory = tmp_path_factory.mktemp("keys")
    idp = new_key()
    pem_file = directory / "idp.pem"
    pem_file.write_bytes(public_pem(idp))
    return Kit(idp=idp, attacker=new_key(), pem_file=pem_file)


@pytest.fixture(scope="module")
def pem_authenticator(kit: Kit, tmp_path_factory: pytest.TempPathFactory) -> Authenticator:
    settings = make_settings(tmp_path_factory.mktemp("data"), public_key_files=[kit.pem_file])
    return auth.build_authenticator(settings)


# ---------------------------------------------------------------- refusals

REFUSALS = [
    pytest.param(
        lambda k: bearer(
            forge({"alg": "none", "typ": "JWT", "kid": "idp"}, claims(), lambda _: b"")
        ),
        reasons.DISALLOWED_ALGORITHM,
        None,
        id="alg-none",
    ),
    pytest.param(
        lambda k: bearer(
            forge({"alg": "HS256", "typ": "JWT", "kid": "idp"}, claims(), hs256(public_pem(k.idp)))
        ),
        reasons.DISALLOWED_ALGORITHM,
        None,
        id="hs256-public-key-as-secret",
    ),
    pytest.param(
        lambda k: bearer(
            forge({"alg": "HS256", "typ": "JWT"}, claims(), hs256(secrets.token_bytes(32)))
        ),
        reasons.DISALLOWED_ALGORITHM,
        None,
        id="hs256-random-secret",
    ),
    pytest.param(
        lambda k: bearer(sign(k.idp, alg="RS512")),
        reasons.DISALLOWED_ALGORITHM,
        None,
        id="rs512-not-configured",
    ),
    pytest.param(
        lambda k: bearer(sign(k.attacker)),
        reasons.INVALID_SIGNATURE,
        None,
        id="unknown-key-known-kid",
    ),
    pytest.param(
        lambda k: bearer(sign(k.attacker, kid=None)),
        reasons.INVALID_SIGNATURE,
        None,
        id="unknown-key-no-kid",
    ),
    pytest.param(
        lambda k: bearer(sign(k.idp, kid="rotated-away")),
        reasons.UNKNOWN_KEY,
        None,
        id="unknown-kid",
    ),
    pytest.param(
        lambda k: bearer(tamper_payload(sign(k.idp))),
        reasons.INVALID_SIGNATURE,
        None,
        id="tampered-payload",
    ),
    pytest.param(
        lambda k: bearer(tamper_signature(sign(k.idp))),
        reasons.INVALID_SIGNATURE,
        None,
        id="tampered-signature",
    ),
    pytest.param(
        lambda k: bearer(sign(k.idp, claims(exp=int(time.time()) - LEEWAY - 60))),
        reasons.TOKEN_EXPIRED,
        None,
        id="expired",
    ),
    pytest.param(
        lambda k: bearer(sign(k.idp, claims(nbf=int(time.time()) + LEEWAY + 60))),
        reasons.TOKEN_NOT_YET_VALID,
        None,
        id="nbf-beyond-leeway",
    ),
    pytest.param(
        lambda k: bearer(sign(k.idp, claims(iss="https://evil.example.test"))),
        reasons.INVALID_ISSUER,
        None,
        id="wrong-iss",
    ),
    pytest.param(
        lambda k: bearer(sign(k.idp, claims(aud="another-service"))),
        reasons.INVALID_AUDIENCE,
        None,
        id="wrong-aud",
    ),
    pytest.param(
        lambda k: bearer(sign(k.idp, claims(exp=None))),
        reasons.MISSING_CLAIM,
        "exp",
        id="missing-exp",
    ),
    pytest.param(
        lambda k: bearer(sign(k.idp, claims(exp=str(int(time.time()) + 600)))),
        reasons.INVALID_CLAIM,
        "exp",
        id="exp-as-a-string",
    ),
    pytest.param(
        lambda k: bearer(sign(k.idp, claims(nbf=str(int(time.time()) - 60)))),
        reasons.INVALID_CLAIM,
        "nbf",
        id="nbf-as-a-string",
    ),
    pytest.param(
        lambda k: bearer(sign(k.idp, claims(iat=str(int(time.time()))))),
        reasons.INVALID_CLAIM,
        "iat",
        id="iat-as-a-string",
    ),
    pytest.param(
        lambda k: bearer(sign(k.idp, claims(exp=True))),
        reasons.INVALID_CLAIM,
        "exp",
        id="exp-as-a-boolean",
    ),
    pytest.param(
        lambda k: bearer(sign(k.idp, claims(tenant_id=None))),
        reasons.MISSING_CLAIM,
        "tenant_id",
        id="missing-tenant-claim",
    ),
    pytest.param(
        lambda k: bearer(sign(k.idp, claims(sub=None))),
        reasons.MISSING_CLAIM,
        "sub",
        id="missing-user-claim",
    ),
    pytest.param(
        lambda k: bearer(sign(k.idp, claims(sub="x" * 129))),
        reasons.INVALID_CLAIM,
        "sub",
        id="user-claim-too-long",
    ),
    pytest.param(
        lambda k: [("user-agent", "grpc-python")],
        reasons.MISSING_CREDENTIALS,
        None,
        id="missing-header",
    ),
    pytest.param(
        lambda k: [("authorization", "Basic YWxpY2U6c2VjcmV0")],
        reasons.MALFORMED_TOKEN,
        None,
        id="basic-scheme",
    ),
    pytest.param(
        lambda k: [("authorization", "Bearer ")], reasons.MALFORMED_TOKEN, None, id="empty-bearer"
    ),
    pytest.param(lambda k: bearer("not-a-jwt"), reasons.MALFORMED_TOKEN, None, id="garbage-token"),
    pytest.param(
        lambda k: bearer(sign(k.idp)) + bearer(sign(k.attacker)),
        reasons.MALFORMED_TOKEN,
        None,
        id="two-authorization-entries",
    ),
    pytest.param(
        lambda k: [("x-user-id", "alice"), ("x-tenant-id", "acme")],
        reasons.MISSING_CREDENTIALS,
        None,
        id="gateway-headers-without-gateway-mode",
    ),
]


@pytest.mark.parametrize(("make_metadata", "reason", "claim"), REFUSALS)
def test_refusals(
    kit: Kit,
    pem_authenticator: Authenticator,
    make_metadata: Callable[[Kit], Metadata],
    reason: str,
    claim: str | None,
) -> None:
    metadata = make_metadata(kit)

    error = refusal(pem_authenticator, metadata)

    assert error.reason == reason
    if claim is not None:
        assert error.metadata == {"claim": claim}
    for _, value in metadata:
        credential = str(value).removeprefix("Bearer ")
        assert len(credential) < 16 or credential[:16] not in error.message
    assert len(error.message) < 60


# ---------------------------------------------------------------- acceptance


def test_pem_key_accepts_tokens_with_and_without_kid(
    kit: Kit, pem_authenticator: Authenticator
) -> None:
    token = sign(kit.idp, claims(email="alice@example.test", name="Alice"))

    principal = pem_authenticator.authenticate([("authorization", f"Bearer {token}".encode())])
    kidless = pem_authenticator.authenticate(bearer(sign(kit.idp, kid=None)))

    assert principal == Principal(
        tenant_id="acme", user_id="alice", email="alice@example.test", display_name="Alice"
    )
    assert kidless == Principal(tenant_id="acme", user_id="alice")


def test_jwks_file_selects_the_key_by_kid(kit: Kit, tmp_path: Path) -> None:
    old, new = kit.idp, new_key()
    jwks_file = tmp_path / "jwks.json"
    jwks_file.write_text(json.dumps({"keys": [jwk(old, "2024-01"), jwk(new, "2024-07")]}))
    authenticator = auth.build_authenticator(make_settings(tmp_path, jwks_file=jwks_file))

    accepted = [
        authenticator.authenticate(bearer(sign(old, kid="2024-01"))),
        authenticator.authenticate(bearer(sign(new, kid="2024-07"))),
    ]

    assert accepted == [Principal(tenant_id="acme", user_id="alice")] * 2
    wrong_key = refusal(authenticator, bearer(sign(new, kid="2024-01")))
    assert wrong_key.reason == reasons.INVALID_SIGNATURE
    no_kid = refusal(authenticator, bearer(sign(new, kid=None)))
    assert no_kid.reason == reasons.UNKNOWN_KEY


def test_leeway_is_honoured(kit: Kit, pem_authenticator: Authenticator) -> None:
    now = int(time.time())
    recently_expired = sign(kit.idp, claims(exp=now - LEEWAY // 2))
    almost_valid = sign(kit.idp, claims(nbf=now + LEEWAY // 2))

    for token in (recently_expired, almost_valid):
        assert pem_authenticator.authenticate(bearer(token)).user_id == "alice"


def test_custom_claim_names(kit: Kit, tmp_path: Path) -> None:
    settings = make_settings(
        tmp_path, public_key_files=[kit.pem_file], user_claim="uid", tenant_claim="org"
    )
    authenticator = auth.build_authenticator(settings)

    principal = authenticator.authenticate(
        bearer(sign(kit.idp, claims(sub=None, tenant_id=None, uid="u-1", org="o-1")))
    )

    assert principal == Principal(tenant_id="o-1", user_id="u-1")
    default_names = refusal(authenticator, bearer(sign(kit.idp)))
    assert (default_names.reason, default_names.metadata) == (
        reasons.MISSING_CLAIM,
        {"claim": "org"},
    )


def test_gateway_mode(kit: Kit, tmp_path: Path) -> None:
    settings = make_settings(tmp_path, public_key_files=[kit.pem_file], trusted_gateway=True)
    authenticator = auth.build_authenticator(settings)

    from_headers = authenticator.authenticate([("x-user-id", b"bob"), ("x-tenant-id", "acme")])
    from_token = authenticator.authenticate(bearer(sign(kit.idp)))

    assert from_headers == Principal(tenant_id="acme", user_id="bob")
    assert from_token == Principal(tenant_id="acme", user_id="alice")
    half = refusal(authenticator, [("x-user-id", "bob")])
    assert (half.reason, half.metadata) == (reasons.MISSING_CLAIM, {"claim": "x-tenant-id"})
    too_long = refusal(authenticator, [("x-user-id", "b" * 129), ("x-tenant-id", "acme")])
    assert too_long.reason == reasons.INVALID_CLAIM
    assert refusal(authenticator, []).reason == reasons.MISSING_CREDENTIALS


def test_gateway_mode_without_keys_takes_headers_only(tmp_path: Path, kit: Kit) -> None:
    authenticator = auth.build_authenticator(make_settings(tmp_path, trusted_gateway=True))

    principal = authenticator.authenticate([("x-user-id", "bob"), ("x-tenant-id", "acme")])

    assert principal == Principal(tenant_id="acme", user_id="bob")
    assert refusal(authenticator, bearer(sign(kit.idp))).reason == reasons.MISSING_CREDENTIALS


def test_no_key_and_no_gateway_is_a_configuration_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError):
        auth.build_authenticator(make_settings(tmp_path))


# ---------------------------------------------------------------- JWKS over HTTP


@dataclass
class JwksServer:
    url: str
    document: dict[str, Any]
    hits: int = 0
    status: int = 200


@pytest.fixture
def jwks_server(monkeypatch: pytest.MonkeyPatch) -> Iterator[JwksServer]:
    for variable in ("no_proxy", "NO_PROXY"):
        monkeypatch.setenv(variable, "127.0.0.1")
    state = JwksServer(url="", document={"keys": []})

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            state.hits += 1
            body = json.dumps(state.document).encode()
            self.send_response(state.status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    state.url = f"http://127.0.0.1:{server.server_address[1]}/.well-known/jwks.json"
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


def remote_only(remote: RemoteJwks) -> JwtAuthenticator:
    """An authenticator on a JWKS URL with cache timings the settings do not expose."""
    return JwtAuthenticator(
        KeyRing([], remote=remote),
        issuer=ISSUER,
        audience=AUDIENCE,
        algorithms=["RS256"],
        leeway_seconds=LEEWAY,
        user_claim="sub",
        tenant_claim="tenant_id",
    )


def test_jwks_url_is_cached_and_refetch_is_rate_limited(
    kit: Kit, tmp_path: Path, jwks_server: JwksServer
) -> None:
    rotated = new_key()
    jwks_server.document = {"keys": [jwk(kit.idp, "k1")]}
    authenticator = auth.build_authenticator(make_settings(tmp_path, jwks_url=jwks_server.url))

    for _ in range(3):
        assert authenticator.authenticate(bearer(sign(kit.idp, kid="k1"))).user_id == "alice"
    jwks_server.document = {"keys": [jwk(kit.idp, "k1"), jwk(rotated, "k2")]}
    too_soon = refusal(authenticator, bearer(sign(rotated, kid="k2")))

    assert too_soon.reason == reasons.UNKNOWN_KEY
    assert jwks_server.hits == 1


def test_jwks_url_refetches_once_on_unknown_kid(kit: Kit, jwks_server: JwksServer) -> None:
    rotated = new_key()
    jwks_server.document = {"keys": [jwk(kit.idp, "k1")]}
    remote = RemoteJwks(jwks_server.url, ["RS256"], cooldown_seconds=0)
    authenticator = remote_only(remote)
    authenticator.authenticate(bearer(sign(kit.idp, kid="k1")))

    jwks_server.document = {"keys": [jwk(kit.idp, "k1"), jwk(rotated, "k2")]}
    principal = authenticator.authenticate(bearer(sign(rotated, kid="k2")))
    hits_after_rotation = jwks_server.hits
    unknown = refusal(authenticator, bearer(sign(rotated, kid="k3")))

    assert principal.user_id == "alice"
    assert hits_after_rotation == 2
    assert unknown.reason == reasons.UNKNOWN_KEY
    assert jwks_server.hits == 3


def test_jwks_url_outage_keeps_keys_already_served(kit: Kit, jwks_server: JwksServer) -> None:
    jwks_server.document = {"keys": [jwk(kit.idp, "k1")]}
    remote = RemoteJwks(jwks_server.url, ["RS256"], lifespan_seconds=0.01, cooldown_seconds=0)
    authenticator = remote_only(remote)
    authenticator.authenticate(bearer(sign(kit.idp, kid="k1")))
    jwks_server.status = 503
    time.sleep(0.05)

    principal = authenticator.authenticate(bearer(sign(kit.idp, kid="k1")))

    assert principal.user_id == "alice"
    assert jwks_server.hits == 2
    with pytest.raises(Unavailable):
        authenticator.authenticate(bearer(sign(kit.idp, kid="k2")))


def test_jwks_url_down_is_unavailable(kit: Kit, tmp_path: Path) -> None:
    placeholder = ThreadingHTTPServer(("127.0.0.1", 0), BaseHTTPRequestHandler)
    port = placeholder.server_address[1]
    placeholder.server_close()
    settings = make_settings(tmp_path, jwks_url=f"http://127.0.0.1:{port}/jwks.json")
    authenticator = auth.build_authenticator(settings)

    with pytest.raises(Unavailable) as caught:
        authenticator.authenticate(bearer(sign(kit.idp, kid="k1")))

    assert caught.value.reason == reasons.KEYS_UNAVAILABLE


# ---------------------------------------------------------------- development key


def test_dev_token_round_trip(tmp_path: Path) -> None:
    settings = make_settings(tmp_path, dev_key=True, user_claim="uid")
    authenticator = auth.build_authenticator(settings)

    token = auth.mint_dev_token(settings, extra_claims={"email": "dev@example.test"})
    principal = authenticator.authenticate(bearer(token))

    assert principal == Principal(
        tenant_id="dev-tenant", user_id="dev-user", email="dev@example.test"
    )
    assert jwt.get_unverified_header(token)["kid"] == DEV_KID
    private_key_file = dev_key_dir(tmp_path) / "dev-private.pem"
    assert private_key_file.stat().st_mode & 0o777 == 0o600
    before = private_key_file.read_bytes()
    auth.build_authenticator(settings)
    assert private_key_file.read_bytes() == before
    expired = auth.mint_dev_token(settings, ttl_seconds=-3600)
    assert refusal(authenticator, bearer(expired)).reason == reasons.TOKEN_EXPIRED


def test_dev_key_is_created_once_under_concurrent_starts(tmp_path: Path) -> None:
    with ThreadPoolExecutor(max_workers=8) as pool:
        keys = list(pool.map(lambda _: ensure_dev_key(tmp_path), range(8)))

    assert len({public_pem(key) for key in keys}) == 1
    assert sorted(os.listdir(dev_key_dir(tmp_path))) == ["dev-private.pem", "dev.pem"]


@pytest.mark.parametrize("form", ["pem", "jwks"])
def test_production_refuses_the_dev_public_key(tmp_path: Path, kit: Kit, form: str) -> None:
    dev_key = ensure_dev_key(tmp_path)
    # Renamed on the way, so only the key material can give it away.
    if form == "pem":
        copied = tmp_path / "corporate-idp.pem"
        copied.write_bytes(public_pem(dev_key))
        trusted: dict[str, Any] = {"public_key_files": [kit.pem_file, copied]}
    else:
        copied = tmp_path / "jwks.json"
        copied.write_text(json.dumps({"keys": [jwk(kit.idp, "a"), jwk(dev_key, "b")]}))
        trusted = {"jwks_file": copied}

    with pytest.raises(ConfigurationError, match="development key"):
        auth.build_authenticator(make_settings(tmp_path, environment="production", **trusted))

    honest = make_settings(tmp_path, environment="production", public_key_files=[kit.pem_file])
    assert auth.build_authenticator(honest).authenticate(bearer(sign(kit.idp))).user_id == "alice"


# ---------------------------------------------------------------- remembered tokens


def test_a_verified_token_is_recalled_without_verifying_again(
    kit: Kit, pem_authenticator: Authenticator
) -> None:
    metadata = bearer(sign(kit.idp))
    assert pem_authenticator.recall(metadata) is None  # never seen: verify it first

    principal = pem_authenticator.authenticate(metadata)

    assert pem_authenticator.recall(metadata) == principal
    assert pem_authenticator.recall(bearer(sign(kit.idp, claims(sub="bob")))) is None
    assert pem_authenticator.recall([("authorization", "Basic eA==")]) is None


def test_a_remembered_token_is_forgotten_when_it_expires(
    kit: Kit, pem_authenticator: Authenticator, monkeypatch: pytest.MonkeyPatch
) -> None:
    now = time.time()
    metadata = bearer(sign(kit.idp, claims(exp=int(now) + 60)))
    pem_authenticator.authenticate(metadata)

    clock = now + 60 + LEEWAY + 1
    monkeypatch.setattr("meeting_agent.auth.jwt_authenticator.time.time", lambda: clock)

    # Past its expiry it must be verified again (and PyJWT, on its own clock, refuses it).
    assert pem_authenticator.recall(metadata) is None


def test_tokens_are_remembered_for_a_minute_at_most(
    kit: Kit, pem_authenticator: Authenticator, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A key withdrawn from the JWKS stops working within the minute.
    now = time.time()
    metadata = bearer(sign(kit.idp, claims(exp=int(now) + 3600)))
    pem_authenticator.authenticate(metadata)
    monkeypatch.setattr("meeting_agent.auth.jwt_authenticator.time.time", lambda: now + 61)

    assert pem_authenticator.recall(metadata) is None
