"""The demo domain in one process with every part observed into one in-memory exporter."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from starlette.applications import Starlette

import demo
from demo import demo_supergraph_sdl
from federation.subgraphs.fetcher import HttpFetcher
from federation.supergraph.model import load_supergraph
from federation.telemetry.tracing import Telemetry, TelemetryConfig
from gateway import create_app
from tests.gateway.demo_support import demo_issuer, sign_in

ROOT = Path(__file__).resolve().parents[2]
TV_HOME = (ROOT / "clients" / "tv" / "home.graphql").read_text()
#: A client's trace: the gateway's request span must be its child.
CLIENT_TRACE_ID = "4bf92f3577b34da6a3ce929d0e0e4736"
CLIENT_SPAN_ID = "00f067aa0ba902b7"
TRACEPARENT = f"00-{CLIENT_TRACE_ID}-{CLIENT_SPAN_ID}-01"


class _Unreachable(httpx.AsyncBaseTransport):
    """A subgraph that is down: every connection is refused."""

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("connection refused", request=request)


@dataclass
class ObservedDemo:
    client: httpx.AsyncClient
    app: Starlette
    exporter: InMemorySpanExporter
    gateway: Telemetry
    subgraphs: dict[str, Telemetry]
    subgraph_clients: dict[str, httpx.AsyncClient]
    backend_apps: dict[str, Starlette]

    def spans(self) -> Sequence[ReadableSpan]:
        return self.exporter.get_finished_spans()

    async def query(
        self, query: str = TV_HOME, headers: dict[str, str] | None = None, **extra: Any
    ) -> httpx.Response:
        body = {"query": query, **extra}
        return await self.client.post(
            "/graphql", json=body, headers={**sign_in("m1"), **(headers or {})}
        )


def demo_supergraph_text() -> str:
    return demo_supergraph_sdl()


@asynccontextmanager
async def observed_demo(
    *, down: str | None = None, dev: bool = True, config: TelemetryConfig | None = None
) -> AsyncIterator[ObservedDemo]:
    """Backends, subgraphs and the gateway, sharing one tracer provider; `down` names a subgraph
    whose connections are refused."""
    exporter = InMemorySpanExporter()
    provider = TracerProvider(shutdown_on_exit=False)
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    supergraph = load_supergraph(demo_supergraph_text())
    gateway = Telemetry(
        config=config or TelemetryConfig(service_name="gateway"), tracer_provider=provider
    )
    async with AsyncExitStack() as stack:
        stack.callback(provider.shutdown)
        mounts: dict[str, httpx.AsyncBaseTransport] = {}
        telemetries: dict[str, Telemetry] = {}
        subgraph_clients: dict[str, httpx.AsyncClient] = {}
        backend_apps: dict[str, Starlette] = {}
        apps = {name: app for name, app, _host, _port in demo.demo_apps()}
        for name in demo.SUBGRAPHS:
            backend_apps[name] = apps[f"backend-{name}"]
            backend = httpx.AsyncClient(
                transport=httpx.ASGITransport(app=backend_apps[name]),
                base_url=f"http://{name}-backend",
            )
            await stack.enter_async_context(backend)
            telemetries[name] = Telemetry(
                config=TelemetryConfig(service_name=name), tracer_provider=provider
            )
            subgraph_app = demo.SUBGRAPH_FACTORIES[name](
                backend_url=f"http://{name}-backend", client=backend, telemetry=telemetries[name]
            )
            mounts[f"http://{name}"] = (
                _Unreachable() if name == down else httpx.ASGITransport(app=subgraph_app)
            )
            subgraph_clients[name] = httpx.AsyncClient(
                transport=httpx.ASGITransport(app=subgraph_app), base_url=f"http://{name}"
            )
            await stack.enter_async_context(subgraph_clients[name])
        subgraph_client = httpx.AsyncClient(mounts=mounts)
        await stack.enter_async_context(subgraph_client)
        urls = {name: f"http://{name}/graphql" for name in demo.SUBGRAPHS}
        fetcher = HttpFetcher(urls, client=subgraph_client)
        issuer_http = httpx.AsyncClient(
            transport=httpx.ASGITransport(app=demo_issuer().create_app())
        )
        await stack.enter_async_context(issuer_http)
        app = create_app(
            supergraph,
            fetcher=fetcher,
            dev=dev,
            telemetry=gateway,
            authenticator=demo.demo_auth(demo_issuer(), http=issuer_http),
        )
        await stack.enter_async_context(app.router.lifespan_context(app))
        client = httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://gateway"
        )
        await stack.enter_async_context(client)
        yield ObservedDemo(
            client, app, exporter, gateway, telemetries, subgraph_clients, backend_apps
        )
