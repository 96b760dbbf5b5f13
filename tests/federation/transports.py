"""httpx transports the federation tests put in front of real subgraphs."""

from __future__ import annotations

from typing import Any

import httpx
import orjson
from strawberry.asgi import GraphQL

__all__ = ["RecordingTransport", "Unreachable"]


class RecordingTransport(httpx.AsyncBaseTransport):
    """Passes each request on to `inner` and keeps its JSON body, to see what was sent."""

    def __init__(self, inner: httpx.AsyncBaseTransport) -> None:
        self.inner = inner
        self.bodies: list[dict[str, Any]] = []

    @classmethod
    def to_app(cls, app: GraphQL[Any, Any]) -> RecordingTransport:
        """Recording in front of a strawberry app, reached through httpx's ASGI transport."""
        return cls(httpx.ASGITransport(app=app))

    @property
    def queries(self) -> list[str]:
        return [str(body["query"]) for body in self.bodies]

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        self.bodies.append(orjson.loads(await request.aread()))
        return await self.inner.handle_async_request(request)


class Unreachable(httpx.AsyncBaseTransport):
    """A subgraph that is down: every connection is refused."""

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("connection refused", request=request)
