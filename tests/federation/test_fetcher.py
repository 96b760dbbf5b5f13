from __future__ import annotations

import asyncio
from typing import Any

import httpx
import pytest
from graphql import build_schema, graphql
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, RedirectResponse, Response
from starlette.routing import Route

from federation.subgraphs.fetcher import HttpFetcher, SubgraphFetchError, SubgraphRequest

SCHEMA = build_schema("type Query { hello(name: String): String }")


def app_answering(response: Response, seen: list[Request] | None = None) -> Starlette:
    async def endpoint(request: Request) -> Response:
        if seen is not None:
            seen.append(request)
            await request.body()
        return response

    return Starlette(routes=[Route("/", endpoint, methods=["POST"])])


def graphql_app(seen: list[dict[str, Any]]) -> Starlette:
    async def endpoint(request: Request) -> Response:
        body = await request.json()
        seen.append({"body": body, "headers": dict(request.headers)})
        root = {"hello": lambda _info, name="world": f"hello {name}"}
        result = await graphql(
            SCHEMA, body["query"], root_value=root, variable_values=body.get("variables")
        )
        return JSONResponse(result.formatted)

    return Starlette(routes=[Route("/", endpoint, methods=["POST"])])


def fetcher_for(app: Starlette, *, timeout: float = 10.0) -> HttpFetcher:
    client = httpx.AsyncClient(transport=httpx.ASGITransport(app=app))
    return HttpFetcher({"a": "http://a/"}, client=client, timeout=timeout)


async def fetch_error(fetcher: HttpFetcher) -> SubgraphFetchError:
    with pytest.raises(SubgraphFetchError) as caught:
        await fetcher.fetch(SubgraphRequest("a", {"query": "{ hello }"}))
    return caught.value


async def test_fetcher_posts_json_and_returns_response() -> None:
    seen: list[dict[str, Any]] = []
    fetcher = fetcher_for(graphql_app(seen))
    body = {"query": "query ($n: String) { hello(name: $n) }", "variables": {"n": "ada"}}
    forwarded = {"x-request-id": "r1", "Accept": "text/html", "Content-Length": "3"}
    response = await fetcher.fetch(SubgraphRequest("a", body, forwarded))
    assert response == {"data": {"hello": "hello ada"}}
    headers = seen[0]["headers"]
    assert headers["content-type"] == "application/json"
    assert headers["accept"] == "application/graphql-response+json, application/json"
    assert headers["x-request-id"] == "r1"
    assert seen[0]["body"] == body


async def test_fetcher_returns_graphql_errors_from_error_status() -> None:
    payload = {"data": None, "errors": [{"message": "bad query"}]}
    fetcher = fetcher_for(app_answering(JSONResponse(payload, status_code=400)))
    assert await fetcher.fetch(SubgraphRequest("a", {"query": "{ nope }"})) == payload


async def test_fetcher_http_error_without_graphql_body() -> None:
    fetcher = fetcher_for(app_answering(PlainTextResponse("down", status_code=503)))
    error = await fetch_error(fetcher)
    assert (error.service, error.code) == ("a", "SUBGRAPH_HTTP_ERROR")
    assert "503" in error.message


async def test_fetcher_error_status_with_data_only_is_http_error() -> None:
    fetcher = fetcher_for(app_answering(JSONResponse({"data": {"hello": "x"}}, status_code=500)))
    assert (await fetch_error(fetcher)).code == "SUBGRAPH_HTTP_ERROR"


async def test_fetcher_does_not_follow_redirects() -> None:
    seen: list[Request] = []
    fetcher = fetcher_for(app_answering(RedirectResponse("http://a/", status_code=307), seen))
    assert (await fetch_error(fetcher)).code == "SUBGRAPH_HTTP_ERROR"
    assert len(seen) == 1


@pytest.mark.parametrize(
    "content", [b"not json", b"[1, 2]", b'{"hello": 1}', b'{"data": 3}', b'{"errors": {}}']
)
async def test_fetcher_bad_response(content: bytes) -> None:
    fetcher = fetcher_for(app_answering(Response(content, media_type="application/json")))
    assert (await fetch_error(fetcher)).code == "SUBGRAPH_BAD_RESPONSE"


async def test_fetcher_timeout_bounds_the_whole_fetch() -> None:
    async def slow(request: Request) -> Response:
        await asyncio.sleep(5)
        return JSONResponse({"data": {}})

    fetcher = fetcher_for(Starlette(routes=[Route("/", slow, methods=["POST"])]), timeout=0.05)
    error = await fetch_error(fetcher)
    assert error.code == "SUBGRAPH_TIMEOUT"


async def test_fetcher_unreachable_subgraph() -> None:
    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("connection refused", request=request)

    client = httpx.AsyncClient(transport=httpx.MockTransport(refuse))
    fetcher = HttpFetcher({"a": "http://a/"}, client=client)
    assert (await fetch_error(fetcher)).code == "SUBGRAPH_UNAVAILABLE"
    with pytest.raises(SubgraphFetchError) as caught:
        await fetcher.fetch(SubgraphRequest("nowhere", {"query": "{ hello }"}))
    assert caught.value.code == "SUBGRAPH_UNAVAILABLE"


async def test_fetcher_sets_a_timeout_on_every_request() -> None:
    timeouts: list[Any] = []

    def record(request: httpx.Request) -> httpx.Response:
        timeouts.append(request.extensions["timeout"])
        return httpx.Response(200, json={"data": {"hello": "x"}})

    client = httpx.AsyncClient(transport=httpx.MockTransport(record), timeout=None)
    fetcher = HttpFetcher({"a": "http://a/"}, client=client, timeout=2.5)
    await fetcher.fetch(SubgraphRequest("a", {"query": "{ hello }"}))
    assert timeouts == [{"connect": 2.5, "read": 2.5, "write": 2.5, "pool": 2.5}]


async def test_fetcher_owns_and_closes_its_client() -> None:
    fetcher = HttpFetcher({"a": "http://a/"}, timeout=1)
    await fetcher.aclose()
    borrowed = httpx.AsyncClient()
    shared = HttpFetcher({"a": "http://a/"}, client=borrowed)
    await shared.aclose()
    assert not borrowed.is_closed
    await borrowed.aclose()
    with pytest.raises(ValueError):
        HttpFetcher({}, timeout=0)
