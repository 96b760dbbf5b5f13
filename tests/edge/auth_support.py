"""A real identity provider for auth tests: RSA keys, a JWKS app over ASGI, signed tokens."""

from __future__ import annotations

import base64
import functools
import json
import time
from dataclasses import dataclass, field
from typing import Any

import httpx
import jwt
from cryptography.hazmat.primitives.asymmetric import rsa
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

__all__ = ["ISSUER", "JWKS_URL", "Provider", "b64", "rsa_key"]

ISSUER = "https://id.example"
AUDIENCE = "edgegraph"
JWKS_URL = "https://id.example/.well-known/jwks.json"


@functools.cache
def rsa_key(name: str) -> rsa.RSAPrivateKey:
    """One RSA key per name for the whole test run: key generation is the slow part."""
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


@dataclass
class Provider:
    """Publishes the keys in `published` at JWKS_URL; `up` false answers 503."""

    published: list[str] = field(default_factory=lambda: ["k1"])
    up: bool = True
    served: int = 0

    def jwks(self) -> dict[str, Any]:
        keys = []
        for kid in self.published:
            jwk = jwt.algorithms.RSAAlgorithm.to_jwk(rsa_key(kid).public_key(), as_dict=True)
            keys.append({**jwk, "kid": kid, "use": "sig", "alg": "RS256"})
        return {"keys": keys}

    def app(self) -> Starlette:
        async def jwks(_request: Request) -> Response:
            self.served += 1
            if not self.up:
                return JSONResponse({"error": "down"}, status_code=503)
            return JSONResponse(self.jwks())

        return Starlette(routes=[Route("/.well-known/jwks.json", jwks)])

    def client(self) -> httpx.AsyncClient:
        return httpx.AsyncClient(transport=httpx.ASGITransport(app=self.app()))

    def token(
        self,
        kid: str = "k1",
        *,
        ttl: int = 300,
        algorithm: str = "RS256",
        **claims: Any,
    ) -> str:
        now = int(time.time())
        payload: dict[str, Any] = {
            "iss": ISSUER,
            "aud": AUDIENCE,
            "sub": "m1",
            "scope": "profile list:write",
            "iat": now,
            "exp": now + ttl,
            **claims,
        }
        return jwt.encode(payload, rsa_key(kid), algorithm=algorithm, headers={"kid": kid})


def unsigned_token(header: dict[str, Any], payload: dict[str, Any], signature: bytes) -> str:
    """A token assembled by hand, for the forgeries PyJWT itself refuses to produce."""
    head = b64(json.dumps(header).encode())
    body = b64(json.dumps(payload).encode())
    return f"{head}.{body}.{b64(signature)}"
