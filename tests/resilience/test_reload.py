"""Hot reload: sources, rejection of bad supergraphs, and a swap under concurrent requests."""

from __future__ import annotations

import asyncio
import logging
import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest
from graphql import build_schema, graphql
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from edge.reload import ComposedSource, FileSource, SupergraphReloader, compose_graph_config
from federation.composition.cli import service_sdl
from federation.subgraphs.fetcher import HttpFetcher
from federation.supergraph.model import Supergraph
from gateway import create_app
from tests.fixtures.federation.simple.subgraphs import SUBGRAPHS as LIBRARY
from tests.resilience.support import SUPERGRAPH_SDL, SickSubgraph, serve, supergraph

#: The second version adds `Fast.speed`: a query for it is valid only after the reload.
V2_SDL = SUPERGRAPH_SDL.replace(
    "type Fast @join__type(graph: FAST) { name: String! }",
    "type Fast @join__type(graph: FAST) { name: String! speed: Int! }",
)
FAST_SCHEMA = build_schema("type Query { fast: Fast! } type Fast { name: String! speed: Int! }")


def fast_app() -> Starlette:
    """The `fast` subgraph as a real (tiny) GraphQL server, so it answers either version."""

    async def endpoint(request: Request) -> Response:
        body = orjson.loads(await request.body())
        root = {"fast": {"name": "quick", "speed": 9}}
        result = await graphql(FAST_SCHEMA, body["query"], root_value=root)
        return Response(orjson.dumps(result.formatted), media_type="application/json")

    return Starlette(routes=[Route("/graphql", endpoint, methods=["POST"])])


def bump_mtime(path: Path) -> None:
    stat = path.stat()
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000_000))


async def test_file_source_reports_only_content_changes(tmp_path: Path) -> None:
    path = tmp_path / "supergraph.graphql"
    path.write_text(SUPERGRAPH_SDL)
    source = FileSource(path, current=SUPERGRAPH_SDL)
    assert await source.poll() is None
    bump_mtime(path)  # touched, same content
    assert await source.poll() is None
    path.write_text(V2_SDL)
    bump_mtime(path)
    assert await source.poll() == V2_SDL
    assert await source.poll() is None


async def test_reloader_publishes_a_valid_supergraph() -> None:
    published: list[Supergraph] = []

    class Once:
        async def poll(self) -> str | None:
            return V2_SDL

    reloader = SupergraphReloader(Once(), build=lambda sg: sg, publish=published.append)
    assert await reloader.check()
    assert "speed" in published[0].api_schema.type_map["Fast"].fields  # type: ignore[attr-defined]
    assert reloader.reloads == 1


@pytest.mark.parametrize("sdl", ["type Query {", "type Query { a: Int }", ""])
async def test_reloader_rejects_and_logs_an_invalid_supergraph(
    sdl: str, caplog: pytest.LogCaptureFixture
) -> None:
    published: list[Supergraph] = []

    class Bad:
        async def poll(self) -> str | None:
            return sdl

    reloader = SupergraphReloader(Bad(), build=lambda sg: sg, publish=published.append)
    with caplog.at_level(logging.ERROR, logger="edgegraph.reload"):
        assert not await reloader.check()
    assert published == []
    assert reloader.rejected == 1
    assert "rejected" in caplog.text


async def test_reloader_keeps_running_when_the_source_fails(
    caplog: pytest.LogCaptureFixture,
) -> None:
    class Broken:
        async def poll(self) -> str | None:
            raise OSError("file vanished")

    reloader = SupergraphReloader(Broken(), build=lambda sg: sg, publish=lambda sg: None)
    with caplog.at_level(logging.ERROR, logger="edgegraph.reload"):
        assert not await reloader.check()
    assert "file vanished" in caplog.text


async def test_composed_source_uses_the_compose_hook() -> None:
    results = iter([SUPERGRAPH_SDL, SUPERGRAPH_SDL, V2_SDL])

    async def compose(_path: Path) -> str:
        return next(results)

    source = ComposedSource(Path("graph.toml"), compose=compose, current=SUPERGRAPH_SDL)
    assert await source.poll() is None
    assert await source.poll() is None
    assert await source.poll() == V2_SDL


async def test_compose_graph_config_composes_graph_toml(tmp_path: Path) -> None:
    schema_file = tmp_path / "library.graphql"
    schema_file.write_text(service_sdl(LIBRARY["library"]))
    config = tmp_path / "graph.toml"
    config.write_text(
        '[subgraphs.library]\nurl = "http://library/graphql"\nschema = "library.graphql"\n'
    )
    sdl = await compose_graph_config(config)
    assert "join__Graph" in sdl and "LIBRARY" in sdl
    schema_file.write_text("type Query { broken: Nope }")
    with pytest.raises(Exception, match=r"compos|Nope|Unknown"):
        await compose_graph_config(config)


@asynccontextmanager
async def reloading_gateway(path: Path) -> AsyncIterator[httpx.AsyncClient]:
    sick = SickSubgraph(delay=0.02)  # requests stay in flight across swaps
    async with serve(fast_app()) as fast_url, serve(sick.app()) as sick_url:
        urls = {"fast": f"{fast_url}/graphql", "sick": f"{sick_url}/graphql"}
        fetcher = HttpFetcher(urls, timeout=5)
        app = create_app(
            supergraph(),
            fetcher=fetcher,
            reload_source=FileSource(path, current=SUPERGRAPH_SDL),
            reload_interval=0.01,
        )
        async with app.router.lifespan_context(app):
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://gw") as client:
                yield client
        await fetcher.aclose()


async def test_hot_reload_under_concurrent_requests_fails_none(tmp_path: Path) -> None:
    path = tmp_path / "supergraph.graphql"
    path.write_text(SUPERGRAPH_SDL)
    stop = asyncio.Event()
    outcomes: list[str] = []
    failures: list[Any] = []
    answered = 0

    async def steady_client(client: httpx.AsyncClient) -> None:
        """A query valid in every version: must always succeed."""
        nonlocal answered
        while not stop.is_set():
            response = await client.post(
                "/graphql", json={"query": "{ fast { name } sick { id count } }"}
            )
            body = response.json()
            if response.status_code != 200 or body.get("errors") or not body.get("data"):
                failures.append((response.status_code, body))
            answered += 1
            await asyncio.sleep(0)  # an in-process answer never suspends: let others run

    async def probing_client(client: httpx.AsyncClient) -> None:
        """A query valid only in V2: answered whole by V2 or refused whole by V1, never mixed."""
        while not stop.is_set():
            response = await client.post("/graphql", json={"query": "{ fast { name speed } }"})
            body = response.json()
            if body.get("data") == {"fast": {"name": "quick", "speed": 9}}:
                outcomes.append("v2")
            elif "data" not in body and body["errors"][0]["extensions"]["code"] == (
                "GRAPHQL_VALIDATION_FAILED"
            ):
                outcomes.append("v1")
            else:
                failures.append(("mixed", body))
            await asyncio.sleep(0)

    async with reloading_gateway(path) as client:
        workers = [asyncio.create_task(steady_client(client)) for _ in range(8)]
        workers += [asyncio.create_task(probing_client(client)) for _ in range(4)]
        for version in (V2_SDL, "type Query {", SUPERGRAPH_SDL, "not a supergraph", V2_SDL):
            await asyncio.sleep(0.15)
            path.write_text(version)
            bump_mtime(path)
        await asyncio.sleep(0.3)
        stop.set()
        await asyncio.gather(*workers)
    assert failures == []
    assert answered >= 16  # every steady client was answered, again and again, across swaps
    # Both versions were served, and the last valid one (V2) won over the invalid files.
    assert "v1" in outcomes and "v2" in outcomes
    assert outcomes[-1] == "v2"
