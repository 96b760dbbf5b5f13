"""A gateway's field-usage reporter: which fields each client's requests read, sampled, sent
to the registry so that a check protects fields that unregistered operations read too.

`UsageReporter` is ASGI middleware in front of the gateway app. For a sampled share of
`/graphql` requests that carry query text it counts (client, query) pairs, in memory and
bounded; every `interval` seconds the counts are parsed against the served API schema, turned
into field coordinates, scaled by the sample rate and posted to the registry's `/usage`.
Parsing happens off the request path. Requests that send only a persisted id are not
sampled: their operations are registered, and the registry checks them anyway. The client is
the `apollographql-client-name` header as sent.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import re
from collections import Counter
from collections.abc import Callable
from urllib.parse import parse_qs

import httpx
import orjson
from graphql import GraphQLError, GraphQLSchema, parse
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from federation.supergraph.model import load_supergraph

from .fields import usage_of
from .source import RegistrySource

__all__ = ["UsageReporter", "report_usage"]

logger = logging.getLogger("edgegraph.registry.usage")

_CLIENT = re.compile(r"[A-Za-z][A-Za-z0-9_-]{0,63}")
#: a sampled request body larger than this is passed on unread (it is no usual operation)
_MAX_SAMPLED_BODY = 256 * 1024


class UsageReporter:
    """Samples `/graphql` requests and reports field usage to the registry (module doc).

    `current_sdl` gives the supergraph being served (it changes on reload); `token` is the
    gateway's registry token.
    """

    def __init__(
        self,
        app: ASGIApp,
        *,
        registry: str,
        token: str,
        current_sdl: Callable[[], str | None],
        sample_rate: float = 0.1,
        interval: float = 30.0,
        max_queries: int = 2000,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        if not 0 < sample_rate <= 1:
            raise ValueError("sample_rate must be in (0, 1]")
        self.app = app
        self.registry = registry.rstrip("/")
        self.token = token
        self.current_sdl = current_sdl
        self.sample_rate = sample_rate
        self.interval = interval
        self.max_queries = max_queries
        self.transport = transport
        self.pending: Counter[tuple[str, str]] = Counter()
        self._schema: tuple[str, GraphQLSchema] | None = None
        self._task: asyncio.Task[None] | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await self.app(scope, self._on_shutdown(receive), send)
            return
        if (
            scope["type"] != "http"
            or scope["path"] != "/graphql"
            or random.random() >= self.sample_rate
        ):
            await self.app(scope, receive, send)
            return
        headers = {k.decode("latin-1"): v.decode("latin-1") for k, v in scope["headers"]}
        client = headers.get("apollographql-client-name", "")
        client = client if _CLIENT.fullmatch(client) else "unknown"
        if scope["method"] == "GET":
            query = parse_qs(scope.get("query_string", b"").decode("latin-1")).get("query")
            self._count(client, query[0] if query else None)
            await self.app(scope, receive, send)
            return
        read: list[Message] = []
        size = 0
        more = True
        while more and size <= _MAX_SAMPLED_BODY:
            message = await receive()
            read.append(message)
            size += len(message.get("body", b""))
            more = message["type"] == "http.request" and message.get("more_body", False)
        if not more and size <= _MAX_SAMPLED_BODY:
            self._count_body(client, b"".join(m.get("body", b"") for m in read))

        async def replay() -> Message:
            # The app reads the body as it came: first what was read here, then the rest.
            return read.pop(0) if read else await receive()

        await self.app(scope, replay, send)

    def _count_body(self, client: str, body: bytes) -> None:
        with contextlib.suppress(ValueError):
            data = orjson.loads(body)
            if isinstance(data, dict):
                query = data.get("query")
                self._count(client, query if isinstance(query, str) else None)

    def _count(self, client: str, query: str | None) -> None:
        if not query:
            return
        key = (client, query)
        if key in self.pending or len(self.pending) < self.max_queries:
            self.pending[key] += 1
        if self._task is None:
            self._task = asyncio.create_task(self._run(), name="usage-reporter")

    def _on_shutdown(self, receive: Receive) -> Receive:
        async def wrapped() -> Message:
            message = await receive()
            if message["type"] == "lifespan.shutdown":
                await self.aclose()
            return message

        return wrapped

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(self.interval)
            await self.flush()

    async def aclose(self) -> None:
        """Stop reporting; what was counted is sent once more."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        await self.flush()

    def _api_schema(self) -> GraphQLSchema | None:
        sdl = self.current_sdl()
        if sdl is None:
            return None
        if self._schema is None or self._schema[0] != sdl:
            self._schema = (sdl, load_supergraph(sdl).api_schema)
        return self._schema[1]

    def counts(self, sampled: Counter[tuple[str, str]]) -> dict[str, dict[str, int]]:
        """client → coordinate → estimated requests, from sampled (client, query) counts."""
        schema = self._api_schema()
        if schema is None:
            return {}
        totals: dict[str, Counter[str]] = {}
        for (client, query), seen in sampled.items():
            try:
                document = parse(query)
            except GraphQLError:
                continue
            fields, _types = usage_of(document, schema)
            counter = totals.setdefault(client, Counter())
            for coordinate in fields:
                if not coordinate.split(".", 1)[1].startswith("__"):
                    counter[coordinate] += seen
        scale = 1 / self.sample_rate
        return {
            client: {coordinate: max(1, round(n * scale)) for coordinate, n in counter.items()}
            for client, counter in totals.items()
            if counter
        }

    async def flush(self) -> None:
        """Send what was counted since the last flush; a failure is logged and dropped."""
        if not self.pending:
            return
        sampled, self.pending = self.pending, Counter()
        try:
            counts = await asyncio.to_thread(self.counts, sampled)
            if not counts:
                return
            async with httpx.AsyncClient(transport=self.transport, timeout=10.0) as client:
                response = await client.post(
                    f"{self.registry}/usage",
                    json={"clients": counts},
                    headers={"authorization": f"Bearer {self.token}"},
                )
            response.raise_for_status()
        except Exception as error:  # usage is best effort: it never disturbs serving
            logger.warning("field usage not reported to %s: %r", self.registry, error)


def report_usage(
    app: Starlette,
    source: RegistrySource,
    *,
    registry: str,
    token: str,
    sample_rate: float,
    transport: httpx.AsyncBaseTransport | None = None,
) -> None:
    """Put a `UsageReporter` into a gateway app fed by `source`, before the app starts."""
    # Innermost, after the app's own middleware, rather than in front (add_middleware): the
    # body has passed the protection limits, and the client name is the one the edge keeps.
    app.user_middleware.append(
        Middleware(
            UsageReporter,
            registry=registry,
            token=token,
            current_sdl=lambda: source.current,
            sample_rate=sample_rate,
            transport=transport,
        )
    )
