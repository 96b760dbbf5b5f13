"""The one way a subgraph reaches its backend: batch calls over a shared `httpx.AsyncClient`.

Every failure surfaces as a `BackendError` (a `GraphQLError` with `extensions.code`), so a
loader that raises it rejects each waiting key and graphql-core reports it on every field
that needed the data, with that field's path, while sibling fields keep their values.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence
from typing import Any, TypeAlias

import httpx
import orjson
from graphql import GraphQLError

from federation.subgraphs.transport import PoolTransport
from federation.telemetry.tracing import Telemetry
from resolvers.telemetry import note_backend_status, traced_backend_call

__all__ = [
    "DEFAULT_TIMEOUT",
    "JSON",
    "BackendBadResponse",
    "BackendClient",
    "BackendError",
    "BackendTimeout",
    "BackendUnavailable",
    "create_http_client",
]

JSON: TypeAlias = Any
#: Seconds one backend call may take, end to end (connect, send, wait, read).
DEFAULT_TIMEOUT = 2.0
#: Matches the demo backends' default batch limit; loaders split bigger batches.
MAX_BATCH_SIZE = 500


class BackendError(GraphQLError):
    """A backend call failed; `extensions` carry `code` and the backend's `service` name."""

    code = "BACKEND_ERROR"

    def __init__(self, service: str, message: str, **extensions: Any) -> None:
        super().__init__(
            f"{service} backend: {message}",
            extensions={"code": self.code, "service": service, **extensions},
        )


class BackendTimeout(BackendError):
    """The backend did not answer within the deadline."""

    code = "BACKEND_TIMEOUT"


class BackendUnavailable(BackendError):
    """The backend could not be reached (connection refused, reset, DNS)."""

    code = "BACKEND_UNAVAILABLE"


class BackendBadResponse(BackendError):
    """The backend answered 2xx with a body that breaks the contract."""

    code = "BACKEND_BAD_RESPONSE"


def create_http_client(*, timeout: float = DEFAULT_TIMEOUT) -> httpx.AsyncClient:
    """The pooled client a subgraph process shares across all requests to its backend.

    Over the gateway's keep-alive pool (`federation.subgraphs.transport`): httpcore's pool cost a
    demo subgraph more CPU per backend call than the backend took to answer.
    """
    return httpx.AsyncClient(
        timeout=httpx.Timeout(timeout, connect=min(timeout, 1.0)),
        transport=PoolTransport(max_connections=100),
    )


class BackendClient:
    """Calls one backend service at `base_url`; every method raises only `BackendError`s."""

    def __init__(
        self,
        *,
        service: str,
        base_url: str,
        http: httpx.AsyncClient,
        timeout: float = DEFAULT_TIMEOUT,
        telemetry: Telemetry | None = None,
    ) -> None:
        self.service = service
        #: traces and meters each call (and each loader batch over this client) when set
        self.telemetry = telemetry
        self.base_url = base_url.rstrip("/")
        self.http = http
        # httpx timeouts bound each phase and are not enforced by in-process transports;
        # this deadline bounds the whole call whatever the transport.
        self.timeout = timeout

    async def batch(
        self, path: str, ids: Sequence[str], params: Mapping[str, JSON] | None = None
    ) -> list[JSON]:
        """`POST path {"ids": ids, **params}` and return `results`, one entry per id."""
        body = await self.request("POST", path, json={"ids": list(ids), **(params or {})})
        results = body.get("results") if isinstance(body, dict) else None
        if not isinstance(results, list):
            raise BackendBadResponse(self.service, f"POST {path}: no 'results' list in the answer")
        if len(results) != len(ids):
            raise BackendBadResponse(
                self.service,
                f"POST {path}: {len(results)} results for {len(ids)} ids",
            )
        return results

    async def request(
        self,
        method: str,
        path: str,
        *,
        json: JSON = None,
        params: Mapping[str, str | int] | None = None,
    ) -> JSON:
        """One call; the decoded JSON body of a 2xx answer, else a `BackendError`."""
        if self.telemetry is None:
            return await self._send(method, path, json, params, {})
        return await traced_backend_call(
            self.telemetry,
            self.service,
            method,
            path,
            lambda headers: self._send(method, path, json, params, headers),
        )

    async def _send(
        self,
        method: str,
        path: str,
        json: JSON,
        params: Mapping[str, str | int] | None,
        headers: dict[str, str],
    ) -> JSON:
        where = f"{method} {path}"
        if json is not None:
            headers = {**headers, "content-type": "application/json"}
        try:
            async with asyncio.timeout(self.timeout):
                response = await self.http.request(
                    method,
                    self.base_url + path,
                    content=None if json is None else orjson.dumps(json),
                    headers=headers or None,
                    params=params,
                )
        except (TimeoutError, httpx.TimeoutException):
            raise BackendTimeout(
                self.service, f"{where} took longer than {self.timeout:g}s"
            ) from None
        except httpx.HTTPError as error:
            raise BackendUnavailable(self.service, f"{where} failed: {error!r}") from None
        note_backend_status(response.status_code)
        if response.status_code >= 400:
            raise BackendError(
                self.service,
                f"{where} answered {response.status_code}: {_error_detail(response)}",
                status=response.status_code,
            )
        try:
            return orjson.loads(response.content)
        except orjson.JSONDecodeError:
            raise BackendBadResponse(self.service, f"{where} answered non-JSON") from None


def _error_detail(response: httpx.Response) -> str:
    """The backend's `{"error": ...}` message, or the start of the body."""
    try:
        body = orjson.loads(response.content)
    except orjson.JSONDecodeError:
        body = None
    if isinstance(body, dict) and isinstance(body.get("error"), str):
        return str(body["error"])
    return response.text[:200] or "(empty body)"
