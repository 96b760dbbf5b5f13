"""One contract between the edge and the engine: the edge prepares an operation once per
request and hands the prepared operation to `Engine.execute`."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from strawberry.asgi import GraphQL

from federation.engine import Engine
from federation.subgraphs.fetcher import HttpFetcher
from federation.supergraph.model import load_supergraph
from gateway import create_app
from tests.fixtures.federation import cases as fixture_cases


async def test_engine_prepares_each_request_once(monkeypatch: pytest.MonkeyPatch) -> None:
    supergraph = load_supergraph(fixture_cases.supergraph_sdl("entity_join"))
    module = fixture_cases.subgraph_module("entity_join")
    mounts: dict[str, httpx.AsyncBaseTransport] = {
        f"http://{name}": httpx.ASGITransport(app=GraphQL(schema))
        for name, schema in module.SUBGRAPHS.items()
    }
    calls: list[tuple[str, str | None]] = []
    prepare = Engine.prepare

    def counting(self: Engine, query: str, operation_name: str | None = None) -> Any:
        calls.append((query, operation_name))
        return prepare(self, query, operation_name)

    monkeypatch.setattr(Engine, "prepare", counting)
    async with httpx.AsyncClient(mounts=mounts) as subgraphs:
        urls = {name: graph.url for name, graph in supergraph.graphs.items()}
        app = create_app(supergraph, fetcher=HttpFetcher(urls, client=subgraphs))
        async with (
            app.router.lifespan_context(app),
            httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://gw") as gw,
        ):
            case = fixture_cases.load_cases("entity_join")[0]
            response = await gw.post(
                "/graphql",
                json={
                    "query": case.document,
                    "operationName": case.operation_name,
                    "variables": case.variables,
                },
            )
    assert response.status_code == 200
    assert response.json()["data"] == case.expected_data
    assert calls == [(case.document, case.operation_name)]


async def test_fetch_pipeline_is_assembled_once_in_create_app() -> None:
    supergraph = load_supergraph(fixture_cases.supergraph_sdl("entity_join"))
    app = create_app(supergraph)
    async with app.router.lifespan_context(app):
        endpoint: Any = next(
            getattr(route, "endpoint", None)
            for route in app.routes
            if getattr(route, "path", "") == "/graphql"
        )
        engine: Engine = endpoint.__self__.engine()
        head: Any = engine.fetcher
        chain = [type(head).__name__]
        while hasattr(head, "inner"):
            head = head.inner
            chain.append(type(head).__name__)
        # observe → propagate headers → resilience and HTTP
        assert chain == ["ObservedFetcher", "PropagatingFetcher", "HttpFetcher"]
        with pytest.raises(AttributeError):
            setattr(engine, "fetcher", head)  # noqa: B010 - the attribute is read-only
