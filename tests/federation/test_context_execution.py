"""What the gateway sends for `@fromContext` arguments, seen on the wire.

The `context` and `context_abstract` fixture sets' real strawberry subgraphs, reached through
httpx's ASGI transport; a recording transport keeps each request body. The answers themselves
are checked in test_fixture_cases.py; here: one request per context fetch whatever the number of
distinct values, each value sent only with the entities it belongs to, and failures reported
at the paths of the entities that were asked for.
"""

from __future__ import annotations

import json
from typing import Any

import httpx
from graphql import parse, validate
from strawberry.asgi import GraphQL

from federation.engine import Engine
from federation.subgraphs.fetcher import HttpFetcher
from federation.supergraph.extract import extract_subgraph_schema
from federation.supergraph.model import load_supergraph
from tests.federation.transports import RecordingTransport, Unreachable
from tests.fixtures.federation import cases as fixture_cases


async def _run(
    feature: str,
    query: str,
    *,
    down: tuple[str, ...] = (),
) -> tuple[dict[str, Any], dict[str, RecordingTransport]]:
    module = fixture_cases.subgraph_module(feature)
    recorders = {
        name: RecordingTransport.to_app(GraphQL(schema))
        for name, schema in module.SUBGRAPHS.items()
    }
    mounts: dict[str, httpx.AsyncBaseTransport] = {
        f"http://{name}": Unreachable() if name in down else recorder
        for name, recorder in recorders.items()
    }
    supergraph = load_supergraph(fixture_cases.supergraph_sdl(feature))
    urls = {graph: info.url for graph, info in supergraph.graphs.items()}
    async with httpx.AsyncClient(mounts=mounts) as client:
        engine = Engine(supergraph, HttpFetcher(urls, client=client))
        result = await engine.run(query, None, {})
    return result.body, recorders


async def test_distinct_values_share_one_request_each_with_its_own_entities() -> None:
    body, recorders = await _run("context", "{ stores { id products { upc price } } }")
    assert "errors" not in body
    root, context_fetch = recorders["stores"].bodies  # no request per currency
    # Three stores, three currencies: three aliased _entities, each with its own variables.
    variables = context_fetch["variables"]
    groups = sorted(
        (
            variables[name],
            [r["upc"] for r in variables[name.replace("contextualArgument_0", "representations")]],
        )
        for name in variables
        if name.startswith("contextualArgument_0_")
    )
    assert groups == [("EUR", ["1", "2"]), ("GBP", ["2", "3"]), ("USD", ["3"])]
    assert context_fetch["query"].count("_entities(") == 3
    # The combined operation is valid against the subgraph's own schema.
    stores = extract_subgraph_schema(
        load_supergraph(fixture_cases.supergraph_sdl("context")), "stores"
    )
    assert not validate(stores, parse(context_fetch["query"]))
    assert "currency" not in json.dumps(root["variables"])


async def test_one_value_sends_the_plain_entities_operation() -> None:
    _body, recorders = await _run("context", '{ store(id: "s1") { products { price } } }')
    _root, context_fetch = recorders["stores"].bodies
    assert context_fetch["query"].count("_entities(") == 1
    assert set(context_fetch["variables"]) == {"representations", "contextualArgument_0"}
    assert context_fetch["variables"]["contextualArgument_0"] == "EUR"


async def test_an_error_in_one_group_lands_at_that_groups_entities() -> None:
    query = (
        "{ spots { ... on Park { id events { id note } } ... on Cinema { id events { note } } } }"
    )
    body, recorders = await _run("context_abstract", query)
    # One park is in the north: its event's note fails, every other note is there.
    paths = sorted(e["path"] for e in body["errors"])
    assert paths == [["spots", 3, "events", 0, "note"]]
    notes = [e["note"] for spot in body["data"]["spots"] for e in spot["events"]]
    assert notes == ["e1 @ fr", "e1 @ south", "e2 @ south", None]
    assert len(recorders["venues"].bodies) == 2


async def test_a_context_value_whose_fetch_failed_is_not_invented() -> None:
    # billing is down: no tax percent arrives. The gross fetch goes out without the value, as
    # Apollo Router sends it (the subgraph decides what a missing argument means; here its
    # resolver fails), and both failures are reported where they happened. `gross` is
    # non-null, so the nulls bubble up to `data` as the spec says.
    body, recorders = await _run(
        "context", "{ stores { id products { upc gross } } }", down=("billing",)
    )
    assert body["data"] is None
    unavailable = [
        e["path"] for e in body["errors"] if e["extensions"].get("code") == "SUBGRAPH_UNAVAILABLE"
    ]
    assert unavailable == [["stores", i, "taxPercent"] for i in range(3)]
    failed = {
        tuple(e["path"]) for e in body["errors"] if e["extensions"]["serviceName"] == "stores"
    }
    assert ("stores", 0, "products", 0, "gross") in failed
    _root, context_fetch = recorders["stores"].bodies
    assert not any(name.startswith("contextualArgument") for name in context_fetch["variables"])
