"""Tokens through the whole gateway app: 401s, and the passport the subgraphs receive."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from edge.auth import Authenticator
from edge.config import ConfigError, GatewayConfig, parse_config
from edge.passport import PASSPORT_HEADER, PassportVerifier
from federation.subgraphs.fetcher import SubgraphRequest
from federation.supergraph.model import load_supergraph
from gateway import create_app
from tests.edge.auth_support import AUDIENCE, ISSUER, JWKS_URL, Provider
from tests.edge.live import DEMO_SUPERGRAPH

PASSPORT_KEY = Ed25519PrivateKey.generate()
QUERY = {"query": "{ genres { name } }"}


class RecordingFetcher:
    """Answers every fetch with empty data and keeps the headers each subgraph was sent."""

    def __init__(self) -> None:
        self.sent: list[dict[str, str]] = []

    async def fetch(self, request: SubgraphRequest) -> dict[str, Any]:
        self.sent.append(dict(request.headers))
        return {"data": {"genres": []}}


@asynccontextmanager
async def gateway(
    provider: Provider, *, required: bool = False
) -> AsyncIterator[tuple[httpx.AsyncClient, RecordingFetcher]]:
    config = parse_config(
        {
            "auth": {
                "jwks_url": JWKS_URL,
                "issuers": [ISSUER],
                "audiences": [AUDIENCE],
                "required": required,
            }
        }
    )
    recorder = RecordingFetcher()
    supergraph = load_supergraph(DEMO_SUPERGRAPH.read_text())
    async with provider.client() as jwks_http:
        auth = Authenticator.from_config(config.auth, http=jwks_http, passport_key=PASSPORT_KEY)
        app = create_app(supergraph, fetcher=recorder, config=config, authenticator=auth)
        transport = httpx.ASGITransport(app=app)
        async with (
            app.router.lifespan_context(app),
            httpx.AsyncClient(transport=transport, base_url="http://gw") as client,
        ):
            yield client, recorder


async def test_gateway_passes_the_verified_member_as_a_passport_and_drops_client_claims() -> None:
    provider = Provider()
    async with gateway(provider) as (client, recorder):
        response = await client.post(
            "/graphql",
            json=QUERY,
            headers={
                "authorization": f"Bearer {provider.token(sub='m5')}",
                "x-member-id": "m2",
                PASSPORT_HEADER: "forged",
            },
        )
    assert response.status_code == 200, response.text
    (sent,) = recorder.sent
    assert "x-member-id" not in sent
    passport = PassportVerifier(PASSPORT_KEY.public_key()).verify(sent[PASSPORT_HEADER])
    assert passport is not None and passport.subject == "m5"


async def test_gateway_answers_a_refused_token_with_401_unauthenticated_and_fetches_nothing() -> (
    None
):
    provider = Provider()
    async with gateway(provider) as (client, recorder):
        response = await client.post(
            "/graphql",
            json=QUERY,
            headers={"authorization": f"Bearer {provider.token(ttl=-600)}"},
        )
    assert response.status_code == 401
    assert response.headers["www-authenticate"].startswith("Bearer")
    (error,) = response.json()["errors"]
    assert error["extensions"]["code"] == "UNAUTHENTICATED"
    assert recorder.sent == []


async def test_gateway_optional_serves_anonymous_callers_without_a_passport() -> None:
    async with gateway(Provider()) as (client, recorder):
        response = await client.post("/graphql", json=QUERY, headers={"x-member-id": "m2"})
    assert response.status_code == 200, response.text
    (sent,) = recorder.sent
    assert PASSPORT_HEADER not in sent and "x-member-id" not in sent


async def test_gateway_required_refuses_a_missing_token_with_401() -> None:
    async with gateway(Provider(), required=True) as (client, recorder):
        response = await client.post("/graphql", json=QUERY)
    assert response.status_code == 401
    assert response.json()["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
    assert recorder.sent == []


async def test_gateway_without_auth_still_drops_client_identity_headers() -> None:
    recorder = RecordingFetcher()
    supergraph = load_supergraph(DEMO_SUPERGRAPH.read_text())
    app = create_app(supergraph, fetcher=recorder, config=GatewayConfig())
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://gw") as client,
    ):
        headers = {"x-member-id": "m2", PASSPORT_HEADER: "forged", "authorization": "Bearer x"}
        response = await client.post("/graphql", json=QUERY, headers=headers)
    assert response.status_code == 200, response.text
    (sent,) = recorder.sent
    assert "x-member-id" not in sent and PASSPORT_HEADER not in sent


def test_config_reads_the_auth_section_and_refuses_hmac() -> None:
    config = parse_config({"auth": {"key_file": "keys.pem", "issuers": ["i"], "audiences": ["a"]}})
    assert config.auth.enabled and config.auth.key_file == "keys.pem"
    hmac = {"key_file": "k", "issuers": ["i"], "audiences": ["a"], "algorithms": ["HS256"]}
    with pytest.raises(ConfigError, match="HS256 not accepted"):
        parse_config({"auth": hmac})
