"""Reaching subgraphs through one interface: `Fetcher`, with `HttpFetcher` for production and tests.

Tests point an `HttpFetcher` at real in-process apps through `httpx.ASGITransport`, so the same
code path (encoding, status handling, body validation) runs everywhere.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from typing import Any, Literal, Protocol, TypeAlias

import httpx
import orjson

from federation.errors import FederationError
from federation.telemetry import inject_trace_context, note_subgraph_status

__all__ = ["DEFAULT_LIMITS", "FetchErrorCode", "Fetcher", "HttpFetcher", "SubgraphFetchError"]

FetchErrorCode: TypeAlias = Literal[
    "SUBGRAPH_UNREACHABLE", "SUBGRAPH_TIMEOUT", "SUBGRAPH_HTTP_ERROR", "SUBGRAPH_BAD_RESPONSE"
]

#: Pool sizes for the client an `HttpFetcher` builds itself; keep-alive saves a TCP (and TLS)
#: handshake per subgraph call, which dominates small `_entities` requests.
DEFAULT_LIMITS = httpx.Limits(
    max_connections=100, max_keepalive_connections=50, keepalive_expiry=30
)

_ACCEPT = "application/graphql-response+json, application/json"
# Headers that describe one hop or one body; forwarding the client's would corrupt our request.
_NOT_FORWARDED = frozenset(
    {"accept", "connection", "content-length", "content-type", "host", "transfer-encoding"}
)


class SubgraphFetchError(FederationError):
    """A subgraph could not be reached or did not answer with a GraphQL response."""

    def __init__(self, service: str, code: FetchErrorCode, message: str) -> None:
        super().__init__(message)
        self.service = service
        self.code: FetchErrorCode = code
        self.message = message


class Fetcher(Protocol):
    """Sends one GraphQL request to a named subgraph and returns the decoded response."""

    async def fetch(
        self,
        service_name: str,
        body: Mapping[str, Any],
        headers: Mapping[str, str] | None = None,
    ) -> dict[str, Any]:
        """Return `{"data": ..., "errors": [...]}`; raise `SubgraphFetchError` on failure."""
        ...


class HttpFetcher:
    """Posts GraphQL over HTTP with one shared, pooled `httpx.AsyncClient`.

    `urls` maps service names to endpoints. Pass `client` to share a client (or to route to
    in-process apps); otherwise one is built and closed by `aclose()`. `timeout` bounds each
    fetch as a whole, not only each socket operation, so a slowly dripping body cannot hold a
    request forever.
    """

    def __init__(
        self,
        urls: Mapping[str, str],
        *,
        client: httpx.AsyncClient | None = None,
        timeout: float = 10.0,
    ) -> None:
        if timeout <= 0:
            raise ValueError("timeout must be positive")
        self._urls = dict(urls)
        self._timeout = timeout
        self._owns_client = client is None
        self._client = client or httpx.AsyncClient(
            limits=DEFAULT_LIMITS, timeout=httpx.Timeout(timeout), follow_redirects=False
        )

    async def aclose(self) -> None:
        """Close the client if this fetcher built it; a client passed in belongs to the caller."""
        if self._owns_client:
            await self._client.aclose()

    async def fetch(
        self,
        service_name: str,
        body: Mapping[str, Any],
        headers: Mapping[str, str] | None = None,
    ) -> dict[str, Any]:
        """Send `body` to `service_name` and return its GraphQL response."""
        url = self._urls.get(service_name)
        if url is None:
            raise SubgraphFetchError(
                service_name, "SUBGRAPH_UNREACHABLE", f'Unknown subgraph "{service_name}".'
            )
        request_headers = {
            name: value
            for name, value in (headers or {}).items()
            if name.lower() not in _NOT_FORWARDED
        }
        request_headers["content-type"] = "application/json"
        request_headers["accept"] = _ACCEPT
        inject_trace_context(request_headers)
        try:
            async with asyncio.timeout(self._timeout):
                response = await self._client.post(
                    url,
                    content=orjson.dumps(body),
                    headers=request_headers,
                    timeout=self._timeout,
                    follow_redirects=False,
                )
        except (TimeoutError, httpx.TimeoutException) as exc:
            raise SubgraphFetchError(
                service_name,
                "SUBGRAPH_TIMEOUT",
                f'Subgraph "{service_name}" did not answer within {self._timeout:g}s.',
            ) from exc
        except httpx.HTTPError as exc:
            raise SubgraphFetchError(
                service_name,
                "SUBGRAPH_UNREACHABLE",
                f'Subgraph "{service_name}" is unreachable: {type(exc).__name__}.',
            ) from exc
        note_subgraph_status(response.status_code)
        return _decode(service_name, response)


def _decode(service_name: str, response: httpx.Response) -> dict[str, Any]:
    ok = 200 <= response.status_code < 300
    try:
        payload = orjson.loads(response.content)
    except orjson.JSONDecodeError:
        payload = None
    # A 4xx/5xx that still carries GraphQL errors is a GraphQL answer worth passing on.
    if (
        isinstance(payload, dict)
        and _is_graphql_response(payload)
        and (ok or payload.get("errors"))
    ):
        return payload
    if not ok:
        raise SubgraphFetchError(
            service_name,
            "SUBGRAPH_HTTP_ERROR",
            f'Subgraph "{service_name}" answered HTTP {response.status_code}.',
        )
    raise SubgraphFetchError(
        service_name,
        "SUBGRAPH_BAD_RESPONSE",
        f'Subgraph "{service_name}" did not answer with a GraphQL response.',
    )


def _is_graphql_response(payload: dict[str, Any]) -> bool:
    if "data" not in payload and "errors" not in payload:
        return False
    data = payload.get("data")
    errors = payload.get("errors")
    return (data is None or isinstance(data, dict)) and (errors is None or isinstance(errors, list))
