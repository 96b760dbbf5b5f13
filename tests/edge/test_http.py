"""GraphQL over HTTP: one test per way a request can be wrong, and content negotiation."""

from __future__ import annotations

from typing import Any

import httpx

from edge.config import GatewayConfig, ServerConfig
from edge.http import response_media_type
from tests.gateway.demo_support import demo_gateway

GRAPHQL_RESPONSE = "application/graphql-response+json"
JSON_HEADERS = {"content-type": "application/json"}


def _assert_graphql_error(response: httpx.Response, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    body: dict[str, Any] = response.json()
    assert "data" not in body
    assert body["errors"][0]["message"]
    assert body["errors"][0]["extensions"]["code"] == code
    return body


async def test_http_malformed_json_is_400() -> None:
    async with demo_gateway() as demo:
        response = await demo.client.post("/graphql", content=b'{"query": ', headers=JSON_HEADERS)
        body = _assert_graphql_error(response, 400, "BAD_REQUEST")
        assert "not valid JSON" in body["errors"][0]["message"]


async def test_http_body_that_is_not_an_object_is_400() -> None:
    async with demo_gateway() as demo:
        for content in (b"[1, 2]", b'"{ __typename }"', b"null", b"42"):
            response = await demo.client.post("/graphql", content=content, headers=JSON_HEADERS)
            _assert_graphql_error(response, 400, "BAD_REQUEST")


async def test_http_missing_query_is_400() -> None:
    async with demo_gateway() as demo:
        bodies: list[dict[str, Any]] = [{}, {"variables": {}}, {"query": None}, {"query": "  "}]
        for body in bodies:
            response = await demo.client.post("/graphql", json=body)
            _assert_graphql_error(response, 400, "BAD_REQUEST")
        get = await demo.client.get("/graphql", params={"operationName": "X"})
        _assert_graphql_error(get, 400, "BAD_REQUEST")


async def test_http_wrongly_typed_fields_are_400() -> None:
    async with demo_gateway() as demo:
        for body in (
            {"query": 3},
            {"query": ["{ __typename }"]},
            {"query": "{ __typename }", "operationName": 7},
            {"query": "{ __typename }", "extensions": "yes"},
            {"query": "{ __typename }", "documentId": 12},
        ):
            response = await demo.client.post("/graphql", json=body)
            _assert_graphql_error(response, 400, "BAD_REQUEST")


async def test_http_variables_that_are_not_an_object_are_400() -> None:
    async with demo_gateway() as demo:
        for variables in ([1], "x", 3, True):
            body = {"query": "{ __typename }", "variables": variables}
            response = await demo.client.post("/graphql", json=body)
            assert (
                "`variables` must be an object"
                in _assert_graphql_error(response, 400, "BAD_REQUEST")["errors"][0]["message"]
            )
        get = await demo.client.get(
            "/graphql", params={"query": "{ __typename }", "variables": "[1]"}
        )
        _assert_graphql_error(get, 400, "BAD_REQUEST")
        bad_json = await demo.client.get(
            "/graphql", params={"query": "{ __typename }", "variables": "{nope"}
        )
        _assert_graphql_error(bad_json, 400, "BAD_REQUEST")


async def test_http_unknown_operation_name_is_400_for_either_media_type() -> None:
    body = {"query": "query A { __typename } query B { __typename }", "operationName": "C"}
    async with demo_gateway() as demo:
        for accept in ("application/json", GRAPHQL_RESPONSE):
            response = await demo.client.post("/graphql", json=body, headers={"accept": accept})
            _assert_graphql_error(response, 400, "OPERATION_RESOLUTION_FAILURE")
            assert response.headers["content-type"].startswith(accept)


async def test_http_bytes_that_are_not_utf8_are_400() -> None:
    async with demo_gateway() as demo:
        content = b'{"query": "{ __typename \xff\xfe }"}'
        response = await demo.client.post("/graphql", content=content, headers=JSON_HEADERS)
        body = _assert_graphql_error(response, 400, "BAD_REQUEST")
        assert "UTF-8" in body["errors"][0]["message"]
        get = await demo.client.get("/graphql?query=%7B%20__typename%20%FF%7D")
        assert "UTF-8" in _assert_graphql_error(get, 400, "BAD_REQUEST")["errors"][0]["message"]


async def test_http_unsupported_media_type_is_415() -> None:
    async with demo_gateway() as demo:
        for content_type in (None, "text/plain", "application/graphql", "multipart/form-data"):
            headers = {"content-type": content_type} if content_type else {}
            response = await demo.client.post(
                "/graphql", content=b'{"query": "{ __typename }"}', headers=headers
            )
            _assert_graphql_error(response, 415, "UNSUPPORTED_MEDIA_TYPE")
        latin1 = await demo.client.post(
            "/graphql",
            content=b'{"query": "{ __typename }"}',
            headers={"content-type": "application/json; charset=iso-8859-1"},
        )
        _assert_graphql_error(latin1, 415, "UNSUPPORTED_MEDIA_TYPE")
        utf8 = await demo.client.post(
            "/graphql",
            content=b'{"query": "{ __typename }"}',
            headers={"content-type": "application/json; charset=UTF-8"},
        )
        assert utf8.status_code == 200


async def test_http_get_mutation_is_405() -> None:
    mutation = 'mutation { addToMyList(input: {titleId: "t1"}) { id } }'
    async with demo_gateway() as demo:
        response = await demo.client.get("/graphql", params={"query": mutation})
        _assert_graphql_error(response, 405, "METHOD_NOT_ALLOWED")
        assert response.headers["allow"] == "POST"


async def test_http_unacceptable_accept_is_406_in_json() -> None:
    async with demo_gateway(dev=False) as demo:
        response = await demo.client.post(
            "/graphql", json={"query": "{ __typename }"}, headers={"accept": "text/html"}
        )
        _assert_graphql_error(response, 406, "NOT_ACCEPTABLE")
        assert response.headers["content-type"].startswith("application/json")


async def test_http_body_over_the_limit_is_413() -> None:
    config = GatewayConfig(server=ServerConfig(max_body_bytes=64))
    async with demo_gateway(config=config) as demo:
        query = "{ " + "__typename " * 20 + "}"
        response = await demo.client.post("/graphql", json={"query": query})
        _assert_graphql_error(response, 413, "PAYLOAD_TOO_LARGE")


async def test_http_null_parameters_are_allowed_and_get_serves_queries() -> None:
    async with demo_gateway() as demo:
        body = {
            "query": "{ __typename }",
            "operationName": None,
            "variables": None,
            "extensions": None,
        }
        response = await demo.client.post("/graphql", json=body)
        assert response.status_code == 200
        assert response.json() == {"data": {"__typename": "Query"}}
        get = await demo.client.get(
            "/graphql", params={"query": "{ __typename }", "variables": "", "operationName": ""}
        )
        assert get.json() == {"data": {"__typename": "Query"}}
        assert get.headers["vary"] == "Accept"


def test_response_media_type_negotiates_by_quality_and_order() -> None:
    assert response_media_type("") == "application/json"
    assert response_media_type("*/*") == "application/json"
    assert response_media_type(GRAPHQL_RESPONSE) == GRAPHQL_RESPONSE
    assert response_media_type(f"{GRAPHQL_RESPONSE}, application/json;q=0.9") == GRAPHQL_RESPONSE
    assert response_media_type(f"application/json, {GRAPHQL_RESPONSE};q=0.5") == "application/json"
    assert response_media_type(f"{GRAPHQL_RESPONSE};q=0, application/json") == "application/json"
    assert response_media_type("text/html") is None
