"""Demand control that knows real sizes: the cost estimate reads slicing arguments (literal or
variable), connections, @cost/@listSize, schema defaults and the list sizes answers had; a
refusal comes before any fetch with COST_LIMIT and its estimate; an answer too large to send
is replaced by RESPONSE_TOO_LARGE."""

from __future__ import annotations

from typing import Any

from graphql import build_schema, parse

from edge.config import GatewayConfig
from federation.demand import ListSizes, read_demand
from federation.execution.shaping import shape_response
from federation.limits import COST_LIMIT, Limits, check_cost
from federation.operation import prepare_operation
from tests.gateway.demo_support import demo_gateway, device_query

#: issue #15's request: 30 aliases of every genre's first 100 titles, 3.4 KB asking for 6 MB
ROWS = (
    "{ titles(first: %s) { nodes { averageRating artwork(format: BOXART, width: 342) { url } } } }"
)
ABUSIVE = "{" + " ".join(f"a{i}: genres {ROWS % 100}" for i in range(30)) + "}"
ABUSIVE_BY_VARIABLE = (
    "query Rows($n: Int!) {" + " ".join(f"a{i}: genres {ROWS % '$n'}" for i in range(30)) + "}"
)

SCHEMA_SDL = """
directive @cost(weight: Int!) on FIELD_DEFINITION
directive @listSize(assumedSize: Int, slicingArguments: [String!], sizedFields: [String!],
  requireOneSlicingArgument: Boolean = true) on FIELD_DEFINITION
type Query {
  shelves: [Shelf!]! @listSize(assumedSize: 50)
  search(count: Int, first: Int = 5): Page!
    @listSize(slicingArguments: ["count"], sizedFields: ["hits"])
  tags: [String!]!
}
type Shelf { name: String! price: Int! @cost(weight: 7) }
type Page { hits: [Shelf!]! total: Int! }
"""
SCHEMA = build_schema(SCHEMA_SDL)


def estimate(query: str, **options: Any) -> int:
    prepared = prepare_operation(SCHEMA, query, None, limits=Limits.unlimited())
    refused = check_cost(
        prepared.operation, prepared.fragments, SCHEMA, Limits(max_cost=1), **options
    )
    assert refused is not None and refused.extensions is not None
    assert refused.extensions["code"] == COST_LIMIT
    value: int = refused.extensions["estimate"]
    return value


def test_demand_reads_cost_and_list_size_directives() -> None:
    demand = read_demand(SCHEMA)
    # assumedSize 50; a shelf's price weighs 7
    assert estimate("{ shelves { name price } }", demand=demand) == 50 * (1 + 1 + 7)
    # the slicing argument @listSize names sizes the connection's sized field
    assert estimate("{ search(count: 30) { hits { name } } }", demand=demand) == 1 + 30 * 2
    # without it, no size is said: the flat default (no schema default for `count`)
    assert estimate("{ shelves { name } }") == 10 * 2


def test_demand_uses_list_sizes_seen_when_nothing_else_says() -> None:
    sizes = ListSizes(min_samples=5)
    assert estimate("{ tags }", list_sizes=sizes) == 10
    for size in [3] * 18 + [40, 400]:  # mostly 3, a few large: the 95th percentile
        sizes.observe("Query.tags", size)
    assert estimate("{ tags }", list_sizes=sizes) == 400
    for _ in range(200):
        sizes.observe("Query.tags", 30)
    assert estimate("{ tags }", list_sizes=sizes) == 30


def test_demand_shaping_reports_list_lengths() -> None:
    schema = build_schema("type Query { rows: [Row!]! } type Row { cells: [Int!]! }")
    seen: list[tuple[str, int]] = []
    shape_response(
        schema=schema,
        operation=parse("{ rows { cells } }").definitions[0],  # type: ignore[arg-type]
        fragments={},
        variables={},
        data={"rows": [{"cells": [1, 2]}, {"cells": [3]}]},
        errors=[],
        observe_list=lambda coordinate, size: seen.append((coordinate, size)),
    )
    assert seen == [("Query.rows", 2), ("Row.cells", 2), ("Row.cells", 1)]


async def _post(demo: Any, query: str, variables: dict[str, Any] | None = None) -> Any:
    return await demo.client.post("/graphql", json={"query": query, "variables": variables or {}})


async def test_demand_refuses_the_abusive_request_before_any_fetch() -> None:
    async with demo_gateway(dev=False) as demo:
        for query, variables in ((ABUSIVE, None), (ABUSIVE_BY_VARIABLE, {"n": 100})):
            response = await _post(demo, query, variables)
            (error,) = response.json()["errors"]
            assert error["extensions"]["code"] == "COST_LIMIT", error
            assert error["extensions"]["estimate"] > error["extensions"]["max"] == 50_000
            assert "estimated cost of" in error["message"]  # masking keeps the client's own
        assert set((await demo.stats()).values()) == {0}  # no backend was asked anything
        # The same rows a TV asks for pass, with variables priced as given.
        home = await _post(demo, device_query("tv/home.graphql"), {"titlesPerRow": 100})
        assert "errors" not in home.json()


async def test_demand_answer_too_large_is_replaced_with_a_clear_error() -> None:
    config = GatewayConfig(limits=Limits(max_response_bytes=20_000))
    async with demo_gateway(dev=False, config=config) as demo:
        body = (await _post(demo, device_query("tv/home.graphql"))).json()
    assert body["data"] is None
    (error,) = body["errors"]
    assert error["extensions"] == {"code": "RESPONSE_TOO_LARGE"}
    assert "larger than the gateway sends" in error["message"]
