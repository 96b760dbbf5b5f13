"""The identity subgraphs trust: a short-lived "passport" the gateway signs with its own key.

After the gateway has verified a client's token (`edge.auth`), it sends each subgraph the
verified identity in one header, `x-edgegraph-passport`: a compact JWS (EdDSA over Ed25519)
whose claims are

- `iss` "edgegraph-gateway", `aud` "edgegraph-subgraph", `iat`, and `exp` a minute later;
- `sub`: the verified subject (in the demo, the member id);
- `scope`: the verified scopes, space-separated (RFC 8693 style);
- `client`: the device client the gateway recognised, if any;
- `claims`: every claim of the client's token, as verified.

A subgraph checks the signature with the gateway's public key (`PassportVerifier`), so a
caller that reaches a subgraph directly cannot claim to be anyone, and the token's own issuer
and audiences stay the gateway's business. The gateway drops any copy of this header (and any
`x-member-id`) a client sends before it adds its own.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

__all__ = [
    "PASSPORT_AUDIENCE",
    "PASSPORT_HEADER",
    "PASSPORT_ISSUER",
    "Identity",
    "PassportSigner",
    "PassportVerifier",
    "load_passport_key",
    "load_passport_public_key",
]

PASSPORT_HEADER = "x-edgegraph-passport"
PASSPORT_ISSUER = "edgegraph-gateway"
PASSPORT_AUDIENCE = "edgegraph-subgraph"

_ALGORITHM = "EdDSA"


@dataclass(frozen=True, slots=True)
class Identity:
    """Who is calling, as a verified token (or passport) says."""

    subject: str
    scopes: frozenset[str] = frozenset()
    client: str | None = None
    claims: Mapping[str, Any] = field(default_factory=lambda: MappingProxyType({}))


def load_passport_key(path: str | Path) -> Ed25519PrivateKey:
    """The gateway's passport signing key from a PEM file (PKCS#8 Ed25519, unencrypted)."""
    key = serialization.load_pem_private_key(Path(path).read_bytes(), password=None)
    if not isinstance(key, Ed25519PrivateKey):
        raise ValueError(f"{path}: the passport key must be an Ed25519 private key")
    return key


def load_passport_public_key(path: str | Path) -> Ed25519PublicKey:
    """What a subgraph verifies passports with, from a PEM file. Make the pair with
    `openssl genpkey -algorithm ed25519 -out passport.pem` (the gateway's
    `auth.passport_key_file`) and `openssl pkey -in passport.pem -pubout -out passport.pub.pem`.
    """
    key = serialization.load_pem_public_key(Path(path).read_bytes())
    if not isinstance(key, Ed25519PublicKey):
        raise ValueError(f"{path}: the passport public key must be an Ed25519 key")
    return key


class PassportSigner:
    """Signs passports for the gateway. `clock` is injectable so tests need no sleeping."""

    def __init__(
        self,
        key: Ed25519PrivateKey,
        *,
        ttl: int = 60,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.key = key
        self.ttl = ttl
        self.clock = clock

    @property
    def public_key(self) -> Ed25519PublicKey:
        """What subgraphs verify passports with."""
        return self.key.public_key()

    def sign(self, identity: Identity) -> str:
        """The passport for `identity`, valid for `ttl` seconds."""
        now = int(self.clock())
        payload: dict[str, Any] = {
            "iss": PASSPORT_ISSUER,
            "aud": PASSPORT_AUDIENCE,
            "iat": now,
            "exp": now + self.ttl,
            "sub": identity.subject,
            "scope": " ".join(sorted(identity.scopes)),
            "claims": dict(identity.claims),
        }
        if identity.client is not None:
            payload["client"] = identity.client
        return jwt.encode(payload, self.key, algorithm=_ALGORITHM)


class PassportVerifier:
    """Checks a passport for a subgraph: the gateway's signature, audience and lifetime."""

    def __init__(self, public_key: Ed25519PublicKey, *, leeway: float = 5.0) -> None:
        self.public_key = public_key
        self.leeway = leeway

    def verify(self, passport: str | None) -> Identity | None:
        """The identity a valid passport carries; None for a missing or invalid one."""
        if not passport or len(passport) > 16_384:
            return None
        try:
            claims = jwt.decode(
                passport,
                self.public_key,
                algorithms=[_ALGORITHM],
                audience=PASSPORT_AUDIENCE,
                issuer=PASSPORT_ISSUER,
                leeway=self.leeway,
                options={"require": ["exp", "iat", "sub"]},
            )
        except jwt.PyJWTError:
            return None
        scope = claims.get("scope")
        inner = claims.get("claims")
        client = claims.get("client")
        return Identity(
            subject=str(claims["sub"]),
            scopes=frozenset(scope.split()) if isinstance(scope, str) else frozenset(),
            client=client if isinstance(client, str) else None,
            claims=MappingProxyType(dict(inner) if isinstance(inner, dict) else {}),
        )
