"""ProtectionMiddleware on its own: one test per body-limit and CSRF case."""

from __future__ import annotations

import gzip
import zlib
from collections.abc import AsyncIterator

import httpx
import orjson
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from edge.protection import DEFAULT_MAX_BODY_BYTES, ProtectionMiddleware

JSON = {"content-type": "application/json"}


def echo_app(**options: object) -> ProtectionMiddleware:
    """An app that reports the body and headers it received, behind the middleware."""

    async def echo(request: Request) -> Response:
        body = await request.body()
        return JSONResponse(
            {
                "size": len(body),
                "body": body.decode(errors="replace")[:100],
                "content-length": request.headers.get("content-length"),
                "content-encoding": request.headers.get("content-encoding"),
            }
        )

    routes = [
        Route("/graphql", echo, methods=["GET", "POST"]),
        Route("/other", echo, methods=["GET", "POST"]),
    ]
    return ProtectionMiddleware(Starlette(routes=routes), **options)  # type: ignore[arg-type]


def client_for(app: ProtectionMiddleware) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://gw")


async def post(
    content: bytes, headers: dict[str, str], app: ProtectionMiddleware | None = None
) -> httpx.Response:
    async with client_for(app or echo_app()) as client:
        return await client.post("/graphql", content=content, headers=headers)


def code(response: httpx.Response) -> str:
    return str(response.json()["errors"][0]["extensions"]["code"])


# -- body limit ---------------------------------------------------------------------------------


async def test_protection_default_body_limit_is_2_mb() -> None:
    assert DEFAULT_MAX_BODY_BYTES == 2 * 1024 * 1024
    ok = await post(b" " * (DEFAULT_MAX_BODY_BYTES - 1), JSON)
    assert ok.status_code == 200
    refused = await post(b" " * (DEFAULT_MAX_BODY_BYTES + 1), JSON)
    assert refused.status_code == 413
    assert code(refused) == "PAYLOAD_TOO_LARGE"


async def test_protection_declared_length_refused_before_reading() -> None:
    received = []

    async def app(scope: object, receive: object, send: object) -> None:  # pragma: no cover
        received.append(scope)

    middleware = ProtectionMiddleware(app, max_body_bytes=10)
    response = await post(b"x" * 11, JSON, middleware)
    assert response.status_code == 413
    assert received == []


async def test_protection_streamed_body_refused_while_reading() -> None:
    chunks_sent = 0

    async def stream() -> AsyncIterator[bytes]:
        nonlocal chunks_sent
        for _ in range(100):
            chunks_sent += 1
            yield b"x" * 1000

    async with client_for(echo_app(max_body_bytes=5000)) as client:
        response = await client.post("/graphql", content=stream(), headers=JSON)
    assert response.status_code == 413


async def test_protection_gzip_body_is_inflated_for_the_app() -> None:
    body = orjson.dumps({"query": "{ __typename }"})
    response = await post(gzip.compress(body), {**JSON, "content-encoding": "gzip"})
    assert response.status_code == 200
    seen = response.json()
    assert seen["body"] == body.decode()
    assert seen["content-length"] == str(len(body))
    assert seen["content-encoding"] is None


@pytest.mark.parametrize("wbits", [zlib.MAX_WBITS, -zlib.MAX_WBITS])
async def test_protection_deflate_body_zlib_or_raw(wbits: int) -> None:
    body = b'{"query": "{ a }"}'
    compressor = zlib.compressobj(wbits=wbits)
    data = compressor.compress(body) + compressor.flush()
    response = await post(data, {**JSON, "content-encoding": "deflate"})
    assert response.status_code == 200
    assert response.json()["body"] == body.decode()


async def test_protection_gzip_bomb_refused_at_the_limit() -> None:
    bomb = gzip.compress(b" " * (50 * 1024 * 1024))  # 50 MB of spaces, ~50 kB compressed
    assert len(bomb) < 100_000
    response = await post(bomb, {**JSON, "content-encoding": "gzip"})
    assert response.status_code == 413


async def test_protection_invalid_gzip_is_400() -> None:
    response = await post(b"not gzip at all", {**JSON, "content-encoding": "gzip"})
    assert response.status_code == 400
    truncated = gzip.compress(b'{"query": "{ a }"}')[:-10]
    assert (await post(truncated, {**JSON, "content-encoding": "gzip"})).status_code == 400


async def test_protection_unknown_encoding_is_415() -> None:
    response = await post(b"...", {**JSON, "content-encoding": "br"})
    assert response.status_code == 415


async def test_protection_leaves_other_paths_alone() -> None:
    async with client_for(echo_app(max_body_bytes=10)) as client:
        response = await client.post("/other", content=b"x" * 100, headers={})
    assert response.status_code == 200


# -- CSRF prevention ----------------------------------------------------------------------------


async def csrf_get(headers: dict[str, str], **options: object) -> httpx.Response:
    async with client_for(echo_app(**options)) as client:
        return await client.get("/graphql", params={"query": "{ a }"}, headers=headers)


async def test_csrf_get_with_operation_and_no_header_is_refused() -> None:
    response = await csrf_get({})
    assert response.status_code == 400
    assert code(response) == "CSRF_PREVENTION"


@pytest.mark.parametrize(
    "header", ["x-apollo-operation-name", "apollo-require-preflight", "graphql-preflight"]
)
async def test_csrf_get_with_preflight_header_passes(header: str) -> None:
    assert (await csrf_get({header: "1"})).status_code == 200


async def test_csrf_get_without_operation_passes() -> None:
    # A browser opening the endpoint (GraphiQL): nothing runs.
    async with client_for(echo_app()) as client:
        response = await client.get("/graphql", headers={"accept": "text/html"})
    assert response.status_code == 200


async def test_csrf_get_persisted_operation_needs_header_too() -> None:
    async with client_for(echo_app()) as client:
        response = await client.get("/graphql", params={"extensions": "{}"})
    assert response.status_code == 400


@pytest.mark.parametrize(
    "content_type",
    [
        "text/plain",
        "text/plain; charset=utf-8",
        "application/x-www-form-urlencoded",
        "multipart/form-data; boundary=x",
        "",
    ],
)
async def test_csrf_simple_content_type_post_is_refused(content_type: str) -> None:
    response = await post(b'{"query": "{ a }"}', {"content-type": content_type})
    assert response.status_code == 400
    assert code(response) == "CSRF_PREVENTION"


async def test_csrf_post_without_content_type_is_refused() -> None:
    async with client_for(echo_app()) as client:
        response = await client.post("/graphql", content=b'{"query": "{ a }"}')
        assert "content-type" not in response.request.headers
    assert response.status_code == 400


async def test_csrf_json_post_passes() -> None:
    assert (await post(b'{"query": "{ a }"}', JSON)).status_code == 200


async def test_csrf_simple_post_with_preflight_header_passes() -> None:
    headers = {"content-type": "text/plain", "apollo-require-preflight": "true"}
    assert (await post(b"{}", headers)).status_code == 200


async def test_csrf_can_be_switched_off() -> None:
    assert (await csrf_get({}, csrf=False)).status_code == 200


async def test_csrf_custom_headers_replace_the_defaults() -> None:
    custom = ["x-my-client"]
    assert (await csrf_get({"x-my-client": "tv"}, csrf_headers=custom)).status_code == 200
    assert (await csrf_get({"graphql-preflight": "1"}, csrf_headers=custom)).status_code == 400


async def test_csrf_get_with_json_content_type_passes() -> None:
    # A browser preflights a GET that sets a non-simple content type.
    assert (await csrf_get({"content-type": "application/json"})).status_code == 200
    assert (await csrf_get({"content-type": "text/plain"})).status_code == 400
