"""Real subgraphs on loopback for resilience tests: one healthy, one that misbehaves on demand.

`serve` runs an ASGI app under uvicorn on an ephemeral 127.0.0.1 port in the test's own event
loop, so the gateway's fetcher goes through real sockets, real chunked bodies and real
timeouts, not an in-process transport that buffers whole answers.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import Any

import orjson
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response, StreamingResponse
from starlette.routing import Route
from starlette.types import ASGIApp

from edge.policy import mask_errors
from federation.engine import Engine
from federation.subgraphs.fetcher import HttpFetcher
from federation.subgraphs.resilience import Resilience, ResilientFetcher, SubgraphGuards
from federation.supergraph.model import Supergraph, load_supergraph

_HEAD = """
schema
  @link(url: "https://specs.apollo.dev/link/v1.0")
  @link(url: "https://specs.apollo.dev/join/v0.4", for: EXECUTION)
{ query: Query mutation: Mutation }
directive @join__field(graph: join__Graph, requires: join__FieldSet, provides: join__FieldSet,
  type: String, external: Boolean, override: String, usedOverridden: Boolean,
  overrideLabel: String) repeatable on FIELD_DEFINITION | INPUT_FIELD_DEFINITION
directive @join__graph(name: String!, url: String!) on ENUM_VALUE
directive @join__type(graph: join__Graph!, key: join__FieldSet, extension: Boolean! = false,
  resolvable: Boolean! = true, isInterfaceObject: Boolean! = false) repeatable
  on OBJECT | INTERFACE | UNION | ENUM | INPUT_OBJECT | SCALAR
directive @link(url: String, as: String, for: link__Purpose, import: [link__Import])
  repeatable on SCHEMA
scalar join__FieldSet
scalar link__Import
enum link__Purpose { SECURITY EXECUTION }
"""

#: Two subgraphs: `fast` always answers; `sick` does whatever its test asks.
SUPERGRAPH_SDL = (
    _HEAD
    + """
enum join__Graph {
  FAST @join__graph(name: "fast", url: "http://fast.invalid/graphql")
  SICK @join__graph(name: "sick", url: "http://sick.invalid/graphql")
}
type Query @join__type(graph: FAST) @join__type(graph: SICK) {
  fast: Fast! @join__field(graph: FAST)
  sick: Sick @join__field(graph: SICK)
}
type Mutation @join__type(graph: SICK) {
  bump: Int! @join__field(graph: SICK)
}
type Fast @join__type(graph: FAST) { name: String! }
type Sick @join__type(graph: SICK) { id: ID! count: Int! label: String! }
"""
)

QUERY = "{ fast { name } sick { id count label } }"
FAST_DATA = {"fast": {"name": "quick"}}
SICK_DATA = {"sick": {"id": "s1", "count": 3, "label": "ok"}}


def supergraph() -> Supergraph:
    return load_supergraph(SUPERGRAPH_SDL)


def fast_app() -> Starlette:
    async def graphql(_request: Request) -> Response:
        return Response(orjson.dumps({"data": FAST_DATA}), media_type="application/json")

    return Starlette(routes=[Route("/graphql", graphql, methods=["POST"])])


@dataclass
class SickSubgraph:
    """A subgraph whose answer is chosen by `mode`; counts the requests it received.

    `fail_first` makes the first N requests answer 503 before `mode` applies.
    """

    mode: str = "ok"
    fail_first: int = 0
    calls: int = 0
    bodies: list[dict[str, Any]] = field(default_factory=list)
    delay: float = 0.0

    def app(self) -> Starlette:
        return Starlette(routes=[Route("/graphql", self._graphql, methods=["POST"])])

    async def _graphql(self, request: Request) -> Response:
        self.calls += 1
        body = orjson.loads(await request.body())
        self.bodies.append(body)
        if self.delay:
            await asyncio.sleep(self.delay)
        if self.calls <= self.fail_first:
            return Response(b"overloaded", status_code=503)
        is_mutation = str(body.get("query", "")).lstrip().startswith("mutation")
        return await self._answer(is_mutation)

    async def _answer(self, is_mutation: bool) -> Response:
        mode = self.mode
        if mode == "hang":
            await asyncio.sleep(3600)
        if mode == "drip":
            return StreamingResponse(_drip(), media_type="application/json")
        if mode == "500":
            return Response(b"Internal Server Error", status_code=500)
        if mode == "503":
            return Response(b"Service Unavailable", status_code=503)
        if mode == "malformed":
            return Response(b'{"data": {"sick": {"id": "s1",', media_type="application/json")
        if mode == "huge":
            blob = "x" * (4 * 1024 * 1024)
            return _json({"data": {"sick": {"id": "s1", "count": 1, "label": blob}}})
        if mode == "deep":
            return Response(b'{"data": {"sick": ' + b"[" * 500 + b"]" * 500 + b"}}")
        if mode == "wrong_types":
            return _json({"data": {"sick": {"id": "s1", "count": "three", "label": {"a": 1}}}})
        if mode == "null_non_null":
            return _json({"data": {"sick": {"id": "s1", "count": None, "label": "ok"}}})
        if mode == "error":
            error = {
                "message": "KeyError: 'secret' at /srv/sick/db.py:42",
                "path": ["sick"],
                "extensions": {"code": "INTERNAL_SERVER_ERROR", "stacktrace": ["..."]},
            }
            return _json({"data": {"sick": None}, "errors": [error]})
        if is_mutation:
            return _json({"data": {"bump": self.calls}})
        return _json({"data": SICK_DATA})


async def _drip() -> AsyncIterator[bytes]:
    """A valid answer, one byte every 50 ms: each read succeeds, the whole takes seconds."""
    for byte in orjson.dumps({"data": SICK_DATA}):
        yield bytes([byte])
        await asyncio.sleep(0.05)


def _json(payload: Any) -> Response:
    return Response(orjson.dumps(payload), media_type="application/json")


@contextlib.asynccontextmanager
async def serve(app: ASGIApp, *, lifespan: bool = False) -> AsyncIterator[str]:
    """Serve `app` on loopback (running its lifespan if asked); yields its base URL."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    config = uvicorn.Config(
        app,
        log_level="critical",
        lifespan="on" if lifespan else "off",
        timeout_graceful_shutdown=1,
    )
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve(sockets=[sock]))
    try:
        while not server.started:
            if task.done():
                task.result()
            await asyncio.sleep(0.005)
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        server.force_exit = True
        await task
        sock.close()


@dataclass
class Rig:
    """An engine over the two loopback subgraphs."""

    engine: Engine
    #: the resilience stage, over HTTP
    fetcher: ResilientFetcher
    sick: SickSubgraph
    #: mask as the edge does outside dev mode (the engine itself never masks)
    mask: bool = False

    async def run(self, query: str = QUERY) -> dict[str, Any]:
        result = await self.engine.run(query)
        return mask_errors(result.body) if self.mask else result.body


@contextlib.asynccontextmanager
async def rig(
    *,
    timeout: float = 1.0,
    resilience: Resilience | None = None,
    mask: bool = False,
    sick: SickSubgraph | None = None,
    clock: Callable[[], float] | None = None,
    timeouts: dict[str, float] | None = None,
    **http_options: Any,
) -> AsyncIterator[Rig]:
    """Both subgraphs served on loopback and an engine reaching them through the resilience
    stage over HTTP, as the app assembles them."""
    subgraph = sick or SickSubgraph()
    async with serve(fast_app()) as fast_url, serve(subgraph.app()) as sick_url:
        urls = {"fast": f"{fast_url}/graphql", "sick": f"{sick_url}/graphql"}
        http = HttpFetcher(urls, timeout=timeout, timeouts=timeouts, **http_options)
        guards = SubgraphGuards(resilience, clock=clock or time.monotonic)
        fetcher = ResilientFetcher(http, guards, timeout=timeout, timeouts=timeouts)
        engine = Engine(supergraph(), fetcher)
        try:
            yield Rig(engine, fetcher, subgraph, mask)
        finally:
            await http.aclose()
