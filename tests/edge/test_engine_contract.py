"""One contract between the edge and the engine: the edge prepares an operation once per
request and hands the prepared operation to `Engine.execute`; the engine answers unmasked and
the edge alone masks and picks the status. One fetch pipeline, assembled in `create_app`, takes
a typed `SubgraphRequest` down observe → propagate headers → resilience → HTTP."""

from __future__ import annotations

import dataclasses
from typing import Any

import httpx
import pytest
from strawberry.asgi import GraphQL

from federation.engine import Engine
from federation.planning.plan import FetchNode, FlattenNode
from federation.subgraphs.fetcher import HttpFetcher, SubgraphFetchError, SubgraphRequest
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
        # observe → propagate headers → resilience → HTTP
        assert chain == [
            "ObservedFetcher",
            "PropagatingFetcher",
            "ResilientFetcher",
            "HttpFetcher",
        ]
        with pytest.raises(AttributeError):
            setattr(engine, "fetcher", head)  # noqa: B010 - the attribute is read-only


class _Unreachable:
    """Every subgraph refuses, with a detail production must not show."""

    async def fetch(self, request: SubgraphRequest) -> dict[str, Any]:
        raise SubgraphFetchError(
            request.service_name, "SUBGRAPH_UNAVAILABLE", "connection refused to 10.0.0.7"
        )


async def _post_crashing(dev: bool, monkeypatch: pytest.MonkeyPatch) -> httpx.Response:
    async def crash(*_args: Any, **_kwargs: Any) -> Any:
        raise RuntimeError("secret detail at 10.0.0.7")

    monkeypatch.setattr(Engine, "execute", crash)
    supergraph = load_supergraph(fixture_cases.supergraph_sdl("entity_join"))
    app = create_app(supergraph, fetcher=_Unreachable(), dev=dev)
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://gw") as gw,
    ):
        return await gw.post(
            "/graphql",
            json={"query": "{ __typename }"},
            headers={"accept": "application/graphql-response+json"},
        )


async def test_a_crash_goes_out_the_one_way_out_masked_in_production(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    production = await _post_crashing(False, monkeypatch)
    assert production.status_code == 500
    masked = {"message": "Internal server error", "extensions": {"code": "INTERNAL_SERVER_ERROR"}}
    assert production.json() == {"errors": [masked]}
    dev = await _post_crashing(True, monkeypatch)
    assert dev.status_code == 500
    assert "secret detail" in dev.json()["errors"][0]["message"]


async def test_engine_answers_unmasked_and_leaves_the_status_to_the_edge() -> None:
    supergraph = load_supergraph(fixture_cases.supergraph_sdl("entity_join"))
    engine = Engine(supergraph, _Unreachable())
    case = fixture_cases.load_cases("entity_join")[0]
    result = await engine.run(case.document, case.operation_name, case.variables)
    messages = {error["message"] for error in result.body["errors"]}
    assert "Internal server error" not in messages and not result.rejected
    assert "connection refused to 10.0.0.7" in messages
    refused = await engine.run("{ nope }")
    assert refused.rejected
    assert refused.body["errors"][0]["extensions"] == {"code": "GRAPHQL_VALIDATION_FAILED"}


async def test_a_typed_request_carrying_its_plan_fetches_reaches_the_transport() -> None:
    supergraph = load_supergraph(fixture_cases.supergraph_sdl("entity_join"))
    module = fixture_cases.subgraph_module("entity_join")
    mounts: dict[str, httpx.AsyncBaseTransport] = {
        f"http://{name}": httpx.ASGITransport(app=GraphQL(schema))
        for name, schema in module.SUBGRAPHS.items()
    }
    seen: list[SubgraphRequest] = []
    async with httpx.AsyncClient(mounts=mounts) as subgraphs:
        urls = {name: graph.url for name, graph in supergraph.graphs.items()}
        http = HttpFetcher(urls, client=subgraphs)

        class Recording:
            async def fetch(self, request: SubgraphRequest) -> dict[str, Any]:
                seen.append(request)
                return await http.fetch(request)

        app = create_app(supergraph, fetcher=Recording(), dev=True)
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
                headers={"x-edgegraph-include-plan": "true", "x-secret": "not propagated"},
            )
    assert response.status_code == 200
    assert seen and all(request.idempotent for request in seen)
    served = [node for request in seen for node in request.plan_nodes]
    assert all(isinstance(node, FetchNode | FlattenNode) for node in served)
    assert any(isinstance(node, FlattenNode) for node in served)  # an entity fetch too
    assert len(served) == response.json()["extensions"]["queryPlan"].count("Fetch(")
    assert all("x-secret" not in request.headers for request in seen)
    with pytest.raises(dataclasses.FrozenInstanceError):
        seen[0].headers = {}  # type: ignore[misc]
