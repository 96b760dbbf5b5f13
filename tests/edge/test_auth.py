"""Bearer tokens at the gateway: real RSA-signed JWTs against a JWKS app over ASGI.

Every refused case of issue #14 has its test here; none grants anything, and none leaves the
token in the logs.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from edge.auth import AuthConfig, Authenticator, AuthSetupError, TokenRefused, TokenVerifier
from edge.http import RequestError
from edge.jwks import JwksKeys, StaticKeys
from edge.passport import (
    PASSPORT_HEADER,
    Identity,
    PassportSigner,
    PassportVerifier,
    load_passport_key,
    load_passport_public_key,
)
from tests.edge.auth_support import (
    AUDIENCE,
    ISSUER,
    JWKS_URL,
    Provider,
    b64,
    rsa_key,
    unsigned_token,
)

CONFIG = AuthConfig(jwks_url=JWKS_URL, issuers=(ISSUER,), audiences=(AUDIENCE,), leeway=5)


class Clock:
    """Monotonic seconds that move only when a test says so."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@asynccontextmanager
async def verifier(
    provider: Provider, clock: Clock | None = None, config: AuthConfig = CONFIG
) -> AsyncIterator[tuple[TokenVerifier, JwksKeys]]:
    async with provider.client() as http:
        keys = JwksKeys(
            JWKS_URL,
            http=http,
            refresh=config.jwks_refresh,
            max_age=config.jwks_max_age,
            min_refetch=config.jwks_min_refetch,
            clock=clock or Clock(),
        )
        yield TokenVerifier(keys, config), keys


async def refused(check: TokenVerifier, token: str) -> str:
    with pytest.raises(TokenRefused) as caught:
        await check.verify(token)
    return caught.value.reason


async def test_auth_accepts_a_valid_token_with_its_subject_and_scopes() -> None:
    provider = Provider()
    async with verifier(provider) as (check, _keys):
        identity = await check.verify(provider.token(sub="m7"))
    assert identity.subject == "m7"
    assert identity.scopes == {"profile", "list:write"}
    assert identity.claims["iss"] == ISSUER


async def test_auth_refuses_alg_none() -> None:
    provider = Provider()
    now = int(time.time())
    claims = {"iss": ISSUER, "aud": AUDIENCE, "sub": "m2", "exp": now + 60}
    forged = jwt.encode(claims, "", algorithm="none", headers={"kid": "k1"})
    async with verifier(provider) as (check, keys):
        assert await refused(check, forged) == "the token's algorithm is not accepted"
        assert keys.fetches == 0  # refused before any key is looked up


async def test_auth_refuses_hs256_signed_with_the_public_key() -> None:
    # Algorithm confusion: the attacker HMACs with the RSA public key, which is public.
    provider = Provider()
    public_pem = (
        rsa_key("k1")
        .public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    )
    now = int(time.time())
    header = {"alg": "HS256", "typ": "JWT", "kid": "k1"}
    payload = {"iss": ISSUER, "aud": AUDIENCE, "sub": "m2", "exp": now + 60}
    signing_input = f"{b64(_json(header))}.{b64(_json(payload))}".encode()
    forged = unsigned_token(
        header, payload, hmac.new(public_pem, signing_input, hashlib.sha256).digest()
    )
    async with verifier(provider) as (check, _keys):
        assert await refused(check, forged) == "the token's algorithm is not accepted"
    with pytest.raises(ValueError, match="HS256 not accepted"):
        AuthConfig(
            jwks_url=JWKS_URL, issuers=(ISSUER,), audiences=(AUDIENCE,), algorithms=("HS256",)
        )


async def test_auth_refuses_an_algorithm_that_does_not_fit_the_key() -> None:
    # EdDSA is allowed, but kid k1 is an RSA key: the header's alg alone picks nothing.
    provider = Provider()
    now = int(time.time())
    claims = {"iss": ISSUER, "aud": AUDIENCE, "sub": "m2", "exp": now + 60}
    forged = jwt.encode(
        claims, Ed25519PrivateKey.generate(), algorithm="EdDSA", headers={"kid": "k1"}
    )
    async with verifier(provider) as (check, _keys):
        assert await refused(check, forged) == "the token's algorithm does not fit its key"


async def test_auth_refuses_an_unknown_kid_and_refetches_at_most_once_per_interval() -> None:
    provider = Provider()
    clock = Clock()
    async with verifier(provider, clock) as (check, keys):
        await check.verify(provider.token())
        assert keys.fetches == 1
        stranger = provider.token("k-unknown")
        assert await refused(check, stranger) == "the token's signing key is unknown"
        assert await refused(check, stranger) == "the token's signing key is unknown"
        # The first unknown kid was not 10 s after the first fetch: no refetch yet.
        assert keys.fetches == 1
        clock.now += 10
        assert await refused(check, stranger) == "the token's signing key is unknown"
        assert await refused(check, stranger) == "the token's signing key is unknown"
        assert keys.fetches == 2


async def test_auth_follows_key_rotation() -> None:
    provider = Provider()
    clock = Clock()
    async with verifier(provider, clock) as (check, keys):
        await check.verify(provider.token("k1"))
        provider.published = ["k1", "k2"]  # the provider rotates in a new key
        clock.now += 10
        identity = await check.verify(provider.token("k2", sub="m3"))
        assert identity.subject == "m3" and keys.fetches == 2
        provider.published = ["k2"]  # and retires the old one
        clock.now += CONFIG.jwks_refresh
        await check.verify(provider.token("k2"))  # stale: refreshed in the background
        await keys.refreshed()
        assert await refused(check, provider.token("k1")) == "the token's signing key is unknown"


async def test_auth_uses_cached_keys_while_the_jwks_is_down_until_they_expire() -> None:
    provider = Provider()
    clock = Clock()
    async with verifier(provider, clock) as (check, keys):
        await check.verify(provider.token())
        provider.up = False
        clock.now += CONFIG.jwks_refresh + 1  # stale: a refetch is tried, fails, keys kept
        assert (await check.verify(provider.token())).subject == "m1"
        await keys.refreshed()  # the refresh ran beside the request, which did not wait
        assert keys.fetches == 2
        clock.now = 1000.0 + CONFIG.jwks_max_age  # an hour after the last good fetch
        assert await refused(check, provider.token()) == "the token's signing key is unknown"
        provider.up = True
        clock.now += CONFIG.jwks_min_refetch
        assert (await check.verify(provider.token())).subject == "m1"


async def test_auth_refuses_a_tampered_payload() -> None:
    provider = Provider()
    head, _body, signature = provider.token(sub="m1").split(".")
    now = int(time.time())
    other = {"iss": ISSUER, "aud": AUDIENCE, "sub": "m2", "exp": now + 300, "iat": now}
    tampered = f"{head}.{b64(_json(other))}.{signature}"
    async with verifier(provider) as (check, _keys):
        assert await refused(check, tampered) == "the token's signature does not verify"


async def test_auth_refuses_expired_and_not_yet_valid_tokens() -> None:
    provider = Provider()
    now = int(time.time())
    async with verifier(provider) as (check, _keys):
        expired = provider.token(ttl=-60)
        assert await refused(check, expired) == "the token has expired"
        early = provider.token(nbf=now + 600)
        assert await refused(check, early) == "the token is not valid yet"
        # Within the leeway (5 s) both still pass: clocks drift.
        assert await check.verify(provider.token(ttl=-2))
        no_exp = jwt.encode(
            {"iss": ISSUER, "aud": AUDIENCE, "sub": "m1"},
            rsa_key("k1"),
            algorithm="RS256",
            headers={"kid": "k1"},
        )
        assert await refused(check, no_exp) == "the token lacks a required claim"


async def test_auth_refuses_the_wrong_issuer_or_audience() -> None:
    provider = Provider()
    async with verifier(provider) as (check, _keys):
        wrong_iss = provider.token(iss="https://evil.example")
        assert await refused(check, wrong_iss) == "the token's issuer is not accepted"
        wrong_aud = provider.token(aud="another-api")
        assert await refused(check, wrong_aud) == "the token's audience is not accepted"


@pytest.mark.parametrize(
    "garbage", ["", "garbage", "a.b.c", "e30.e30.", "....", "eyJhbGciOiJSUzI1NiJ9.%%%.x"]
)
async def test_auth_refuses_garbage(garbage: str) -> None:
    async with verifier(Provider()) as (check, keys):
        await refused(check, garbage)
        assert keys.fetches == 0


async def test_auth_refuses_a_100_kb_token_by_size_before_parsing() -> None:
    provider = Provider()
    huge = provider.token(padding="x" * 100_000)
    async with verifier(provider) as (check, keys):
        assert await refused(check, huge) == "the token is too large"
        assert keys.fetches == 0


async def test_auth_static_key_file_pem_and_jwks(tmp_path: Path) -> None:
    provider = Provider()
    pem = tmp_path / "issuer.pem"
    pem.write_bytes(
        rsa_key("k1")
        .public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    )
    jwks = tmp_path / "jwks.json"
    jwks.write_text(_json(provider.jwks()).decode())
    # A PEM key has no kid: it is the one key, so another key's token fails its signature.
    cases = {pem: "signature does not verify", jwks: "signing key is unknown"}
    for path, reason in cases.items():
        config = AuthConfig(key_file=str(path), issuers=(ISSUER,), audiences=(AUDIENCE,))
        check = TokenVerifier(StaticKeys.from_file(path), config)
        assert (await check.verify(provider.token())).subject == "m1"
        assert await refused(check, provider.token("k2")) == f"the token's {reason}"


async def test_authenticator_refuses_with_401_and_never_logs_the_token(
    caplog: pytest.LogCaptureFixture,
) -> None:
    provider = Provider()
    tokens = [
        provider.token(ttl=-60),
        provider.token(iss="https://evil.example"),
        provider.token("k-unknown"),
        provider.token(padding="x" * 100_000),
        "garbage",
    ]
    caplog.set_level(logging.DEBUG)
    async with provider.client() as http:
        auth = Authenticator.from_config(CONFIG, http=http)
        for token in tokens:
            with pytest.raises(RequestError) as caught:
                await auth.authenticate({"authorization": f"Bearer {token}"})
            assert caught.value.status == 401 and caught.value.code == "UNAUTHENTICATED"
            assert token not in caught.value.message
        with pytest.raises(RequestError):
            await auth.authenticate({"authorization": f"Basic {tokens[0]}"})
        assert await auth.authenticate({}) is None  # optional: anonymous is served
    logged = "\n".join(record.getMessage() for record in caplog.records)
    assert "token refused" in logged
    for token in tokens:
        assert token[:40] not in logged and token.split(".")[-1] not in logged


async def test_authenticator_required_refuses_a_missing_token() -> None:
    config = AuthConfig(jwks_url=JWKS_URL, issuers=(ISSUER,), audiences=(AUDIENCE,), required=True)
    async with Provider().client() as http:
        auth = Authenticator.from_config(config, http=http)
        with pytest.raises(RequestError) as caught:
            await auth.authenticate({})
    assert caught.value.status == 401
    assert caught.value.headers["www-authenticate"].startswith("Bearer")


async def test_authenticator_passport_replaces_client_identity_headers() -> None:
    provider = Provider()
    key = Ed25519PrivateKey.generate()
    async with provider.client() as http:
        auth = Authenticator.from_config(CONFIG, http=http, passport_key=key)
        identity = await auth.authenticate({"authorization": f"Bearer {provider.token()}"})
    client = {"x-member-id": "m2", PASSPORT_HEADER: "forged", "x-request-id": "r1"}
    anonymous = auth.subgraph_headers(client, None)
    assert anonymous == {"x-request-id": "r1"}
    sent = auth.subgraph_headers(client, identity)
    passport = PassportVerifier(key.public_key()).verify(sent[PASSPORT_HEADER])
    assert passport is not None and passport.subject == "m1"
    assert passport.scopes == {"profile", "list:write"}
    assert "x-member-id" not in sent
    # A passport signed by any other key is worth nothing to a subgraph.
    assert (
        PassportVerifier(Ed25519PrivateKey.generate().public_key()).verify(sent[PASSPORT_HEADER])
        is None
    )


def test_passport_keys_load_from_pem_files(tmp_path: Path) -> None:
    key = Ed25519PrivateKey.generate()
    private = tmp_path / "passport.pem"
    private.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    public = tmp_path / "passport.pub.pem"
    public.write_bytes(
        key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
    )
    signer = PassportSigner(load_passport_key(private))
    verifier = PassportVerifier(load_passport_public_key(public))
    identity = verifier.verify(signer.sign(Identity(subject="m9", scopes=frozenset({"a"}))))
    assert identity is not None and identity.subject == "m9" and identity.scopes == {"a"}
    with pytest.raises(ValueError, match="Ed25519"):
        load_passport_public_key(_rsa_public_pem(tmp_path))


def _rsa_public_pem(tmp_path: Path) -> Path:
    path = tmp_path / "rsa.pem"
    path.write_bytes(
        rsa_key("k1")
        .public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    )
    return path


def test_authenticator_names_an_unusable_key_file(tmp_path: Path) -> None:
    missing = AuthConfig(
        key_file=str(tmp_path / "none.pem"), issuers=(ISSUER,), audiences=(AUDIENCE,)
    )
    with pytest.raises(AuthSetupError, match=r"auth\.key_file: .*none\.pem"):
        Authenticator.from_config(missing)
    garbage = tmp_path / "garbage.pem"
    garbage.write_text("not a key")
    with pytest.raises(AuthSetupError, match=r"auth\.passport_key_file"):
        Authenticator.from_config(
            AuthConfig(
                jwks_url=JWKS_URL,
                issuers=(ISSUER,),
                audiences=(AUDIENCE,),
                passport_key_file=str(garbage),
            )
        )


def test_auth_config_refuses_unsafe_settings() -> None:
    with pytest.raises(ValueError, match="none not accepted"):
        AuthConfig(
            jwks_url=JWKS_URL, issuers=(ISSUER,), audiences=(AUDIENCE,), algorithms=("none",)
        )
    with pytest.raises(ValueError, match="issuers and audiences"):
        AuthConfig(jwks_url=JWKS_URL)
    with pytest.raises(ValueError, match="required"):
        AuthConfig(required=True)
    assert not AuthConfig().enabled


def _json(value: object) -> bytes:
    return json.dumps(value).encode()
