"""The engine over real fixture subgraphs: plan caching, variables and planning errors."""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
from strawberry.asgi import GraphQL

from federation.engine import Engine
from federation.subgraphs.fetcher import HttpFetcher, SubgraphRequest
from federation.supergraph.model import load_supergraph
from tests.fixtures.federation import cases as fixture_cases

QUERY = """
query Reviews($withReviews: Boolean!) {
  topProducts { name reviews @include(if: $withReviews) { body } }
}
"""


@asynccontextmanager
async def _engine(feature: str) -> AsyncIterator[tuple[Engine, list[str]]]:
    """An engine over the feature's subgraphs, and the list of subgraphs each fetch reached."""
    module = fixture_cases.subgraph_module(feature)
    supergraph = load_supergraph(fixture_cases.supergraph_sdl(feature))
    reached: list[str] = []

    async def record(request: httpx.Request) -> None:
        reached.append(request.url.host)

    mounts: dict[str, httpx.AsyncBaseTransport] = {
        f"http://{name}": httpx.ASGITransport(app=GraphQL(schema))
        for name, schema in module.SUBGRAPHS.items()
    }
    async with httpx.AsyncClient(mounts=mounts, event_hooks={"request": [record]}) as client:
        urls = {name: graph.url for name, graph in supergraph.graphs.items()}
        yield Engine(supergraph, HttpFetcher(urls, client=client)), reached


async def test_engine_plan_cache_ignores_variable_values() -> None:
    async with _engine("entity_join") as (engine, reached):
        with_reviews = await engine.run(QUERY, None, {"withReviews": True})
        assert reached == ["products", "reviews"]
        reached.clear()
        without = await engine.run(QUERY, None, {"withReviews": False})
        # One plan serves both: its Condition node skips the reviews fetch.
        assert reached == ["products"]
        assert engine.plans.misses == 1 and engine.plans.hits == 1
        assert with_reviews.plan is without.plan
        assert "reviews" in with_reviews.body["data"]["topProducts"][0]
        assert "reviews" not in without.body["data"]["topProducts"][0]


async def test_engine_plan_cache_is_bounded() -> None:
    async with _engine("entity_join") as (engine, _reached):
        engine.plans.max_size = 2
        for first in (1, 2, 3):
            await engine.run(f"{{ topProducts(first: {first}) {{ name }} }}")
        assert len(engine.plans.entries) == 2


async def test_engine_operation_name_selects_the_plan() -> None:
    document = "query A { topProducts { name } } query B { topReviews { body } }"
    async with _engine("entity_join") as (engine, _reached):
        first = await engine.run(document, "A")
        second = await engine.run(document, "B")
        assert list(first.body["data"]) == ["topProducts"]
        assert list(second.body["data"]) == ["topReviews"]
        unnamed = await engine.run(document)
        assert unnamed.rejected


async def test_engine_root_typename_needs_no_fetch() -> None:
    async with _engine("entity_join") as (engine, reached):
        result = await engine.run("{ __typename kind: __typename }")
        assert result.body == {"data": {"__typename": "Query", "kind": "Query"}}
        assert reached == []


class _GatedFetcher:
    """Answers `{ topProducts { name } }`-style root fetches once released; counts fetches."""

    def __init__(self) -> None:
        self.calls = 0
        self.release = asyncio.Event()

    async def fetch(self, request: SubgraphRequest) -> dict[str, Any]:
        self.calls += 1
        await self.release.wait()
        return {"data": {"topProducts": [{"name": f"p{self.calls}"}]}}


async def test_engine_inbound_dedupe_shares_identical_queries_in_flight() -> None:
    supergraph = load_supergraph(fixture_cases.supergraph_sdl("entity_join"))
    fetcher = _GatedFetcher()
    engine = Engine(supergraph, fetcher, dedupe_inbound=True)
    query = "query Q($n: Int) { topProducts(first: $n) { name } }"
    calls = [
        engine.run(query, None, {"n": 1}, headers={"x-member-id": "m1"}),
        engine.run(query, None, {"n": 1}, headers={"x-member-id": "m1"}),
        engine.run(query, "Q", {"n": 1}, headers={"x-member-id": "m1"}),
        engine.run(query, None, {"n": 2}, headers={"x-member-id": "m1"}),
        engine.run(query, None, {"n": 1}, headers={"x-member-id": "m2"}),
    ]
    running = asyncio.gather(*calls)
    await asyncio.sleep(0.01)
    fetcher.release.set()
    results = await running
    # The first two share; the operation name, variables and headers each make a difference.
    assert fetcher.calls == 4
    assert results[0].body is results[1].body
    assert len({id(result.body) for result in results}) == 4
    assert engine.inflight is not None and engine.inflight.shared == 1 and len(engine.inflight) == 0
    await engine.run(query, None, {"n": 1}, headers={"x-member-id": "m1"})
    assert fetcher.calls == 5  # nothing is cached past the shared execution


async def test_engine_inbound_dedupe_is_off_by_default_and_never_shares_mutations() -> None:
    supergraph = load_supergraph(fixture_cases.supergraph_sdl("entity_join"))
    query = "{ topProducts { name } }"
    for engine, expected in (
        (Engine(supergraph, _GatedFetcher()), 2),
        (Engine(supergraph, _GatedFetcher(), dedupe_inbound=True), 1),
    ):
        fetcher = engine.fetcher
        assert isinstance(fetcher, _GatedFetcher)
        running = asyncio.gather(engine.run(query), engine.run(query))
        await asyncio.sleep(0.01)
        fetcher.release.set()
        await running
        assert fetcher.calls == expected
    engine = Engine(supergraph, _GatedFetcher(), dedupe_inbound=True)
    prepared = engine.prepare(query)
    assert engine._inflight_key(prepared, None, None) is not None
    # A mutation always runs on its own.
    mutation = dataclasses.replace(prepared, operation_type="mutation")
    assert engine._inflight_key(mutation, None, None) is None
