"""What the four demo subgraphs share: the request context, the Starlette app and the CLI."""

from __future__ import annotations

import argparse
import contextlib
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import Any, Final, Generic, Protocol, TypeVar

import httpx
import orjson
import strawberry
import uvicorn
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from starlette.websockets import WebSocket
from strawberry.asgi import GraphQL
from strawberry.extensions import ParserCache, SchemaExtension, ValidationCache
from strawberry.federation.params import (
    FederationFieldParams,
    process_federation_field_directives,
)
from strawberry.http import GraphQLHTTPResponse
from strawberry.types import ExecutionResult
from strawberry.types.field import StrawberryField
from typing_extensions import Unpack

from edge.observability import ObservabilityMiddleware, configure_access_log, metrics_route
from federation.telemetry.tracing import Telemetry, TelemetryConfig, note_result
from resolvers.http import DEFAULT_TIMEOUT, BackendClient, create_http_client
from schema.errorlog import install_field_error_filter

__all__ = [
    "FEDERATION_VERSION",
    "AppFactory",
    "Caller",
    "Context",
    "create_subgraph_app",
    "field",
    "mutation",
    "operation_caches",
    "serve",
]

L = TypeVar("L")

#: Pinned so a strawberry upgrade cannot move every subgraph's `@link` on its own; the
#: directives used here (key, shareable, inaccessible, external, requires, provides) are 2.0.
FEDERATION_VERSION: Final = "2.7"

#: Who is calling, read from a request by what the subgraph trusts (the members subgraph: the
#: gateway's signed passport, edge/passport.py); never from a header a client could set.
Caller = Callable[[Request | WebSocket], str | None]


#: Distinct operation texts whose parse and validation each subgraph keeps. A gateway sends a
#: few texts over and over (entity fetches differ only in their variables), so the hit rate is
#: near 100%; the bound keeps a client sending unique texts from growing memory.
OPERATION_CACHE_SIZE: Final = 1024


def operation_caches() -> list[Callable[[], SchemaExtension]]:
    """Schema extensions that parse and validate each operation text once per process.

    Without them strawberry re-validates every request; under gateway load that was a third
    of a subgraph's CPU (measured with py-spy on the benchmark's demo scenario).
    """
    return [
        lambda: ParserCache(maxsize=OPERATION_CACHE_SIZE),
        lambda: ValidationCache(maxsize=OPERATION_CACHE_SIZE),
    ]


@dataclass(frozen=True, slots=True)
class Context(Generic[L]):
    """What every resolver gets as `info.context`: this request's loaders and caller."""

    request: Request | WebSocket
    loaders: L
    member_id: str | None


def field(
    description: str, **federation: Unpack[FederationFieldParams]
) -> Callable[[Callable[..., Any]], StrawberryField]:
    """`@strawberry.federation.field(description=...)` in a form mypy can check: strawberry
    types the keyword-only form as returning Any, which makes every resolver untyped."""

    def decorate(resolver: Callable[..., Any]) -> StrawberryField:
        directives = process_federation_field_directives(None, **federation)
        return strawberry.field(resolver, description=description, directives=directives)

    return decorate


def mutation(description: str) -> Callable[[Callable[..., Any]], StrawberryField]:
    """`@strawberry.mutation(description=...)`, typed like `field`."""

    def decorate(resolver: Callable[..., Any]) -> StrawberryField:
        return strawberry.mutation(resolver, description=description)

    return decorate


class _Backend:
    """The backend client of one app: passed in, or opened and closed by the lifespan."""

    def __init__(
        self, *, service: str, base_url: str, timeout: float, telemetry: Telemetry
    ) -> None:
        self.service = service
        self.base_url = base_url
        self.timeout = timeout
        self.telemetry = telemetry
        self.client: BackendClient | None = None

    def attach(self, http: httpx.AsyncClient) -> None:
        self.client = BackendClient(
            service=self.service,
            base_url=self.base_url,
            http=http,
            timeout=self.timeout,
            telemetry=self.telemetry,
        )

    def get(self) -> BackendClient:
        if self.client is None:
            raise RuntimeError(
                f"{self.service} subgraph has no backend client: run the app with its "
                "lifespan, or pass client= to create_app"
            )
        return self.client


class _SubgraphGraphQL(GraphQL[Context[L], None]):
    """Strawberry's ASGI app with a context that builds fresh loaders per request."""

    def __init__(
        self,
        schema: strawberry.federation.Schema,
        *,
        backend: _Backend,
        loaders: Callable[[BackendClient], L],
        caller: Caller | None = None,
    ) -> None:
        super().__init__(schema, graphql_ide=None)
        self.backend = backend
        self.loaders = loaders
        self.caller = caller

    async def get_context(
        self, request: Request | WebSocket, response: Response | WebSocket
    ) -> Context[L]:
        member_id = self.caller(request) if self.caller is not None else None
        return Context(
            request=request, loaders=self.loaders(self.backend.get()), member_id=member_id
        )

    def encode_json(self, data: object) -> bytes:
        # orjson: a large entity answer is encoded several times faster than with json.dumps.
        return orjson.dumps(data)

    def decode_json(self, data: str | bytes) -> object:
        return orjson.loads(data)

    async def process_result(
        self, request: Request, result: ExecutionResult
    ) -> GraphQLHTTPResponse:
        response = await super().process_result(request, result)
        note_result(response)  # the request's log line and metrics count its errors
        return response


def create_subgraph_app(
    *,
    service: str,
    schema: strawberry.federation.Schema,
    loaders: Callable[[BackendClient], L],
    backend_url: str,
    client: httpx.AsyncClient | None,
    timeout: float = DEFAULT_TIMEOUT,
    telemetry: Telemetry | None = None,
    caller: Caller | None = None,
) -> Starlette:
    """A Starlette app serving `schema` at `/graphql` (and `/health`, `/metrics`).

    `caller` tells each request's member (`Context.member_id`); without it nobody is signed in.

    With `client`, the app uses it and leaves closing it to the caller; without, the
    app's lifespan opens one pooled client for the process and closes it on shutdown.
    Without `telemetry`, one is configured from the `OTEL_*` environment (traces off unless
    an exporter is named) and closed by the lifespan.
    """
    install_field_error_filter()  # one access-log line per request, not one per failed field
    owned = telemetry is None
    observed = telemetry or Telemetry(
        config=TelemetryConfig.from_env(service_name=f"edgegraph-subgraph-{service}")
    )
    backend = _Backend(service=service, base_url=backend_url, timeout=timeout, telemetry=observed)
    if client is not None:
        backend.attach(client)

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        try:
            if client is not None:
                yield
                return
            async with create_http_client(timeout=timeout) as http:
                backend.attach(http)
                yield
        finally:
            if owned:
                observed.shutdown()

    async def health(request: Request) -> Response:
        return JSONResponse({"ok": True, "subgraph": service})

    graphql_app = _SubgraphGraphQL(schema, backend=backend, loaders=loaders, caller=caller)
    return Starlette(
        routes=[
            Route("/graphql", graphql_app, methods=["GET", "POST"]),
            Route("/health", health, methods=["GET"]),
            metrics_route(observed),
        ],
        middleware=[Middleware(ObservabilityMiddleware, telemetry=observed, subgraph=service)],
        lifespan=lifespan,
    )


class AppFactory(Protocol):
    """The `create_app` signature every subgraph module exposes."""

    def __call__(
        self,
        *,
        backend_url: str,
        client: httpx.AsyncClient | None = ...,
        telemetry: Telemetry | None = ...,
    ) -> Starlette: ...


def serve(
    create_app: AppFactory,
    *,
    name: str,
    port: int,
    backend_port: int,
    argv: list[str] | None = None,
) -> None:
    """Parse the command line and run the subgraph with uvicorn."""
    parser = argparse.ArgumentParser(
        prog=f"python -m schema.{name}", description=f"The {name} demo subgraph."
    )
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=port)
    parser.add_argument(
        "--backend",
        default=f"http://127.0.0.1:{backend_port}",
        help="base URL of the backend service",
    )
    args = parser.parse_args(argv)
    configure_access_log()
    uvicorn.run(create_app(backend_url=args.backend), host=args.host, port=args.port)
