"""The demo token issuer: its JWKS verifies the tokens it gives out; bad requests get 400."""

from __future__ import annotations

import time

import httpx
import jwt
import pytest

from backends.issuer import AUDIENCE, MAX_TTL, Issuer

ISSUER = Issuer("http://issuer.test")


async def _client() -> httpx.AsyncClient:
    transport = httpx.ASGITransport(app=ISSUER.create_app())
    return httpx.AsyncClient(transport=transport, base_url="http://issuer.test")


async def test_issuer_token_verifies_against_its_jwks() -> None:
    async with await _client() as client:
        jwks = (await client.get("/.well-known/jwks.json")).json()
        answer = await client.post(
            "/token", json={"member": "m1", "scopes": ["list:write"], "ttl": 120}
        )
    assert answer.status_code == 200
    body = answer.json()
    assert body["token_type"] == "Bearer" and body["expires_in"] == 120
    (jwk,) = jwks["keys"]
    assert "d" not in jwk  # the public half only
    key = jwt.PyJWK.from_dict(jwk)
    claims = jwt.decode(
        body["access_token"], key.key, algorithms=["RS256"], audience=AUDIENCE,
        issuer="http://issuer.test",
    )  # fmt: skip
    assert claims["sub"] == "m1" and claims["scope"] == "list:write"
    assert claims["exp"] - 120 <= time.time() + 1


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"member": ""},
        {"member": "m1 m2"},
        {"member": "m1", "scopes": "list:write"},
        {"member": "m1", "scopes": ['a"b']},
        {"member": "m1", "ttl": 0},
        {"member": "m1", "ttl": MAX_TTL + 1},
        {"member": "m1", "ttl": True},
        [],
    ],
)
async def test_issuer_refuses_bad_token_requests(body: object) -> None:
    async with await _client() as client:
        answer = await client.post("/token", json=body)
    assert answer.status_code == 400
    assert answer.json()["error"] == "invalid_request"
