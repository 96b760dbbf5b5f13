"""The auth directives through the whole gateway: real tokens, a subgraph that answers with
graphql-core, and a policy hook named in the config."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from graphql import DocumentNode, FieldNode, Visitor, graphql, parse, visit

from edge.access import load_policy_hook
from edge.auth import Authenticator
from edge.config import parse_config
from edge.passport import Identity
from federation.subgraphs.fetcher import SubgraphRequest
from federation.supergraph.model import load_supergraph
from gateway import create_app
from tests.edge.auth_support import AUDIENCE, ISSUER, JWKS_URL, Provider

SUPERGRAPH = load_supergraph(
    (Path(__file__).parents[1] / "fixtures" / "supergraphs" / "auth_directives.graphql").read_text()
)
DATA = {
    "products": [
        {
            "name": "Lamp",
            "cost": 12,
            "badge": "new",
            "supplier": {"name": "Acme"},
            "reviews": [{"body": "bright", "author": "ann"}],
        }
    ],
    "me": {"email": "m1@example.com"},
    "secret": "42",
}
QUERY = "{ products { name cost supplier { name } reviews { body author } } me { email } secret }"


def grant_partners(identity: Identity | None, policies: frozenset[str]) -> Iterable[str]:
    """The policy hook of these tests: members with the `partner` scope are partners."""
    return {"partners"} if identity is not None and "partner" in identity.scopes else set()


class Shop:
    """The one subgraph: answers every fetch from DATA with graphql-core, and keeps queries."""

    def __init__(self) -> None:
        self.queries: list[str] = []

    async def fetch(self, request: SubgraphRequest) -> dict[str, Any]:
        query = request.body["query"]
        self.queries.append(query)
        result = await graphql(SUPERGRAPH.api_schema, query, root_value=DATA)
        return {"data": result.data}


@asynccontextmanager
async def gateway(
    provider: Provider, *, hook: bool = True
) -> AsyncIterator[tuple[httpx.AsyncClient, Shop]]:
    auth_section: dict[str, Any] = {
        "jwks_url": JWKS_URL,
        "issuers": [ISSUER],
        "audiences": [AUDIENCE],
    }
    if hook:
        auth_section["policy_hook"] = f"{__name__}:grant_partners"
    config = parse_config({"auth": auth_section})
    shop = Shop()
    async with provider.client() as http:
        auth = Authenticator.from_config(
            config.auth, http=http, passport_key=Ed25519PrivateKey.generate()
        )
        app = create_app(SUPERGRAPH, fetcher=shop, config=config, authenticator=auth)
        transport = httpx.ASGITransport(app=app)
        async with (
            app.router.lifespan_context(app),
            httpx.AsyncClient(transport=transport, base_url="http://gw") as client,
        ):
            yield client, shop


def _fields(document: DocumentNode) -> list[FieldNode]:
    found: list[FieldNode] = []

    class Fields(Visitor):
        def enter_field(self, node: FieldNode, *_args: object) -> None:
            found.append(node)

    visit(document, Fields())
    return found


async def _post(client: httpx.AsyncClient, headers: dict[str, str]) -> Any:
    response = await client.post("/graphql", json={"query": QUERY}, headers=headers)
    assert response.status_code == 200, response.text
    return response.json()


async def test_access_anonymous_caller_gets_nulls_and_errors_and_the_rest() -> None:
    async with gateway(Provider()) as (client, shop):
        body = await _post(client, {})
    assert body["data"] == {
        "products": [
            {"name": "Lamp", "cost": None, "supplier": None,
             "reviews": [{"body": "bright", "author": None}]}
        ],
        "me": None,
        "secret": None,
    }  # fmt: skip
    paths = [e["path"] for e in body["errors"]]
    assert paths == [
        ["products", "@", "cost"],
        ["products", "@", "supplier"],
        ["products", "@", "reviews", "@", "author"],
        ["me"],
        ["secret"],
    ]
    assert {e["extensions"]["code"] for e in body["errors"]} == {"UNAUTHORIZED_FIELD_OR_TYPE"}
    # Production masking keeps the message: it names only the client's own field.
    assert {e["message"] for e in body["errors"]} == {"Unauthorized field or type"}
    (sent,) = shop.queries
    asked = {f.name.value for f in _fields(parse(sent))}
    assert asked.isdisjoint({"cost", "supplier", "author", "me", "email", "secret"})
    assert {"name", "body"} <= asked  # the placeholders are answered by the gateway alone


async def test_access_scopes_and_policy_hook_open_what_they_grant() -> None:
    provider = Provider()
    token = provider.token(scope="finance partner")
    async with gateway(provider) as (client, _shop):
        body = await _post(client, {"authorization": f"Bearer {token}"})
    product = body["data"]["products"][0]
    assert product["cost"] == 12 and product["supplier"] == {"name": "Acme"}
    assert product["reviews"][0]["author"] == "ann"
    assert body["data"]["me"] == {"email": "m1@example.com"}
    assert [e["path"] for e in body["errors"]] == [["secret"]]  # needs admin, or ops and read


async def test_access_without_a_hook_no_policy_is_granted() -> None:
    provider = Provider()
    token = provider.token(scope="finance partner")
    async with gateway(provider, hook=False) as (client, _shop):
        body = await _post(client, {"authorization": f"Bearer {token}"})
    assert body["data"]["products"][0]["supplier"] is None
    assert ["products", "@", "supplier"] in [e["path"] for e in body["errors"]]


def test_access_policy_hook_must_name_a_function() -> None:
    with pytest.raises(ValueError, match="module:function"):
        load_policy_hook("no_colon")
    with pytest.raises(ValueError, match="policy_hook"):
        load_policy_hook("tests.edge.test_access:nothing_here")
    assert load_policy_hook(f"{__name__}:grant_partners") is grant_partners
