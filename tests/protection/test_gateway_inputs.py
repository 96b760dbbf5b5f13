"""Hostile input through the whole gateway: always a clean 4xx (or a GraphQL error), never a 500.

The client here sends no preflight header unless a test adds one, like a browser would.
"""

from __future__ import annotations

import gzip
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx
import pytest

from tests.gateway.demo_support import DemoGateway, demo_gateway

PREFLIGHT = {"content-type": "application/json", "graphql-preflight": "1"}


@asynccontextmanager
async def browserlike(*, dev: bool = False) -> AsyncIterator[tuple[DemoGateway, httpx.AsyncClient]]:
    async with demo_gateway(dev=dev) as demo:
        transport = httpx.ASGITransport(app=demo.app)
        async with httpx.AsyncClient(transport=transport, base_url="http://gateway") as client:
            yield demo, client


TYPENAME = b'"query": "{ __typename }"'
DEEP = b"[" * 100_000 + b"]" * 100_000
OVERFLOW = (
    b'"query": "query($n: Int!) { genres(first: $n) { id } }", "variables": {"n": 99999999999}'
)
ODD_BODIES = [
    pytest.param(b"{" + TYPENAME + b', "variables": {"n": 1' + b"0" * 5000 + b"}}", id="big-int"),
    pytest.param(b"{" + TYPENAME + b', "variables": {"n": 1e99999}}', id="huge-float"),
    pytest.param(b"{" + TYPENAME + b', "variables": {"n": NaN}}', id="nan"),
    pytest.param(b'{"query": "{ __typename \xff }"}', id="invalid-utf8"),
    pytest.param(b'{"query": "\\ud800"}', id="lone-surrogate"),
    pytest.param(b"\xef\xbb\xbf{" + TYPENAME + b"}", id="bom"),
    pytest.param(b"{" + TYPENAME + b"} trailing", id="trailing-garbage"),
    pytest.param(b"{" + TYPENAME + b', "variables": ' + DEEP + b"}", id="deep-json"),
    pytest.param(b"[1, 2, 3]", id="top-level-array"),
    pytest.param(b'"just a string"', id="top-level-string"),
    pytest.param(b"null", id="null"),
    pytest.param(b"", id="empty"),
    pytest.param(b'{"query": 5}', id="query-not-string"),
    pytest.param(b"{" + TYPENAME + b', "variables": "x"}', id="variables-not-object"),
    pytest.param(b"{" + TYPENAME + b', "operationName": ["a"]}', id="name-not-string"),
    pytest.param(b'{"query": "{ genres(first: ' + b"9" * 5000 + b') { id } }"}', id="big-literal"),
    pytest.param(b"{" + OVERFLOW + b"}", id="int-overflow"),
    pytest.param(b"{" + TYPENAME + b', "query": "{ me { id } }"}', id="duplicate-keys"),
]


@pytest.mark.parametrize("body", ODD_BODIES)
async def test_gateway_odd_json_gets_a_clean_answer(body: bytes) -> None:
    async with browserlike() as (_demo, client):
        response = await client.post("/graphql", content=body, headers=PREFLIGHT)
    assert response.status_code < 500
    answer = response.json()
    assert "errors" in answer or "data" in answer


async def test_gateway_invalid_utf8_query_string_is_400() -> None:
    async with browserlike() as (_demo, client):
        response = await client.get("/graphql?query=%7B%20a%20%FF%7D", headers=PREFLIGHT)
    assert response.status_code == 400


async def test_gateway_refuses_csrf_get() -> None:
    async with browserlike() as (_demo, client):
        response = await client.get("/graphql", params={"query": "{ __typename }"})
    assert response.status_code == 400
    assert response.json()["errors"][0]["extensions"]["code"] == "CSRF_PREVENTION"


async def test_gateway_refuses_text_plain_post_without_header() -> None:
    async with browserlike() as (_demo, client):
        response = await client.post(
            "/graphql",
            content=b'{"query": "{ __typename }"}',
            headers={"content-type": "text/plain"},
        )
    assert response.status_code == 400


async def test_gateway_body_limit_applies_to_compressed_bodies() -> None:
    bomb = gzip.compress(b'{"query": "' + b" " * (10 * 1024 * 1024) + b'{ __typename }"}')
    async with browserlike() as (_demo, client):
        response = await client.post(
            "/graphql", content=bomb, headers={**PREFLIGHT, "content-encoding": "gzip"}
        )
    assert response.status_code == 413


async def test_gateway_limit_errors_name_the_limit_in_production_mode() -> None:
    query = "{ me " + "{ myList " * 40 + "{ id }" + "}" * 40 + "}"
    async with browserlike(dev=False) as (_demo, client):
        response = await client.post("/graphql", json={"query": query}, headers=PREFLIGHT)
    error = response.json()["errors"][0]
    assert error["extensions"]["code"] == "OPERATION_LIMIT_EXCEEDED"
    assert error["extensions"]["limit"] in ("max_depth", "max_nesting")
    assert "limit of" in error["message"]


async def test_gateway_variables_nesting_limit() -> None:
    nested: object = 1
    for _ in range(50):
        nested = [nested]
    body = {
        "query": "query($ids: [ID!]!) { titles(ids: $ids) { id } }",
        "variables": {"ids": nested},
    }
    async with browserlike() as (_demo, client):
        response = await client.post("/graphql", json=body, headers=PREFLIGHT)
    assert response.status_code in (200, 400)  # per media type, as for any document error
    assert response.json()["errors"][0]["extensions"]["limit"] == "max_variables_depth"


@pytest.mark.parametrize(
    "query",
    [
        "{ _service { sdl } }",
        '{ _entities(representations: [{__typename: "Title", id: "t1"}]) { __typename } }',
        "query($r: [_Any!]!) { _entities(representations: $r) { __typename } }",
    ],
)
async def test_gateway_federation_fields_are_unreachable(query: str) -> None:
    async with browserlike(dev=True) as (demo, client):
        before = await demo.stats()
        response = await client.post("/graphql", json={"query": query}, headers=PREFLIGHT)
        after = await demo.stats()
    codes = {error["extensions"]["code"] for error in response.json()["errors"]}
    assert codes == {"GRAPHQL_VALIDATION_FAILED"}
    assert "data" not in response.json()
    assert before == after  # nothing reached a subgraph's backend


async def test_gateway_api_schema_has_no_federation_fields() -> None:
    async with browserlike(dev=True) as (demo, _client):
        query = demo.supergraph.api_schema.query_type
        assert query is not None
        assert "_entities" not in query.fields
        assert "_service" not in query.fields
        assert "_Any" not in demo.supergraph.api_schema.type_map
