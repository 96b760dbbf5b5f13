"""Known device clients: a client name counts only when its API key (if it has keys) is right."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from edge.auth import Authenticator
from edge.clients import hash_api_key, parse_clients
from edge.config import ConfigError, parse_config
from edge.passport import PASSPORT_HEADER, PassportVerifier
from federation.subgraphs.fetcher import SubgraphRequest
from federation.supergraph.model import load_supergraph
from gateway import create_app
from tests.edge.auth_support import AUDIENCE, ISSUER, JWKS_URL, Provider
from tests.edge.live import DEMO_SUPERGRAPH

TV_KEY = "tv-secret-key"
QUERY = {"query": "{ genres { name } }"}
NAME = "apollographql-client-name"


class RecordingFetcher:
    def __init__(self) -> None:
        self.sent: list[dict[str, str]] = []

    async def fetch(self, request: SubgraphRequest) -> dict[str, Any]:
        self.sent.append(dict(request.headers))
        return {"data": {"genres": []}}


@asynccontextmanager
async def gateway(
    clients: dict[str, Any], auth: Authenticator | None = None
) -> AsyncIterator[tuple[httpx.AsyncClient, RecordingFetcher]]:
    config = parse_config({"clients": clients})
    recorder = RecordingFetcher()
    supergraph = load_supergraph(DEMO_SUPERGRAPH.read_text())
    app = create_app(supergraph, fetcher=recorder, config=config, authenticator=auth)
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://gw") as client,
    ):
        yield client, recorder


KNOWN = {"tv": {"api_key_sha256": [hash_api_key(TV_KEY)]}, "web": {"api_key_sha256": []}}


async def test_clients_a_client_with_its_key_is_verified_and_the_key_goes_no_further() -> None:
    async with gateway(KNOWN) as (client, recorder):
        response = await client.post(
            "/graphql", json=QUERY, headers={NAME: "tv", "x-api-key": TV_KEY}
        )
        metrics = (await client.get("/metrics")).text
    assert response.status_code == 200, response.text
    (sent,) = recorder.sent
    assert sent[NAME] == "tv" and "x-api-key" not in sent
    assert 'client="tv"' in metrics


@pytest.mark.parametrize(
    "headers",
    [
        {NAME: "tv"},
        {NAME: "tv", "x-api-key": "guess"},
        {"x-api-key": TV_KEY},
    ],
)
async def test_clients_a_wrong_or_missing_key_is_a_401(headers: dict[str, str]) -> None:
    async with gateway(KNOWN) as (client, recorder):
        response = await client.post("/graphql", json=QUERY, headers=headers)
    assert response.status_code == 401, response.text
    assert response.json()["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
    assert TV_KEY not in response.text
    assert recorder.sent == []


async def test_clients_an_unlisted_name_counts_as_no_client() -> None:
    async with gateway(KNOWN) as (client, recorder):
        web = await client.post("/graphql", json=QUERY, headers={NAME: "web"})
        evil = await client.post("/graphql", json=QUERY, headers={NAME: "evil"})
        metrics = (await client.get("/metrics")).text
    assert web.status_code == 200 and evil.status_code == 200
    assert recorder.sent[0][NAME] == "web"
    assert NAME not in recorder.sent[1]
    assert 'client="evil"' not in metrics


async def test_clients_required_refuses_requests_from_no_known_client() -> None:
    async with gateway({**KNOWN, "required": True}) as (client, _recorder):
        anonymous = await client.post("/graphql", json=QUERY)
        unlisted = await client.post("/graphql", json=QUERY, headers={NAME: "evil"})
        web = await client.post("/graphql", json=QUERY, headers={NAME: "web"})
        health = await client.get("/health")
    assert anonymous.status_code == 401 and unlisted.status_code == 401
    assert web.status_code == 200
    assert health.status_code == 200  # only /graphql is checked


async def test_clients_the_passport_names_the_verified_client() -> None:
    provider = Provider()
    key = Ed25519PrivateKey.generate()
    config = parse_config(
        {"auth": {"jwks_url": JWKS_URL, "issuers": [ISSUER], "audiences": [AUDIENCE]}}
    )
    async with provider.client() as http:
        auth = Authenticator.from_config(config.auth, http=http, passport_key=key)
        async with gateway(KNOWN, auth) as (client, recorder):
            headers = {
                NAME: "tv",
                "x-api-key": TV_KEY,
                "authorization": f"Bearer {provider.token()}",
            }
            response = await client.post("/graphql", json=QUERY, headers=headers)
    assert response.status_code == 200, response.text
    passport = PassportVerifier(key.public_key()).verify(recorder.sent[0][PASSPORT_HEADER])
    assert passport is not None and passport.client == "tv" and passport.subject == "m1"


def test_clients_config_refuses_keys_in_clear_and_unknown_keys() -> None:
    with pytest.raises(ConfigError, match="SHA-256"):
        parse_config({"clients": {"tv": {"api_key_sha256": [TV_KEY]}}})
    with pytest.raises(ConfigError, match=r"clients\.tv\.api_key"):
        parse_config({"clients": {"tv": {"api_key": TV_KEY}}})
    with pytest.raises(ValueError, match="table"):
        parse_clients({"tv": "key"})
    assert not parse_config({}).clients.enabled
