"""Identical aliased fields of one subgraph query are sent once and answered to each alias:
dropped at plan time (planning/optimize/duplicate_aliases.py), restored from the plan's facts
at execution (execution/alias_copies.py)."""

from __future__ import annotations

import json
import re
from typing import Any

import httpx
import pytest
from strawberry.asgi import GraphQL

from federation.engine import Engine
from federation.execution.alias_copies import restore_entity_copies, restore_root_copies
from federation.execution.merge import subtype_predicate
from federation.planning.optimize.duplicate_aliases import drop_duplicate_aliases
from federation.planning.plan import (
    AliasCopy,
    FetchNode,
    FlattenNode,
    InputField,
    InputFragment,
    ParallelNode,
    PlanNode,
    QueryPlan,
    SequenceNode,
)
from federation.subgraphs.fetcher import HttpFetcher
from federation.subgraphs.resilience import ResilientFetcher, SubgraphGuards
from federation.supergraph.model import load_supergraph
from tests.federation.transports import RecordingTransport
from tests.fixtures.federation import cases as fixture_cases
from tests.fixtures.federation.batching import subgraphs as batching
from tests.gateway.demo_support import demo_gateway

ROW = "genres { titles(first: 5) { nodes { id } } }"
ENTITIES = "query($representations: [_Any!]!) { _entities(representations: $representations) "
TITLE = (InputFragment("Title", (InputField("__typename", "__typename"),)),)


def test_duplicate_aliases_root_repeats_are_dropped_with_their_copies() -> None:
    query = f"{{ a: {ROW} b: {ROW} c: genres {{ id }} d: {ROW} }}"
    fetch = drop_duplicate_aliases(FetchNode.from_operation("catalog", query))
    assert fetch.operation.count("genres") == 2 and "b:" not in fetch.operation
    assert fetch.alias_copies == (AliasCopy("a", "b"), AliasCopy("a", "d"))
    # The plan prints what is sent...
    printed = str(QueryPlan(fetch))
    assert "a: genres" in printed and "b:" not in printed and "d:" not in printed
    # ...and the fetch still owes every key: a failure is reported at b and d too.
    assert [key for key, _ in fetch.owed] == ["a", "b", "c", "d"]


def test_duplicate_aliases_inside_entities_are_dropped_per_type_condition() -> None:
    art = "artwork(format: BOXART, width: 342) { url }"
    logo = "artwork(format: LOGO, width: 342) { url }"
    query = (
        ENTITIES + f"{{ ... on Title {{ x: {art} y: {art} z: {logo} }} "
        f"... on Show {{ x: {logo} y: {art} }} }} }}"
    )
    fetch = drop_duplicate_aliases(FetchNode.from_operation("artwork", query, requires=TITLE))
    # A twin is looked for beside it only: on Show, y is not x's twin.
    assert fetch.alias_copies == (AliasCopy("x", "y", "Title"),)
    assert fetch.operation.count("y:") == 1 and fetch.operation.count("z:") == 1
    assert fetch.is_entity and fetch.requires == TITLE


def test_duplicate_aliases_leave_mutations_and_distinct_fields_alone() -> None:
    mutation = FetchNode.from_operation(
        "a", "mutation { a: bump b: bump }", operation_kind="mutation"
    )
    assert drop_duplicate_aliases(mutation) is mutation
    distinct = FetchNode.from_operation("a", "{ a: title(id: 1) { id } b: title(id: 2) { id } }")
    assert drop_duplicate_aliases(distinct) is distinct
    unaliased = FetchNode.from_operation("a", "{ genres { id } a: genres { id } }")
    assert drop_duplicate_aliases(unaliased) is unaliased


def test_restore_root_copies_copies_values_and_errors() -> None:
    copies = (AliasCopy("a", "b"), AliasCopy("a", "d"))
    answer: dict[str, Any] = {
        "data": {"a": [{"titles": None}], "c": [{"id": "g1"}]},
        "errors": [{"message": "boom", "path": ["a", 0, "titles"]}, {"message": "no path"}],
    }
    restored = restore_root_copies(answer, copies)
    assert restored["data"]["b"] == restored["data"]["d"] == [{"titles": None}]
    assert restored["data"]["b"] is not restored["data"]["a"]  # a copy: merging mutates
    assert sorted(e["path"][0] for e in restored["errors"] if "path" in e) == ["a", "b", "d"]
    assert [e["path"] for e in restored["errors"][2:]] == [["b", 0, "titles"], ["d", 0, "titles"]]
    assert "b" not in answer["data"]  # the answer as received is left as it was


def test_restore_entity_copies_per_item_of_its_type() -> None:
    copies = (AliasCopy("x", "y", "Title"), AliasCopy("z", "w", None))
    representations = [
        {"__typename": "Movie", "id": "1"},
        {"__typename": "Show", "id": "2"},
        {"__typename": "Movie", "id": "3"},
        {"__typename": "Show", "id": "4"},
    ]
    shared = {"x": {"url": "u1"}, "z": 1}
    answer: dict[str, Any] = {
        "data": {"_entities": [shared, None, {"x": None}, {"x": "show's own x", "z": 2}]},
        "errors": [
            {"message": "bad", "path": ["_entities", 2, "x"]},
            {"message": "show", "path": ["_entities", 3, "x", "url"]},
        ],
    }
    is_subtype = subtype_predicate({"Title": frozenset({"Movie"})})
    restored = restore_entity_copies(answer, copies, representations, is_subtype)
    assert restored["data"]["_entities"] == [
        {"x": {"url": "u1"}, "y": {"url": "u1"}, "z": 1, "w": 1},
        None,
        {"x": None, "y": None},
        {"x": "show's own x", "z": 2, "w": 2},
    ]
    assert shared == {"x": {"url": "u1"}, "z": 1}  # may be another batched fetch's item too
    assert [e["path"] for e in restored["errors"]] == [
        ["_entities", 2, "x"],
        ["_entities", 3, "x", "url"],
        ["_entities", 2, "y"],
    ]


async def test_duplicate_aliases_ten_rows_reach_the_subgraph_once() -> None:
    query = "{" + " ".join(f"r{i}: {ROW}" for i in range(10)) + "}"
    async with demo_gateway(dev=False) as demo:
        catalog = demo.subgraphs["catalog"]
        recording = catalog.inner = RecordingTransport(catalog.inner)
        body = (await demo.client.post("/graphql", json={"query": query})).json()
    assert "errors" not in body
    assert all(body["data"][f"r{i}"] == body["data"]["r0"] for i in range(10))
    assert len(body["data"]["r0"]) > 0
    (sent,) = recording.queries
    assert sent.count("genres") == 1


# Over the `batching` fixture: repeats at the root (b is a's twin), in entity fetches that
# batching sends under one `_entities` field (a.@ and b.@, same text) or under aliased ones
# (n.@ asks for more), and with errors (b4 has no rating) and a null entity (b5).
REPEATED = """
query Repeated($len: Int!) {
  a: featured { id r1: rating r2: rating s1: summary(maxLength: $len) s2: summary(maxLength: $len) }
  b: featured { id r1: rating r2: rating s1: summary(maxLength: $len) s2: summary(maxLength: $len) }
  n: newest { id r1: rating r2: rating blurb }
  staffPicks { id x: blurb y: blurb }
}
"""

EXPECTED_DATA = {
    "a": [
        {"id": "b1", "r1": 5, "r2": 5, "s1": "Sand ", "s2": "Sand "},
        {"id": "b2", "r1": 4, "r2": 4, "s1": "A mat", "s2": "A mat"},
        {"id": "b3", "r1": 3, "r2": 3, "s1": "One d", "s2": "One d"},
    ],
    "n": [
        {"id": "b2", "r1": 4, "r2": 4, "blurb": batching.BLURBS["b2"]},
        {"id": "b4", "r1": None, "r2": None, "blurb": batching.BLURBS["b4"]},
    ],
    "staffPicks": [None, {"id": "b1", "x": batching.BLURBS["b1"], "y": batching.BLURBS["b1"]}],
}


@pytest.mark.parametrize("batch", [True, False], ids=["batched", "unbatched"])
async def test_duplicate_aliases_answer_every_alias_through_batching(batch: bool) -> None:
    supergraph = load_supergraph(fixture_cases.supergraph_sdl("batching"))
    recorders = {
        name: RecordingTransport.to_app(GraphQL(schema))
        for name, schema in batching.SUBGRAPHS.items()
    }
    mounts: dict[str, httpx.AsyncBaseTransport] = {
        f"http://{name}": recorder for name, recorder in recorders.items()
    }
    async with httpx.AsyncClient(mounts=mounts) as client:
        urls = {name: graph.url for name, graph in supergraph.graphs.items()}
        fetcher = ResilientFetcher(HttpFetcher(urls, client=client), SubgraphGuards())
        engine = Engine(supergraph, fetcher, batch_entities=batch)
        result = await engine.run(REPEATED, "Repeated", {"len": 5})
    assert result.body["data"] == {**EXPECTED_DATA, "b": EXPECTED_DATA["a"]}
    paths = sorted((e["path"] for e in result.body["errors"]), key=json.dumps)
    assert paths == [
        ["n", 1, "r1"],
        ["n", 1, "r2"],
        ["staffPicks", 0, "x"],
        ["staffPicks", 0, "y"],
    ]
    sent = recorders["shelf"].queries + recorders["reviews"].queries
    assert not any(re.search(r"\b(b|r2|s2|y):", query) for query in sent)
    # Unbatched, a.@ and b.@ send identical requests at once: in-flight dedupe shares one.
    assert len(recorders["reviews"].queries) == (1 if batch else 3)
    # The plan says what is sent, and how the dropped keys come back.
    assert result.plan is not None and "r2" not in str(result.plan)
    copies = {path: fetch.alias_copies for path, fetch in _fetches(result.plan.node, ())}
    assert copies[()] == (AliasCopy("a", "b"),)
    assert copies[("n", "@")] == (AliasCopy("r1", "r2", "Book"),)
    assert copies[("staffPicks", "@")] == (AliasCopy("x", "y", "Book"),)


def _fetches(
    node: PlanNode | None, path: tuple[str, ...]
) -> list[tuple[tuple[str, ...], FetchNode]]:
    if isinstance(node, FetchNode):
        return [(path, node)]
    if isinstance(node, FlattenNode):
        return _fetches(node.node, node.path)
    if isinstance(node, SequenceNode | ParallelNode):
        return [found for child in node.nodes for found in _fetches(child, path)]
    return []
