"""Progressive `@override`: `percent(N)` labels drawn per request, as Apollo Router draws them.

The ends (`percent(100)`, `percent(0)`, a custom label) are in the `progressive_override`
fixture set, where Hive's Rust planner (the differential test) agrees with every answer. Here:
the draw itself, and the shares in between, with the set's real subgraphs and a supergraph whose
`price` label is `percent(50)`.
"""

from __future__ import annotations

import logging
from contextlib import AsyncExitStack
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest
from strawberry.asgi import GraphQL

from edge.config import GatewayConfig, GraphQLConfig
from edge.observability import ACCESS_LOG
from federation.engine import Engine
from federation.subgraphs.fetcher import HttpFetcher
from federation.supergraph.model import load_supergraph
from federation.supergraph.override import (
    LabelDraw,
    override_labels,
    percent_of,
    with_override_labels,
)
from gateway import create_app
from tests.fixtures.federation import cases as fixture_cases

FEATURE = "progressive_override"
SUPERGRAPHS = Path(__file__).resolve().parents[1] / "fixtures" / "supergraphs"


def test_percent_labels_are_read_and_others_are_not() -> None:
    assert percent_of("percent(10)") == 10.0
    assert percent_of("percent(12.5)") == 12.5
    assert percent_of("beta") is None
    assert percent_of("percent(ten)") is None


def test_each_percent_label_is_drawn_with_its_share() -> None:
    labels = frozenset({"percent(10)", "percent(60)", "beta"})
    assert LabelDraw(labels, lambda: 0.05)() == {"percent(10)", "percent(60)"}
    assert LabelDraw(labels, lambda: 0.3)() == {"percent(60)"}
    assert LabelDraw(labels, lambda: 0.99)() == frozenset()


def test_an_enabled_label_moves_the_field_and_nothing_else() -> None:
    supergraph = load_supergraph((SUPERGRAPHS / "join_v05_override.graphql").read_text())
    assert override_labels(supergraph) == {"percent(10)"}
    view = with_override_labels(supergraph, frozenset({"percent(10)"}))
    product, moved = supergraph.types["Product"], view.types["Product"]
    assert product.fields["discount"].resolvable_in == {"products"}
    assert moved.fields["discount"].resolvable_in == {"pricing"}
    unlabelled = [name for name in product.fields if name != "discount"]
    assert all(moved.fields[n] == product.fields[n] for n in unlabelled)
    assert with_override_labels(supergraph, frozenset()) is supergraph


async def _prices(draws: list[float]) -> tuple[list[Any], Engine]:
    """`price` of the first product, one request per draw, with `price` at percent(50)."""
    sdl = fixture_cases.supergraph_sdl(FEATURE).replace('"percent(100)"', '"percent(50)"')
    supergraph = load_supergraph(sdl)
    module = fixture_cases.subgraph_module(FEATURE)
    mounts: dict[str, httpx.AsyncBaseTransport] = {
        f"http://{name}": httpx.ASGITransport(app=GraphQL(schema))
        for name, schema in module.SUBGRAPHS.items()
    }
    queue = list(draws)
    prices: list[Any] = []
    async with httpx.AsyncClient(mounts=mounts) as client:
        urls = {name: graph.url for name, graph in supergraph.graphs.items()}
        engine = Engine(supergraph, HttpFetcher(urls, client=client), draw=lambda: queue.pop(0))
        for _ in draws:
            body = (await engine.run("{ products { price stock } }")).body
            assert "errors" not in body, body
            prices.append(body["data"]["products"][0])
    return prices, engine


async def test_requests_follow_their_draw_and_plans_are_kept_per_label_set() -> None:
    answers, engine = await _prices([0.2, 0.7, 0.49, 0.5])
    assert answers == [
        {"price": "pricing:p1", "stock": "legacy:p1"},
        {"price": "legacy:p1", "stock": "legacy:p1"},
        {"price": "pricing:p1", "stock": "legacy:p1"},
        {"price": "legacy:p1", "stock": "legacy:p1"},
    ]
    # One plan with the label on, one with it off; the later requests reuse them.
    assert len(engine.plans.entries) == 2
    assert (engine.plans.hits, engine.plans.misses) == (2, 2)


def test_configured_labels_are_on_only_where_the_supergraph_uses_them() -> None:
    labels = frozenset({"percent(10)", "beta"})
    draw = LabelDraw(labels, lambda: 0.99, frozenset({"beta", "gamma"}))
    assert draw() == {"beta"}
    assert LabelDraw(frozenset({"beta"}), lambda: 0.0, frozenset({"beta"}))() == {"beta"}


async def test_the_gateway_turns_on_configured_labels_and_logs_the_labels_of_each_request(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO, logger=ACCESS_LOG.name)
    supergraph = load_supergraph(fixture_cases.supergraph_sdl(FEATURE))
    module = fixture_cases.subgraph_module(FEATURE)
    mounts: dict[str, httpx.AsyncBaseTransport] = {
        f"http://{name}": httpx.ASGITransport(app=GraphQL(schema))
        for name, schema in module.SUBGRAPHS.items()
    }
    config = GatewayConfig(graphql=GraphQLConfig(override_labels=("beta",)))
    async with AsyncExitStack() as stack:
        subgraphs = await stack.enter_async_context(httpx.AsyncClient(mounts=mounts))
        urls = {name: graph.url for name, graph in supergraph.graphs.items()}
        app = create_app(supergraph, fetcher=HttpFetcher(urls, client=subgraphs), config=config)
        await stack.enter_async_context(app.router.lifespan_context(app))
        client = await stack.enter_async_context(
            httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://gateway")
        )
        response = await client.post(
            "/graphql", json={"query": "{ products { price stock rating } }"}
        )
    assert response.json()["data"]["products"][0] == {
        "price": "pricing:p1",  # percent(100), drawn on
        "stock": "legacy:p1",  # percent(0), drawn off
        "rating": "pricing:p1",  # beta, on by the config
    }
    [line] = [orjson.loads(r.getMessage()) for r in caplog.records if r.name == ACCESS_LOG.name]
    assert line["override_labels"] == ["beta", "percent(100)"]
