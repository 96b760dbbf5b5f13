from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping
from typing import Any

import httpx
from graphql import GraphQLError, OperationDefinitionNode, build_schema, graphql, parse
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route

from federation.execution.executor import MAX_FAILURE_ERRORS, execute_plan
from federation.execution.shaping import shape_response
from federation.planning.plan import (
    ConditionNode,
    FetchNode,
    FlattenNode,
    InputField,
    ParallelNode,
    PlanNode,
    QueryPlan,
    SequenceNode,
)
from federation.subgraphs.fetcher import HttpFetcher

PRODUCTS_SDL = """
type Query { topProducts(first: Int): [Product!]! me: User }
type Product { upc: String  name: String }
type User { id: ID! }
"""

REVIEWS_SDL = """
scalar _Any
union _Entity = Product | Media
type Query { _entities(representations: [_Any!]!): [_Entity]! }
type Product { upc: String rating: Int reviews(first: Int): [Review!] }
type Review { body: String! }
type Media { id: ID! rank: Int }
"""

ENTITIES = "query ($representations: [_Any!]!) { _entities(representations: $representations) "
UPC = (InputField("__typename", "__typename"), InputField("upc", "upc"))
POSSIBLE_TYPES = {"Media": frozenset({"Book", "Movie"})}


class Subgraph:
    """A real graphql-core subgraph behind a Starlette app; records every request body."""

    def __init__(self, sdl: str, root: Mapping[str, Any]) -> None:
        self.schema = build_schema(sdl)
        self.root = root
        self.requests: list[dict[str, Any]] = []
        self.app = Starlette(routes=[Route("/", self.endpoint, methods=["POST"])])

    async def endpoint(self, request: Request) -> Response:
        body = await request.json()
        self.requests.append(body)
        result = await graphql(
            self.schema, body["query"], root_value=self.root, variable_values=body["variables"]
        )
        return JSONResponse(result.formatted)


def static_app(response: Response) -> Starlette:
    async def endpoint(request: Request) -> Response:
        return response

    return Starlette(routes=[Route("/", endpoint, methods=["POST"])])


def products(items: list[dict[str, Any]], **extra: Any) -> Subgraph:
    def top_products(_info: Any, first: int | None = None) -> list[dict[str, Any]]:
        return items[:first] if first is not None else items

    return Subgraph(PRODUCTS_SDL, {"topProducts": top_products, **extra})


def reviews(resolve: Callable[[dict[str, Any]], Any]) -> Subgraph:
    def entities(_info: Any, representations: list[dict[str, Any]]) -> list[Any]:
        return [resolve(representation) for representation in representations]

    return Subgraph(REVIEWS_SDL, {"_entities": entities})


def rated(representation: dict[str, Any]) -> dict[str, Any]:
    upc = representation["upc"]
    return {"__typename": "Product", "rating": len(upc), "reviews": [{"body": f"on {upc}"}]}


async def run(
    node: PlanNode,
    apps: Mapping[str, Starlette],
    variables: Mapping[str, Any] | None = None,
) -> tuple[dict[str, Any] | None, list[dict[str, Any]]]:
    mounts = {f"http://{name}": httpx.ASGITransport(app=app) for name, app in apps.items()}
    async with httpx.AsyncClient(mounts=mounts) as client:
        fetcher = HttpFetcher({name: f"http://{name}/" for name in apps}, client=client)
        return await execute_plan(
            QueryPlan(node),
            fetcher=fetcher,
            variables=variables or {},
            possible_types=POSSIBLE_TYPES,
        )


ROOT = FetchNode.from_operation("products", "{ topProducts { __typename upc } }")


def rating_fetch(service: str = "reviews", selection: str = "rating") -> FlattenNode:
    operation = ENTITIES + f"{{ ... on Product {{ {selection} }} }} }}"
    return FlattenNode(
        ("topProducts", "@"), FetchNode.from_operation(service, operation, requires=UPC)
    )


async def test_execute_plan_dedupes_and_fans_out() -> None:
    root = products([{"upc": "1"}, {"upc": "22"}, {"upc": "1"}])
    entity = reviews(rated)
    plan = SequenceNode((ROOT, rating_fetch(selection="rating reviews { body }")))
    data, errors = await run(plan, {"products": root.app, "reviews": entity.app})
    assert errors == []
    representations = entity.requests[0]["variables"]["representations"]
    assert representations == [
        {"__typename": "Product", "upc": "1"},
        {"__typename": "Product", "upc": "22"},
    ]
    assert data is not None
    first, second, third = data["topProducts"]
    assert (
        first
        == third
        == {
            "__typename": "Product",
            "upc": "1",
            "rating": 1,
            "reviews": [{"body": "on 1"}],
        }
    )
    assert second["rating"] == 2
    assert first["reviews"] is not third["reviews"]  # fanned-out targets share no subtrees


async def test_execute_plan_rewrites_entity_error_paths_with_dedupe() -> None:
    def flaky(representation: dict[str, Any]) -> dict[str, Any]:
        def rating(_info: Any) -> int:
            raise GraphQLError("no rating", extensions={"code": "NOPE"})

        if representation["upc"] == "1":
            return {"__typename": "Product", "rating": rating}
        return rated(representation)

    root = products([{"upc": "1"}, {"upc": "22"}, {"upc": "1"}])
    plan = SequenceNode((ROOT, rating_fetch()))
    data, errors = await run(plan, {"products": root.app, "reviews": reviews(flaky).app})
    expected = {"code": "NOPE", "serviceName": "reviews"}
    assert errors == [
        {"message": "no rating", "path": ["topProducts", 0, "rating"], "extensions": expected},
        {"message": "no rating", "path": ["topProducts", 2, "rating"], "extensions": expected},
    ]
    assert data is not None
    assert [item.get("rating") for item in data["topProducts"]] == [None, 2, None]


async def test_execute_plan_entities_length_mismatch_merges_nothing() -> None:
    root = products([{"upc": "1"}, {"upc": "2"}])
    short = static_app(JSONResponse({"data": {"_entities": [{"rating": 5}]}}))
    data, errors = await run(
        SequenceNode((ROOT, rating_fetch())), {"products": root.app, "reviews": short}
    )
    assert data == {
        "topProducts": [
            {"__typename": "Product", "upc": "1"},
            {"__typename": "Product", "upc": "2"},
        ]
    }
    assert len(errors) == 1
    assert errors[0]["extensions"] == {"code": "SUBGRAPH_BAD_RESPONSE", "serviceName": "reviews"}
    assert "1 entities for 2 representations" in errors[0]["message"]


async def test_execute_plan_entity_error_without_path_keeps_no_path() -> None:
    root = products([{"upc": "1"}, {"upc": "2"}])
    answer = {"data": {"_entities": [None, {"rating": 1}]}, "errors": [{"message": "partial"}]}
    data, errors = await run(
        SequenceNode((ROOT, rating_fetch())),
        {"products": root.app, "reviews": static_app(JSONResponse(answer))},
    )
    assert errors == [{"message": "partial", "extensions": {"serviceName": "reviews"}}]
    assert data is not None
    assert [item.get("rating") for item in data["topProducts"]] == [None, 1]


async def test_execute_plan_null_entity_keeps_siblings() -> None:
    root = products([{"upc": "1", "name": "one"}, {"upc": "2", "name": "two"}])
    entity = reviews(lambda rep: None if rep["upc"] == "1" else rated(rep))
    root_fetch = FetchNode.from_operation("products", "{ topProducts { __typename upc name } }")
    plan = SequenceNode((root_fetch, rating_fetch()))
    data, errors = await run(plan, {"products": root.app, "reviews": entity.app})
    assert errors == []
    api = build_schema(
        "type Query { topProducts: [Product!]! } type Product { name: String rating: Int }"
    )
    operation = parse("{ topProducts { name rating } }").definitions[0]
    assert isinstance(operation, OperationDefinitionNode)
    shaped = shape_response(
        schema=api, operation=operation, fragments={}, variables={}, data=data, errors=errors
    )
    assert shaped == {
        "data": {"topProducts": [{"name": "one", "rating": None}, {"name": "two", "rating": 1}]}
    }


async def test_execute_plan_missing_key_sends_no_representation() -> None:
    root = products([{"upc": "1"}, {"upc": "2"}])
    entity = reviews(rated)
    # `extra` items carry no `upc`, so none of them can be represented: no call at all.
    root_fetch = FetchNode.from_operation(
        "products", "{ topProducts { __typename upc } extra: topProducts { __typename } }"
    )
    flatten = FlattenNode(("extra", "@"), rating_fetch().node)
    data, errors = await run(
        SequenceNode((root_fetch, flatten)), {"products": root.app, "reviews": entity.app}
    )
    assert errors == []
    assert entity.requests == []
    assert data is not None
    assert data["extra"] == [{"__typename": "Product"}, {"__typename": "Product"}]


async def test_execute_plan_root_errors_keep_path_and_add_service_name() -> None:
    def me(_info: Any) -> None:
        raise GraphQLError("forbidden", extensions={"code": "FORBIDDEN"})

    root = products([], me=me)
    data, errors = await run(
        FetchNode.from_operation("products", "{ me { id } }"), {"products": root.app}
    )
    assert data == {"me": None}
    assert errors == [
        {
            "message": "forbidden",
            "path": ["me"],
            "extensions": {"code": "FORBIDDEN", "serviceName": "products"},
        }
    ]


async def test_execute_plan_root_fetch_failure_errors_at_owed_paths() -> None:
    down = static_app(PlainTextResponse("unavailable", status_code=503))
    node = FetchNode.from_operation(
        "down",
        "{ a: topProducts { upc } me { id } __typename ...F } fragment F on Query { me { id } }",
    )
    data, errors = await run(node, {"down": down})
    assert data == {}
    assert [error["path"] for error in errors] == [["a"], ["me"]]
    assert errors[0]["extensions"] == {"code": "SUBGRAPH_HTTP_ERROR", "serviceName": "down"}


async def test_execute_plan_entity_fetch_failure_errors_at_each_target() -> None:
    root = products([{"upc": "1"}, {"upc": "2"}, {"upc": "1"}])
    down = static_app(PlainTextResponse("unavailable", status_code=502))
    plan = SequenceNode((ROOT, rating_fetch("down", "rating r: reviews { body }")))
    _, errors = await run(plan, {"products": root.app, "down": down})
    assert [error["path"] for error in errors] == [
        ["topProducts", index, key] for index in range(3) for key in ("rating", "r")
    ]
    assert {error["extensions"]["code"] for error in errors} == {"SUBGRAPH_HTTP_ERROR"}


async def test_execute_plan_fetch_failure_errors_are_capped() -> None:
    root = products([{"upc": str(index)} for index in range(120)])
    down = static_app(PlainTextResponse("unavailable", status_code=500))
    _, errors = await run(
        SequenceNode((ROOT, rating_fetch("down"))), {"products": root.app, "down": down}
    )
    assert len(errors) == MAX_FAILURE_ERRORS
    assert errors[-2]["path"] == ["topProducts", MAX_FAILURE_ERRORS - 2, "rating"]
    assert "path" not in errors[-1]
    assert "omitted" in errors[-1]["message"]


async def test_execute_plan_condition_node_follows_variable() -> None:
    for flag, expected_calls in ((True, 1), (False, 0)):
        root = products([{"upc": "1"}])
        entity = reviews(rated)
        plan = SequenceNode((ROOT, ConditionNode("withRating", rating_fetch(), None)))
        data, _ = await run(
            plan, {"products": root.app, "reviews": entity.app}, {"withRating": flag}
        )
        assert len(entity.requests) == expected_calls
        assert data is not None
        assert ("rating" in data["topProducts"][0]) is flag
    other = products([{"upc": "9"}])
    conditional = ConditionNode(
        "v", None, FetchNode.from_operation("products", "{ topProducts { upc } }")
    )
    data, _ = await run(conditional, {"products": other.app}, {"v": False})
    assert data == {"topProducts": [{"upc": "9"}]}


async def test_execute_plan_parallel_runs_concurrently() -> None:
    left_started, right_started = asyncio.Event(), asyncio.Event()

    async def left(_info: Any) -> dict[str, str]:
        left_started.set()
        await right_started.wait()
        return {"id": "left"}

    async def right(_info: Any, first: int | None = None) -> list[dict[str, str]]:
        right_started.set()
        await left_started.wait()
        return [{"upc": "right"}]

    apps = {"l": products([], me=left).app, "r": Subgraph(PRODUCTS_SDL, {"topProducts": right}).app}
    plan = ParallelNode(
        (
            FetchNode.from_operation("l", "{ me { id } }"),
            FetchNode.from_operation("r", "{ topProducts { upc } }"),
        )
    )
    data, errors = await asyncio.wait_for(run(plan, apps), timeout=5)
    assert errors == []
    assert data == {"me": {"id": "left"}, "topProducts": [{"upc": "right"}]}


async def test_execute_plan_sequence_runs_in_order() -> None:
    root = products([{"upc": "1", "name": "n"}])
    plan = SequenceNode(
        (
            FetchNode.from_operation("products", "{ topProducts { upc } }"),
            FetchNode.from_operation("products", "{ topProducts { name } }"),
            FetchNode.from_operation("products", "{ topProducts(first: 0) { name } }"),
        )
    )
    data, _ = await run(plan, {"products": root.app})
    assert [request["query"] for request in root.requests] == [
        node.operation for node in plan.nodes if isinstance(node, FetchNode)
    ]
    assert data == {"topProducts": []}  # the last merge replaces a list of another length


async def test_execute_plan_input_rewrites_and_keeps_concrete_typename() -> None:
    catalog = Subgraph(
        """type Query { media: [Media] } interface Media { id: ID! }
        type Book implements Media { id: ID! } type Song implements Media { id: ID! }""",
        {"media": [{"__typename": "Book", "id": "b"}, {"__typename": "Song", "id": "s"}]},
    )
    entity = reviews(lambda rep: {"__typename": "Media", "rank": 7})
    requires = (InputField("__typename", "__typename"), InputField("id", "id"))
    operation = ENTITIES + "{ ... on Media { __typename rank } } }"
    fetch = FetchNode.from_operation(
        "reviews", operation, requires=requires, input_rewrites=(("Media", "Media"),)
    )
    plan = SequenceNode(
        (
            FetchNode.from_operation("catalog", "{ media { __typename id } }"),
            FlattenNode(("media", "@"), fetch),
        )
    )
    data, errors = await run(plan, {"catalog": catalog.app, "reviews": entity.app})
    assert errors == []
    assert entity.requests[0]["variables"]["representations"] == [
        {"__typename": "Media", "id": "b"},
        {"__typename": "Song", "id": "s"},
    ]
    assert data == {
        "media": [
            {"__typename": "Book", "id": "b", "rank": 7},
            {"__typename": "Song", "id": "s", "rank": 7},
        ]
    }


async def test_execute_plan_sends_only_used_variables() -> None:
    root = products([{"upc": "1"}, {"upc": "2"}])
    entity = reviews(rated)
    root_fetch = FetchNode.from_operation(
        "products",
        "query ($n: Int) { topProducts(first: $n) { __typename upc } }",
        variable_usages=("n", "absent"),
    )
    operation = ENTITIES + "{ ... on Product { reviews(first: $f) { body } } } }"
    operation = operation.replace("!]!)", "!]!, $f: Int)", 1)
    flatten = FlattenNode(
        ("topProducts", "@"),
        FetchNode.from_operation("reviews", operation, variable_usages=("f",), requires=UPC),
    )
    variables = {"n": 1, "f": 3, "unused": True}
    data, errors = await run(
        SequenceNode((root_fetch, flatten)),
        {"products": root.app, "reviews": entity.app},
        variables,
    )
    assert errors == []
    assert root.requests[0]["variables"] == {"n": 1}
    assert entity.requests[0]["variables"] == {
        "representations": [{"__typename": "Product", "upc": "1"}],
        "f": 3,
    }
    assert data == {
        "topProducts": [{"__typename": "Product", "upc": "1", "reviews": [{"body": "on 1"}]}]
    }
