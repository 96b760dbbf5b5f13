"""Reaching subgraphs through one interface: `Fetcher`, with `HttpFetcher` for production and tests.

Tests point an `HttpFetcher` at real in-process apps through `httpx.ASGITransport`, so the same
code path (encoding, status handling, body validation) runs everywhere. `HttpFetcher` is the last
stage of the fetch pipeline (observe → propagate headers → resilience → HTTP) and makes one
attempt per call; breakers, retries and dedupe are the stage above it
(`federation.subgraphs.resilience.ResilientFetcher`).
"""

from __future__ import annotations

import asyncio
import urllib.request
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol, TypeAlias

import httpx
import orjson

from federation.errors import FederationError
from federation.planning.plan import FetchNode, FlattenNode
from federation.subgraphs.transport import PoolTransport, ResponseTooLarge
from federation.telemetry.tracing import inject_trace_context, note_subgraph_status

__all__ = [
    "DEFAULT_LIMITS",
    "DEFAULT_MAX_RESPONSE_BYTES",
    "DEFAULT_MAX_RESPONSE_DEPTH",
    "FetchErrorCode",
    "Fetcher",
    "HttpFetcher",
    "SubgraphFetchError",
    "SubgraphRequest",
    "json_depth_exceeds",
]

FetchErrorCode: TypeAlias = Literal[
    "SUBGRAPH_UNAVAILABLE",
    "SUBGRAPH_TIMEOUT",
    "SUBGRAPH_HTTP_ERROR",
    "SUBGRAPH_BAD_RESPONSE",
    "SUBGRAPH_RESPONSE_TOO_LARGE",
    "CIRCUIT_OPEN",
    "OVERLOADED",
]

#: Pool sizes for the client an `HttpFetcher` builds itself (over `PoolTransport`: open
#: connections per subgraph host, idle seconds); keep-alive saves a TCP (and TLS) handshake per
#: subgraph call, which dominates small `_entities` requests.
DEFAULT_LIMITS = httpx.Limits(
    max_connections=100, max_keepalive_connections=50, keepalive_expiry=30
)

#: Largest subgraph answer accepted, after decompression.
DEFAULT_MAX_RESPONSE_BYTES = 8 * 1024 * 1024
#: Deepest JSON nesting accepted in a subgraph answer: merging and shaping recurse on it, and a
#: depth-15 operation answers well under 64 levels.
DEFAULT_MAX_RESPONSE_DEPTH = 128

#: Statuses that say "try again" (a proxy or the subgraph is overloaded or restarting).
_RETRYABLE_STATUSES = frozenset({429, 502, 503, 504})
# Depth does not care which bracket: `{}` become `[]`, everything but brackets and quotes goes.
_BRACKETS_ONLY = bytes.maketrans(b"{}", b"[]")
_NOT_STRUCTURE = bytes(b for b in range(256) if b not in b'[]{}"')

_ACCEPT = "application/graphql-response+json, application/json"
# Headers that describe one hop or one body; forwarding the client's would corrupt our request.
_NOT_FORWARDED = frozenset(
    {"accept", "connection", "content-length", "content-type", "host", "transfer-encoding"}
)


class SubgraphFetchError(FederationError):
    """A subgraph could not be reached or did not answer with a GraphQL response.

    `retryable` marks failures that another attempt may not repeat (a refused connection, a
    502/503/504); the resilience stage retries those for queries only.
    """

    def __init__(
        self, service: str, code: FetchErrorCode, message: str, *, retryable: bool = False
    ) -> None:
        super().__init__(message)
        self.service = service
        self.code: FetchErrorCode = code
        self.message = message
        self.retryable = retryable


@dataclass(frozen=True, slots=True)
class SubgraphRequest:
    """One request to one subgraph, as it goes down the fetch pipeline (observe → propagate
    headers → resilience → HTTP). Each stage reads what it needs here; none parses `body`.
    """

    service_name: str
    body: Mapping[str, Any]
    #: the client's headers, then (past the header rules) the ones this subgraph may see
    headers: Mapping[str, str] = field(default_factory=dict)
    #: the plan fetches this request serves: one, or several when entity fetches are batched
    plan_nodes: tuple[FetchNode | FlattenNode, ...] = ()
    #: a query, which may be retried or shared; the executor knows it from the plan (a fetch's
    #: kind), so nothing reads the text. Off unless said: a mutation must never run twice.
    idempotent: bool = False


class Fetcher(Protocol):
    """Sends one GraphQL request to a named subgraph and returns the decoded response."""

    async def fetch(self, request: SubgraphRequest) -> dict[str, Any]:
        """Return `{"data": ..., "errors": [...]}`; raise `SubgraphFetchError` on failure."""
        ...


class HttpFetcher:
    """Posts GraphQL over HTTP with one shared, pooled `httpx.AsyncClient`: one attempt per call.

    `urls` maps service names to endpoints. Pass `client` to share a client (or to route to
    in-process apps); otherwise one is built and closed by `aclose()`. `timeout` (or the
    subgraph's entry in `timeouts`) bounds each attempt as a whole, not only each socket
    operation, so a slowly dripping body cannot hold a request past it.

    Answers are read as a stream and refused past `max_response_bytes` (decompressed) or past
    `max_response_depth` levels of JSON nesting; redirects are never followed.
    """

    def __init__(
        self,
        urls: Mapping[str, str],
        *,
        client: httpx.AsyncClient | None = None,
        timeout: float = 10.0,
        timeouts: Mapping[str, float] | None = None,
        max_response_bytes: int = DEFAULT_MAX_RESPONSE_BYTES,
        max_response_depth: int = DEFAULT_MAX_RESPONSE_DEPTH,
    ) -> None:
        if timeout <= 0 or any(value <= 0 for value in (timeouts or {}).values()):
            raise ValueError("timeout must be positive")
        if max_response_bytes < 1 or max_response_depth < 1:
            raise ValueError("response limits must be positive")
        self._urls = dict(urls)
        self._timeout = timeout
        self._timeouts = dict(timeouts or {})
        self.max_response_bytes = max_response_bytes
        self.max_response_depth = max_response_depth
        self._owns_client = client is None
        transport: PoolTransport | None = None
        if client is None:
            transport = PoolTransport(
                max_connections=DEFAULT_LIMITS.max_connections or 100,
                keepalive_expiry=DEFAULT_LIMITS.keepalive_expiry or 30.0,
            )
            client = httpx.AsyncClient(
                transport=transport, timeout=httpx.Timeout(timeout), follow_redirects=False
            )
        self._client = client
        # The client's own transport, called directly: the same pool without building httpx
        # requests and responses per fetch (or a cookie jar shared by every subgraph and
        # member). Proxies from the environment are the client's business, so then it is used.
        proxied = any(scheme != "no" for scheme in urllib.request.getproxies())
        self._direct = transport if transport is not None and not proxied else None

    def with_urls(self, urls: Mapping[str, str]) -> HttpFetcher:
        """A fetcher for a new set of subgraph URLs that shares this one's client (a reloaded
        supergraph keeps its connections). The client stays owned by this fetcher."""
        clone = HttpFetcher(
            urls,
            client=self._client,
            timeout=self._timeout,
            timeouts=self._timeouts,
            max_response_bytes=self.max_response_bytes,
            max_response_depth=self.max_response_depth,
        )
        clone._direct = self._direct
        return clone

    async def aclose(self) -> None:
        """Close the client if this fetcher built it; a client passed in belongs to the caller."""
        if self._owns_client:
            await self._client.aclose()

    def timeout_for(self, service_name: str) -> float:
        """Seconds one attempt at this subgraph may take."""
        return self._timeouts.get(service_name, self._timeout)

    async def fetch(self, request: SubgraphRequest) -> dict[str, Any]:
        """Send the request's body to its subgraph and return the GraphQL response."""
        service_name = request.service_name
        url = self._urls.get(service_name)
        if url is None:
            raise SubgraphFetchError(
                service_name, "SUBGRAPH_UNAVAILABLE", f'Unknown subgraph "{service_name}".'
            )
        headers = {
            name: value
            for name, value in request.headers.items()
            if name.lower() not in _NOT_FORWARDED
        }
        headers["content-type"] = "application/json"
        headers["accept"] = _ACCEPT
        inject_trace_context(headers)
        payload = orjson.dumps(request.body)
        timeout = self.timeout_for(service_name)
        try:
            async with asyncio.timeout(timeout):
                return await self._attempt(service_name, url, payload, headers, timeout)
        except TimeoutError as exc:
            raise SubgraphFetchError(
                service_name,
                "SUBGRAPH_TIMEOUT",
                f'Subgraph "{service_name}" did not answer within {timeout:g}s.',
            ) from exc

    async def _attempt(
        self,
        service_name: str,
        url: str,
        payload: bytes,
        headers: Mapping[str, str],
        timeout: float,
    ) -> dict[str, Any]:
        if self._direct is not None:
            return await self._attempt_direct(
                self._direct, service_name, url, payload, headers, timeout
            )
        try:
            async with self._client.stream(
                "POST",
                url,
                content=payload,
                headers=headers,
                timeout=timeout,
                follow_redirects=False,
            ) as response:
                note_subgraph_status(response.status_code)
                content = await self._read(service_name, response)
                status = response.status_code
        except httpx.TimeoutException as exc:
            raise SubgraphFetchError(
                service_name,
                "SUBGRAPH_TIMEOUT",
                f'Subgraph "{service_name}" did not answer within {timeout:g}s.',
            ) from exc
        except httpx.HTTPError as exc:
            raise SubgraphFetchError(
                service_name,
                "SUBGRAPH_UNAVAILABLE",
                f'Subgraph "{service_name}" is unreachable: {type(exc).__name__}.',
                retryable=True,
            ) from exc
        return _decode(service_name, status, content, self.max_response_depth)

    async def _attempt_direct(
        self,
        transport: PoolTransport,
        service_name: str,
        url: str,
        payload: bytes,
        headers: Mapping[str, str],
        timeout: float,
    ) -> dict[str, Any]:
        try:
            status, content = await transport.post(
                url,
                headers.items(),
                payload,
                timeout=timeout,
                max_bytes=self.max_response_bytes,
            )
        except ResponseTooLarge:
            raise _too_large(service_name, self.max_response_bytes) from None
        except httpx.TimeoutException as exc:
            raise SubgraphFetchError(
                service_name,
                "SUBGRAPH_TIMEOUT",
                f'Subgraph "{service_name}" did not answer within {timeout:g}s.',
            ) from exc
        except httpx.DecodingError as exc:
            raise SubgraphFetchError(
                service_name,
                "SUBGRAPH_BAD_RESPONSE",
                f'Subgraph "{service_name}" answered a body it did not encode validly.',
            ) from exc
        except httpx.HTTPError as exc:
            raise SubgraphFetchError(
                service_name,
                "SUBGRAPH_UNAVAILABLE",
                f'Subgraph "{service_name}" is unreachable: {type(exc).__name__}.',
                retryable=True,
            ) from exc
        note_subgraph_status(status)
        return _decode(service_name, status, content, self.max_response_depth)

    async def _read(self, service_name: str, response: httpx.Response) -> bytes:
        """The (decompressed) body, refused as soon as it grows past the size limit."""
        limit = self.max_response_bytes
        declared = response.headers.get("content-length", "")
        # A compressed body only grows when decoded, so its declared length can refuse early.
        if declared.isdigit() and int(declared) > limit:
            raise _too_large(service_name, limit)
        chunks: list[bytes] = []
        size = 0
        async for chunk in response.aiter_bytes():
            size += len(chunk)
            if size > limit:
                raise _too_large(service_name, limit)
            chunks.append(chunk)
        return b"".join(chunks)


def _too_large(service_name: str, limit: int) -> SubgraphFetchError:
    return SubgraphFetchError(
        service_name,
        "SUBGRAPH_RESPONSE_TOO_LARGE",
        f'Subgraph "{service_name}" answered more than the max_response_bytes limit of {limit}.',
    )


def _decode(service_name: str, status: int, content: bytes, max_depth: int) -> dict[str, Any]:
    ok = 200 <= status < 300
    if json_depth_exceeds(content, max_depth):
        raise SubgraphFetchError(
            service_name,
            "SUBGRAPH_BAD_RESPONSE",
            f'Subgraph "{service_name}" answered JSON nested past the max_response_depth '
            f"limit of {max_depth}.",
        )
    try:
        payload = orjson.loads(content)
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
            f'Subgraph "{service_name}" answered HTTP {status}.',
            retryable=status in _RETRYABLE_STATUSES,
        )
    raise SubgraphFetchError(
        service_name,
        "SUBGRAPH_BAD_RESPONSE",
        f'Subgraph "{service_name}" did not answer with a GraphQL response.',
    )


def json_depth_exceeds(content: bytes, max_depth: int) -> bool:
    """Whether JSON text nests arrays and objects more than `max_depth` deep.

    Measured on the bytes with C-speed passes rather than a Python walk, and before decoding,
    so nothing recursive ever sees a deeper value: drop escaped backslashes and quotes, keep
    only brackets and quotes, drop what lies between quotes (string contents), then strip the
    innermost bracket pairs once per level. Text that is not JSON is left to the decoder.
    """
    if b"\\" in content:
        content = content.replace(b"\\\\", b"").replace(b'\\"', b"")
    brackets = content.translate(_BRACKETS_ONLY, _NOT_STRUCTURE)
    if len(brackets) <= max_depth:
        return False
    if b'"' in brackets:
        brackets = b"".join(brackets.split(b'"')[::2])
    depth = 0
    while brackets:
        if depth >= max_depth:
            return True
        reduced = brackets.replace(b"[]", b"")  # one level: the innermost pairs
        if len(reduced) == len(brackets):
            return False  # unbalanced: not JSON, which decoding refuses
        brackets = reduced
        depth += 1
    return False


def _is_graphql_response(payload: dict[str, Any]) -> bool:
    if "data" not in payload and "errors" not in payload:
        return False
    data = payload.get("data")
    errors = payload.get("errors")
    return (data is None or isinstance(data, dict)) and (errors is None or isinstance(errors, list))
