"""BackendClient turns every backend failure into a coded BackendError."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import httpx
import pytest

from resolvers.http import (
    BackendBadResponse,
    BackendClient,
    BackendError,
    BackendTimeout,
    BackendUnavailable,
    create_http_client,
)

Handler = Callable[[httpx.Request], httpx.Response]


def client_for(handler: Handler, *, timeout: float = 1.0) -> BackendClient:
    http = httpx.AsyncClient(transport=httpx.MockTransport(handler))
    return BackendClient(service="catalog", base_url="http://backend/", http=http, timeout=timeout)


async def test_http_batch_sends_ids_and_params_and_returns_results() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json={"results": [{"id": "t1"}, None]})

    backend = client_for(handler)
    assert await backend.batch("/titles/batch", ["t1", "t2"], {"first": 3}) == [{"id": "t1"}, None]
    (request,) = seen
    assert str(request.url) == "http://backend/titles/batch"
    assert request.method == "POST"
    assert request.headers["content-type"] == "application/json"
    assert request.content == b'{"ids":["t1","t2"],"first":3}'


async def test_http_error_status_carries_the_backend_message() -> None:
    backend = client_for(lambda request: httpx.Response(413, json={"error": "too many ids"}))
    with pytest.raises(BackendError) as caught:
        await backend.batch("/titles/batch", ["t1"])
    assert type(caught.value) is BackendError
    assert caught.value.message == "catalog backend: POST /titles/batch answered 413: too many ids"
    assert caught.value.extensions == {"code": "BACKEND_ERROR", "service": "catalog", "status": 413}


async def test_http_error_status_without_json_shows_the_body() -> None:
    backend = client_for(lambda request: httpx.Response(503, text="upstream down"))
    with pytest.raises(BackendError, match="answered 503: upstream down"):
        await backend.request("GET", "/genres")


@pytest.mark.parametrize(
    ("response", "detail"),
    [
        (httpx.Response(200, text="{not json"), "answered non-JSON"),
        (httpx.Response(200, json=[1, 2]), "no 'results' list"),
        (httpx.Response(200, json={"results": [1]}), "1 results for 2 ids"),
    ],
)
async def test_http_garbage_is_a_bad_response(response: httpx.Response, detail: str) -> None:
    backend = client_for(lambda request: response)
    with pytest.raises(BackendBadResponse, match=detail) as caught:
        await backend.batch("/titles/batch", ["t1", "t2"])
    assert caught.value.extensions is not None
    assert caught.value.extensions["code"] == "BACKEND_BAD_RESPONSE"


async def test_http_deadline_bounds_the_whole_call() -> None:
    async def slow(request: httpx.Request) -> httpx.Response:
        await asyncio.sleep(5)
        return httpx.Response(200, json={"results": []})

    http = httpx.AsyncClient(transport=httpx.MockTransport(slow))
    backend = BackendClient(service="ratings", base_url="http://b", http=http, timeout=0.05)
    with pytest.raises(BackendTimeout, match=r"took longer than 0\.05s") as caught:
        await backend.batch("/ratings/batch", ["t1"])
    assert caught.value.extensions is not None
    assert caught.value.extensions["code"] == "BACKEND_TIMEOUT"


async def test_http_transport_timeout_is_a_backend_timeout() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        raise httpx.ReadTimeout("read timed out", request=request)

    with pytest.raises(BackendTimeout):
        await client_for(handler).request("GET", "/genres")


async def test_http_connection_failure_is_backend_unavailable() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("connection refused", request=request)

    with pytest.raises(BackendUnavailable) as caught:
        await client_for(handler).request("GET", "/genres")
    assert caught.value.extensions is not None
    assert caught.value.extensions["code"] == "BACKEND_UNAVAILABLE"


async def test_http_shared_client_sets_pool_limits_and_timeouts() -> None:
    async with create_http_client(timeout=1.5) as http:
        assert http.timeout.read == 1.5
        assert http.timeout.connect == 1.0
