"""Identical aliased fields of one subgraph query are sent once and answered to each alias."""

from __future__ import annotations

from typing import Any

import httpx
import orjson

from federation.subgraphs.aliases import dedupe_aliases
from tests.gateway.demo_support import demo_gateway

ROW = "genres { titles(first: 5) { nodes { id } } }"


def test_aliases_root_repeats_are_dropped_and_restored_with_their_errors() -> None:
    query = f"{{ a: {ROW} b: {ROW} c: genres {{ id }} d: {ROW} }}"
    dedupe = dedupe_aliases({"query": query})
    assert dedupe is not None
    assert dedupe.query.count("genres") == 2 and "b:" not in dedupe.query
    answer: dict[str, Any] = {
        "data": {"a": [{"titles": None}], "c": [{"id": "g1"}]},
        "errors": [{"message": "boom", "path": ["a", 0, "titles"]}],
    }
    restored = dedupe.restore(answer)
    assert restored["data"]["b"] == restored["data"]["d"] == [{"titles": None}]
    assert restored["data"]["b"] is not restored["data"]["a"]  # a copy: merging mutates
    assert sorted(e["path"][0] for e in restored["errors"]) == ["a", "b", "d"]


def test_aliases_inside_entities_are_dropped_per_item() -> None:
    art = "artwork(format: BOXART, width: 342) { url }"
    logo = "artwork(format: LOGO, width: 342) { url }"
    query = (
        "query($representations: [_Any!]!) { _entities(representations: $representations) "
        f"{{ ... on Title {{ x: {art} y: {art} z: {logo} }} }} }}"
    )
    dedupe = dedupe_aliases({"query": query})
    assert dedupe is not None and "y:" not in dedupe.query and "z:" in dedupe.query
    answer = {"data": {"_entities": [{"x": {"url": "u1"}, "z": None}, None, {"x": None}]}}
    restored = dedupe.restore(answer)
    assert restored["data"]["_entities"] == [
        {"x": {"url": "u1"}, "y": {"url": "u1"}, "z": None},
        None,
        {"x": None, "y": None},
    ]


def test_aliases_leave_mutations_and_distinct_fields_alone() -> None:
    assert dedupe_aliases({"query": "mutation { a: bump b: bump }"}) is None
    assert dedupe_aliases({"query": "{ a: title(id: 1) { id } b: title(id: 2) { id } }"}) is None


class Recording(httpx.AsyncBaseTransport):
    def __init__(self, inner: httpx.AsyncBaseTransport) -> None:
        self.inner = inner
        self.queries: list[str] = []

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        self.queries.append(orjson.loads(await request.aread())["query"])
        return await self.inner.handle_async_request(request)


async def test_aliases_ten_rows_reach_the_subgraph_once() -> None:
    query = "{" + " ".join(f"r{i}: {ROW}" for i in range(10)) + "}"
    async with demo_gateway(dev=False) as demo:
        catalog = demo.subgraphs["catalog"]
        recording = catalog.inner = Recording(catalog.inner)
        body = (await demo.client.post("/graphql", json={"query": query})).json()
    assert "errors" not in body
    assert all(body["data"][f"r{i}"] == body["data"]["r0"] for i in range(10))
    assert len(body["data"]["r0"]) > 0
    (sent,) = recording.queries
    assert sent.count("genres") == 1
