"""Entity batching: fetches to one subgraph that start together go out as one request.

The subgraphs are the `batching` fixture's real strawberry apps (tests/fixtures/federation/
batching), reached through httpx's ASGI transport; a recording transport keeps each request
body so the tests can see what the gateway sent.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from graphql import GraphQLError, parse, validate
from strawberry.asgi import GraphQL
from strawberry.extensions import SchemaExtension
from strawberry.federation import Schema

from federation.engine import Engine
from federation.execution.batching import combine_entity_operations
from federation.planning.plan import FetchNode
from federation.subgraphs.fetcher import HttpFetcher
from federation.supergraph.model import load_supergraph
from tests.federation.transports import RecordingTransport, Unreachable
from tests.fixtures.federation import cases as fixture_cases
from tests.fixtures.federation.batching import subgraphs
from tests.fixtures.federation.support import FEDERATION_VERSION

FEATURE = "batching"


class ReviewsBackendDown(SchemaExtension):
    """Fails every request as a whole: `data: null` and one error without a path."""

    def on_execute(self) -> Iterator[None]:
        raise GraphQLError("reviews backend unavailable")


def _case(name: str) -> fixture_cases.FixtureCase:
    return next(c for c in fixture_cases.load_cases(FEATURE) if c.operation_name == name)


async def _run(
    name: str,
    *,
    batch: bool | frozenset[str],
    reviews: httpx.AsyncBaseTransport | None = None,
) -> tuple[dict[str, Any], dict[str, RecordingTransport]]:
    case = _case(name)
    recorders = {
        service: RecordingTransport.to_app(GraphQL(schema))
        for service, schema in subgraphs.SUBGRAPHS.items()
    }
    mounts: dict[str, httpx.AsyncBaseTransport] = {
        f"http://{service}": recorder for service, recorder in recorders.items()
    }
    if reviews is not None:
        mounts["http://reviews"] = reviews
    supergraph = load_supergraph(fixture_cases.supergraph_sdl(FEATURE))
    urls = {graph: info.url for graph, info in supergraph.graphs.items()}
    async with httpx.AsyncClient(mounts=mounts) as client:
        engine = Engine(supergraph, HttpFetcher(urls, client=client), batch_entities=batch)
        result = await engine.run(case.document, case.operation_name, case.variables)
    return result.body, recorders


def _paths(body: dict[str, Any]) -> list[Any]:
    return sorted((error.get("path") for error in body.get("errors", [])), key=json.dumps)


async def test_same_selection_shares_one_entities_field_and_dedupes_across_lists() -> None:
    batched, recorders = await _run("SameSelectionTwoLists", batch=True)
    alone, unbatched = await _run("SameSelectionTwoLists", batch=False)
    assert batched == alone
    assert _paths(batched) == [["newest", 1, "rating"]]
    assert len(unbatched["reviews"].bodies) == 2
    [sent] = recorders["reviews"].bodies
    # featured (b1 b2 b3) and newest (b2 b4): b2 is sent once for both lists
    ids = [r["id"] for r in sent["variables"]["representations"]]
    assert ids == ["b1", "b2", "b3", "b4"]
    assert sent["query"].count("_entities") == 1


async def test_batching_applies_only_to_the_subgraphs_named() -> None:
    body, recorders = await _run("SameSelectionTwoLists", batch=frozenset({"shelf"}))
    alone, _ = await _run("SameSelectionTwoLists", batch=False)
    assert body == alone
    assert len(recorders["reviews"].bodies) == 2  # reviews is not named: one request per fetch


async def test_different_selections_become_aliased_entities_fields_of_one_request() -> None:
    batched, recorders = await _run("DifferentSelectionsOneRequest", batch=True)
    alone, _ = await _run("DifferentSelectionsOneRequest", batch=False)
    assert batched == alone
    assert _paths(batched) == [["newest", 1, "rating"], ["staffPicks", 0, "blurb"]]
    [sent] = recorders["reviews"].bodies
    document = parse(sent["query"])
    assert not validate(subgraphs.SUBGRAPHS["reviews"]._schema, document)
    assert sent["query"].count("_entities(") == 3
    assert set(sent["variables"]) == {
        "len",
        "representations0",
        "representations1",
        "representations2",
    }


async def test_a_failed_batched_request_fails_each_fetch_at_its_own_paths() -> None:
    body, recorders = await _run("SameSelectionTwoLists", batch=True, reviews=Unreachable())
    assert [book["title"] for book in body["data"]["featured"]] == ["Dune", "Emma", "Ulysses"]
    assert all(book["rating"] is None for book in body["data"]["newest"])
    expected = [["featured", i, "rating"] for i in range(3)] + [
        ["newest", i, "rating"] for i in range(2)
    ]
    assert _paths(body) == sorted(expected, key=json.dumps)
    assert {e["extensions"]["code"] for e in body["errors"]} == {"SUBGRAPH_UNAVAILABLE"}
    assert recorders["shelf"].bodies  # the shelf answered; only reviews failed


async def test_a_whole_request_error_is_reported_once_and_other_data_kept() -> None:
    down = Schema(
        types=[subgraphs.ReviewsBook],
        extensions=[ReviewsBackendDown],
        federation_version=FEDERATION_VERSION,
    )
    reviews = httpx.ASGITransport(app=GraphQL(down))
    body, _ = await _run("SameSelectionTwoLists", batch=True, reviews=reviews)
    alone, _ = await _run("SameSelectionTwoLists", batch=False, reviews=reviews)
    # as when each fetch is sent alone: each reports the subgraph's error, without a path
    assert body == alone
    messages = [e["message"] for e in body["errors"]]
    assert messages == ["reviews backend unavailable"] * 2
    assert all("path" not in e for e in body["errors"])
    # the shelf's data stays; the ratings it could not get are null
    assert [book["title"] for book in body["data"]["newest"]] == ["Emma", "Beloved"]
    assert all(book["rating"] is None for book in body["data"]["featured"])


def test_combined_operation_keeps_each_selection_and_shares_client_variables() -> None:
    first = "query ($representations: [_Any!]!) { _entities(representations: $representations) { ... on Book { rating } } }"  # noqa: E501
    second = "query ($representations: [_Any!]!, $len: Int!) { _entities(representations: $representations) { ... on Book { summary(maxLength: $len) } } }"  # noqa: E501
    fetches = tuple(
        FetchNode.from_operation("reviews", text, requires=()) for text in (first, second)
    )
    combined = combine_entity_operations(fetches, frozenset({"len"}))
    assert combined is not None
    text, aliases = combined
    assert aliases == ("_0", "_1")
    assert not validate(subgraphs.SUBGRAPHS["reviews"]._schema, parse(text))


@pytest.mark.parametrize(
    ("operations", "variables"),
    [
        pytest.param(
            (
                "query ($representations: [_Any!]!) { _entities(representations: $representations) { ...F } } fragment F on Book { rating }",  # noqa: E501
                "query ($representations: [_Any!]!) { _entities(representations: $representations) { ... on Book { blurb } } }",  # noqa: E501
            ),
            frozenset[str](),
            id="fragment-definitions",
        ),
        pytest.param(
            (
                "query ($representations: [_Any!]!) { _entities(representations: $representations) { ... on Book { rating } } }",  # noqa: E501
                "query ($representations: [_Any!]!) { _entities(representations: $representations) { ... on Book { blurb } } }",  # noqa: E501
            ),
            frozenset({"representations1"}),
            id="client-variable-named-like-ours",
        ),
    ],
)
def test_operations_that_cannot_be_combined_are_sent_apart(
    operations: tuple[str, ...], variables: frozenset[str]
) -> None:
    fetches = tuple(FetchNode.from_operation("reviews", text, requires=()) for text in operations)
    assert combine_entity_operations(fetches, variables) is None


class RefusesSummaries(httpx.AsyncBaseTransport):
    """The reviews subgraph, except that requests asking for `summary` cannot connect."""

    def __init__(self) -> None:
        self.inner = RecordingTransport.to_app(GraphQL(subgraphs.SUBGRAPHS["reviews"]))

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if b"summary" in await request.aread():
            raise httpx.ConnectError("connection refused", request=request)
        return await self.inner.handle_async_request(request)


async def test_texts_that_cannot_share_an_operation_go_apart_and_fail_apart() -> None:
    # The client's variable is named like batching's own: the two texts go as two requests,
    # and the one that fails takes only its own fetch's fields with it.
    document = """
        query Apart($representations0: Int!) {
          featured { id rating }
          newest { id summary(maxLength: $representations0) }
        }
    """
    reviews = RefusesSummaries()
    supergraph = load_supergraph(fixture_cases.supergraph_sdl(FEATURE))
    urls = {graph: info.url for graph, info in supergraph.graphs.items()}
    mounts: dict[str, httpx.AsyncBaseTransport] = {
        "http://shelf": httpx.ASGITransport(app=GraphQL(subgraphs.SUBGRAPHS["shelf"])),
        "http://reviews": reviews,
    }
    async with httpx.AsyncClient(mounts=mounts) as client:
        engine = Engine(supergraph, HttpFetcher(urls, client=client))
        result = await engine.run(document, "Apart", {"representations0": 5})
    body = result.body
    assert [book["rating"] for book in body["data"]["featured"]] == [5, 4, 3]
    assert [book["summary"] for book in body["data"]["newest"]] == [None, None]
    assert _paths(body) == [["newest", 0, "summary"], ["newest", 1, "summary"]]
    assert {e["extensions"]["code"] for e in body["errors"]} == {"SUBGRAPH_UNAVAILABLE"}
    [sent] = reviews.inner.bodies  # the rating request; the summary one never connected
    assert "summary" not in sent["query"] and sent["query"].count("_entities(") == 1
