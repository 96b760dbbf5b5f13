"""Every fixture case through edgegraph, with the fixture's real strawberry subgraphs in-process.

Each case runs on the checked-in supergraph (Apollo's composition) and on the same subgraphs
composed by The Guild's composition (Hive's), with entity batching on (the default); the
Apollo-composed run is repeated with batching off. The expected answers are the ones Apollo's
gateway gives on the same subgraphs (tests/test_peers.py checks that), corrected where Apollo
is known to be wrong (`apolloDiffers`): edgegraph must give the spec's answer in every case.
"""

from __future__ import annotations

import functools
import json
from typing import Any

import httpx
import pytest
from strawberry.asgi import GraphQL

from federation.engine import Engine
from federation.subgraphs.fetcher import HttpFetcher
from federation.supergraph.model import load_supergraph
from tests.fixtures.federation import cases as fixture_cases
from tests.fixtures.federation import recompose
from tests.peers_support import compose_with_hive

CASES = [
    pytest.param(case, id=f"{case.feature}-{case.operation_name}")
    for feature in fixture_cases.features()
    for case in fixture_cases.load_cases(feature)
]


def _error_paths(body: dict[str, Any]) -> list[Any]:
    return sorted((e.get("path") for e in body.get("errors", [])), key=json.dumps)


@functools.cache
def _hive_supergraph(feature: str) -> str:
    """The feature's subgraphs composed by The Guild's composition, as Hive would serve them."""
    return compose_with_hive(recompose.subgraph_sdls(feature))


@pytest.mark.parametrize(
    ("composer", "batch"),
    [("apollo", True), ("hive", True), ("apollo", False)],
    ids=["apollo", "hive", "apollo-unbatched"],
)
@pytest.mark.parametrize("case", CASES)
async def test_fixture_case_matches_expected_answer(
    case: fixture_cases.FixtureCase, composer: str, batch: bool
) -> None:
    module = fixture_cases.subgraph_module(case.feature)
    if composer == "apollo":
        sdl = fixture_cases.supergraph_sdl(case.feature)
    else:
        sdl = _hive_supergraph(case.feature)
    supergraph = load_supergraph(sdl)
    mounts: dict[str, httpx.AsyncBaseTransport] = {
        f"http://{name}": httpx.ASGITransport(app=GraphQL(schema))
        for name, schema in module.SUBGRAPHS.items()
    }
    reset = fixture_cases.reset_hook(case.feature)
    if reset is not None:
        reset()
    async with httpx.AsyncClient(mounts=mounts) as client:
        urls = {name: graph.url for name, graph in supergraph.graphs.items()}
        engine = Engine(supergraph, HttpFetcher(urls, client=client), batch_entities=batch)
        result = await engine.execute(case.document, case.operation_name, case.variables)
    body = result.body
    assert (body.get("data"), _error_paths(body)) == (
        case.expected_data,
        sorted(case.expected_error_paths, key=json.dumps),
    ), f"{body}\n{result.plan}"
