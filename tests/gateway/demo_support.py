"""The demo domain in one process: backends and subgraphs behind httpx ASGI transports."""

from __future__ import annotations

import functools
from collections.abc import AsyncIterator, Collection, Sequence
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
from starlette.applications import Starlette

import backends.issuer
import demo
from demo import demo_auth, demo_supergraph_sdl
from edge.config import GatewayConfig
from federation.subgraphs.fetcher import HttpFetcher
from federation.supergraph.model import Supergraph, load_supergraph
from gateway import create_app

ROOT = Path(__file__).resolve().parents[2]


@functools.cache
def demo_issuer() -> backends.issuer.Issuer:
    """One issuer for the test run: making its RSA key is the slow part."""
    return backends.issuer.Issuer("http://issuer")


def sign_in(member: str, scopes: Sequence[str] = ()) -> dict[str, str]:
    """The authorization header of `member`, with a token from the demo issuer."""
    return {"authorization": f"Bearer {demo_issuer().mint(member, scopes)}"}


@dataclass
class DemoGateway:
    client: httpx.AsyncClient
    backends: dict[str, httpx.AsyncClient]
    supergraph: Supergraph
    app: Starlette
    #: each subgraph's switch: set `down` to refuse its connections, unset to bring it back
    subgraphs: dict[str, SubgraphSwitch]

    async def stats(self) -> dict[str, int]:
        """Requests served by each backend so far."""
        counts = {}
        for name, backend in self.backends.items():
            counts[name] = (await backend.get("/stats")).json()["requests"]
        return counts


class SubgraphSwitch(httpx.AsyncBaseTransport):
    """A subgraph that can be taken down and brought back: while `down`, every connection is
    refused, as by a killed process."""

    def __init__(self, inner: httpx.AsyncBaseTransport, *, down: bool = False) -> None:
        self.inner = inner
        self.down = down

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if self.down:
            raise httpx.ConnectError("connection refused", request=request)
        return await self.inner.handle_async_request(request)


def device_query(path: str) -> str:
    return (ROOT / "clients" / path).read_text()


@asynccontextmanager
async def demo_gateway(
    *, dev: bool = True, config: GatewayConfig | None = None, down: Collection[str] = ()
) -> AsyncIterator[DemoGateway]:
    """The gateway app over the four demo subgraphs and backends, with no port opened; the
    subgraphs named in `down` refuse every connection until switched back on."""
    supergraph = load_supergraph(demo_supergraph_sdl())
    async with AsyncExitStack() as stack:
        backends: dict[str, httpx.AsyncClient] = {}
        mounts: dict[str, httpx.AsyncBaseTransport] = {}
        switches: dict[str, SubgraphSwitch] = {}
        apps = dict((name, app) for name, app, _host, _port in demo.demo_apps())
        for name in demo.SUBGRAPHS:
            backend_app = apps[f"backend-{name}"]
            backend = httpx.AsyncClient(
                transport=httpx.ASGITransport(app=backend_app), base_url=f"http://{name}-backend"
            )
            await stack.enter_async_context(backend)
            backends[name] = backend
            subgraph_app: Starlette = demo.SUBGRAPH_FACTORIES[name](
                backend_url=f"http://{name}-backend", client=backend
            )
            switch = SubgraphSwitch(httpx.ASGITransport(app=subgraph_app), down=name in down)
            switches[name] = mounts[f"http://{name}"] = switch
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
            config=config,
            authenticator=demo_auth(demo_issuer(), http=issuer_http),
        )
        await stack.enter_async_context(app.router.lifespan_context(app))
        # Like any non-browser client, the tests' client proves it is no cross-site form or
        # link: without this header, CSRF prevention refuses GETs (edge/protection.py).
        client = httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app),
            base_url="http://gateway",
            headers={"graphql-preflight": "1"},
        )
        await stack.enter_async_context(client)
        yield DemoGateway(client, backends, supergraph, app, switches)
