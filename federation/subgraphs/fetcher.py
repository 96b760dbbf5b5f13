"""Reaching subgraphs through one interface: `Fetcher`, with `HttpFetcher` for production and tests.

Tests point an `HttpFetcher` at real in-process apps through `httpx.ASGITransport`, so the same
code path (encoding, status handling, body validation) runs everywhere. Resilience (breakers,
retries, dedupe) comes from `federation.subgraphs.resilience`.
"""

from __future__ import annotations

import asyncio
import random
import time
import urllib.request
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol, TypeAlias

import httpx
import orjson

from federation.errors import FederationError
from federation.execution.merge import copy_json
from federation.planning.plan import FetchNode, FlattenNode
from federation.subgraphs.resilience import (
    CircuitBreaker,
    InflightDeduper,
    Resilience,
    RetryBudget,
)
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
    "SUBGRAPH_UNREACHABLE",
    "SUBGRAPH_TIMEOUT",
    "SUBGRAPH_HTTP_ERROR",
    "SUBGRAPH_BAD_RESPONSE",
    "SUBGRAPH_RESPONSE_TOO_LARGE",
    "SUBGRAPH_CIRCUIT_OPEN",
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
    502/503/504); the fetcher retries those for queries only.
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
    headers → resilience and HTTP). Each stage reads what it needs here; none parses `body`.
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
    """Posts GraphQL over HTTP with one shared, pooled `httpx.AsyncClient`.

    `urls` maps service names to endpoints. Pass `client` to share a client (or to route to
    in-process apps); otherwise one is built and closed by `aclose()`. `timeout` (or the
    subgraph's entry in `timeouts`) bounds each fetch as a whole, retries included, not only
    each socket operation, so a slowly dripping body cannot hold a request past it.

    Answers are read as a stream and refused past `max_response_bytes` (decompressed) or past
    `max_response_depth` levels of JSON nesting. `resilience` sets each subgraph's circuit
    breaker, retries of queries within a budget, and in-flight dedupe; redirects are never
    followed.
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
        resilience: Resilience | None = None,
        clock: Callable[[], float] = time.monotonic,
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
        self.resilience = resilience if resilience is not None else Resilience()
        self._clock = clock
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
        # Per subgraph name, so they outlive a supergraph reload (see `with_urls`).
        self._breakers: dict[str, CircuitBreaker] = {}
        self._budgets: dict[str, RetryBudget] = {}
        self._inflight = InflightDeduper()

    def with_urls(self, urls: Mapping[str, str]) -> HttpFetcher:
        """A fetcher for a new set of subgraph URLs that shares this one's client, breakers,
        retry budgets and in-flight fetches (a reloaded supergraph keeps their state).
        The client stays owned by this fetcher."""
        clone = HttpFetcher(
            urls,
            client=self._client,
            timeout=self._timeout,
            timeouts=self._timeouts,
            max_response_bytes=self.max_response_bytes,
            max_response_depth=self.max_response_depth,
            resilience=self.resilience,
            clock=self._clock,
        )
        clone._breakers = self._breakers
        clone._budgets = self._budgets
        clone._inflight = self._inflight
        clone._direct = self._direct
        return clone

    async def aclose(self) -> None:
        """Close the client if this fetcher built it; a client passed in belongs to the caller."""
        if self._owns_client:
            await self._client.aclose()

    def breaker(self, service_name: str) -> CircuitBreaker | None:
        """The subgraph's circuit breaker (None when breakers are off)."""
        threshold = self.resilience.failure_threshold
        if threshold is None:
            return None
        breaker = self._breakers.get(service_name)
        if breaker is None:
            breaker = self._breakers[service_name] = CircuitBreaker(
                failure_threshold=threshold,
                reset_timeout=self.resilience.reset_timeout,
                half_open_calls=self.resilience.half_open_calls,
                clock=self._clock,
            )
        return breaker

    def timeout_for(self, service_name: str) -> float:
        """Seconds a whole fetch to this subgraph may take."""
        return self._timeouts.get(service_name, self._timeout)

    @property
    def shared_fetches(self) -> int:
        """Fetches answered by sharing an identical one already in flight."""
        return self._inflight.shared

    async def fetch(self, request: SubgraphRequest) -> dict[str, Any]:
        """Send the request's body to its subgraph and return the GraphQL response."""
        service_name, body, headers = request.service_name, request.body, request.headers
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
        idempotent = request.idempotent
        payload = orjson.dumps(body)

        async def call() -> dict[str, Any]:
            return await self._guarded(service_name, url, payload, request_headers, idempotent)

        if not (idempotent and self.resilience.dedupe):
            return await call()
        # The forwarded headers are part of the key: two members' identical queries differ.
        key = (service_name, payload, tuple(sorted(request_headers.items())))
        response, shared = await self._inflight.run(key, call)
        # Callers merge into (and so mutate) what they get: each sharer gets its own copy.
        return copy_json(response) if shared else response

    async def _guarded(
        self,
        service_name: str,
        url: str,
        payload: bytes,
        headers: Mapping[str, str],
        retry: bool,
    ) -> dict[str, Any]:
        """One fetch through the breaker, retried (queries only) within budget and deadline."""
        breaker = self.breaker(service_name)
        if breaker is not None and not breaker.allow():
            raise SubgraphFetchError(
                service_name,
                "SUBGRAPH_CIRCUIT_OPEN",
                f'Subgraph "{service_name}" is failing; calls to it are suspended for '
                f"{breaker.retry_after():.1f}s.",
            )
        budget = self._budgets.get(service_name)
        if budget is None:
            budget = self._budgets[service_name] = RetryBudget(
                ratio=self.resilience.retry_ratio, reserve=self.resilience.retry_reserve
            )
        budget.deposit()
        timeout = self.timeout_for(service_name)
        try:
            async with asyncio.timeout(timeout):
                attempt = 0
                while True:
                    try:
                        response = await self._attempt(service_name, url, payload, headers, timeout)
                        break
                    except SubgraphFetchError as error:
                        if not (
                            retry
                            and error.retryable
                            and attempt < self.resilience.max_retries
                            and budget.withdraw()
                        ):
                            raise
                    # Jittered, so that retries from many requests do not arrive in lockstep.
                    delay = self.resilience.retry_backoff * 2**attempt
                    await asyncio.sleep(delay * (0.5 + random.random()))
                    attempt += 1
        except TimeoutError as exc:
            if breaker is not None:
                breaker.record_failure()
            raise SubgraphFetchError(
                service_name,
                "SUBGRAPH_TIMEOUT",
                f'Subgraph "{service_name}" did not answer within {timeout:g}s.',
            ) from exc
        except SubgraphFetchError:
            if breaker is not None:
                breaker.record_failure()
            raise
        except BaseException:
            # Cancelled (the client went away): no verdict on the subgraph, but a half-open
            # trial slot must not stay taken.
            if breaker is not None and breaker.state == "half_open":
                breaker.record_failure()
            raise
        if breaker is not None:
            breaker.record_success()
        return response

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
                "SUBGRAPH_UNREACHABLE",
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
                "SUBGRAPH_UNREACHABLE",
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
