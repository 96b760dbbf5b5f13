"""The demo's token issuer: a stand-in identity provider, for `edgegraph demo` only.

`GET /.well-known/jwks.json` publishes its public key; `POST /token` with
`{"member": "m1", "scopes": ["list:write"], "ttl": 300}` answers
`{"access_token": "<jwt>", "token_type": "Bearer", "expires_in": 300}`. It signs RS256 with an
RSA key made when it starts, so a restart invalidates every token it gave out.

It hands a token to whoever asks: a real provider signs members in first. That is why only
`edgegraph demo` starts it; the gateway trusts it like any provider, through `[auth]`.
"""

from __future__ import annotations

import re
import secrets
import time
from collections.abc import Callable, Sequence
from typing import Any

import jwt
import orjson
from cryptography.hazmat.primitives.asymmetric import rsa
from jwt.algorithms import RSAAlgorithm
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

__all__ = ["AUDIENCE", "MAX_TTL", "Issuer"]

#: The audience the demo gateway accepts.
AUDIENCE = "edgegraph"
#: The longest lifetime a token may ask for, in seconds.
MAX_TTL = 3600

_MEMBER = re.compile(r"[A-Za-z0-9_-]{1,64}")
_SCOPE = re.compile(r"[\x21\x23-\x5b\x5d-\x7e]{1,64}")  # RFC 6749 scope-token characters


class Issuer:
    """An RSA key pair and the tokens it signs; `url` is its `iss`."""

    def __init__(
        self,
        url: str = "http://127.0.0.1:4005",
        *,
        audience: str = AUDIENCE,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.url = url
        self.audience = audience
        self.clock = clock
        self.key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self.kid = secrets.token_hex(8)

    @property
    def jwks_url(self) -> str:
        """Where the gateway fetches this issuer's keys."""
        return f"{self.url}/.well-known/jwks.json"

    def jwks(self) -> dict[str, Any]:
        """The public key as a JWK Set."""
        jwk = RSAAlgorithm.to_jwk(self.key.public_key(), as_dict=True)
        return {"keys": [{**jwk, "kid": self.kid, "use": "sig", "alg": "RS256"}]}

    def mint(self, member: str, scopes: Sequence[str] = (), ttl: int = 300) -> str:
        """A signed access token for `member`."""
        now = int(self.clock())
        claims = {
            "iss": self.url,
            "aud": self.audience,
            "sub": member,
            "scope": " ".join(scopes),
            "iat": now,
            "nbf": now,
            "exp": now + ttl,
            "jti": secrets.token_hex(8),
        }
        return jwt.encode(claims, self.key, algorithm="RS256", headers={"kid": self.kid})

    def create_app(self) -> Starlette:
        """The issuer's HTTP app."""

        async def jwks(_request: Request) -> Response:
            return JSONResponse(self.jwks(), headers={"cache-control": "max-age=300"})

        async def token(request: Request) -> Response:
            try:
                body = orjson.loads(await request.body())
            except orjson.JSONDecodeError:
                return _invalid("the body must be JSON")
            if not isinstance(body, dict):
                return _invalid("the body must be a JSON object")
            member, scopes, ttl = body.get("member"), body.get("scopes", []), body.get("ttl", 300)
            if not isinstance(member, str) or not _MEMBER.fullmatch(member):
                return _invalid("member: 1 to 64 letters, digits, '-' or '_'")
            if not isinstance(scopes, list) or not all(
                isinstance(s, str) and _SCOPE.fullmatch(s) for s in scopes
            ):
                return _invalid("scopes: a list of scope tokens")
            if isinstance(ttl, bool) or not isinstance(ttl, int) or not 0 < ttl <= MAX_TTL:
                return _invalid(f"ttl: whole seconds, 1 to {MAX_TTL}")
            access_token = self.mint(member, scopes, ttl)
            return JSONResponse(
                {"access_token": access_token, "token_type": "Bearer", "expires_in": ttl},
                headers={"cache-control": "no-store"},
            )

        return Starlette(
            routes=[
                Route("/.well-known/jwks.json", jwks, methods=["GET"]),
                Route("/token", token, methods=["POST"]),
            ]
        )


def _invalid(description: str) -> Response:
    # RFC 6749 §5.2's error shape, which OAuth clients already parse.
    return JSONResponse(
        {"error": "invalid_request", "error_description": description}, status_code=400
    )
