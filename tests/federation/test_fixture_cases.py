"""Every fixture case through edgegraph, with the fixture's real strawberry subgraphs in-process.

The expected answers are the ones Apollo's gateway gives on the same subgraphs (tests/test_peers.py
checks that), corrected where Apollo is known to be wrong (`apolloDiffers`): edgegraph must give
the spec's answer in every case.
"""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest
from strawberry.asgi import GraphQL

from federation.engine import Engine
from federation.fetcher import HttpFetcher
from federation.supergraph import load_supergraph
from tests.fixtures.federation import cases as fixture_cases

CASES = [
    pytest.param(case, id=f"{case.feature}-{case.operation_name}")
    for feature in fixture_cases.features()
    for case in fixture_cases.load_cases(feature)
]


def _error_paths(body: dict[str, Any]) -> list[Any]:
    return sorted((e.get("path") for e in body.get("errors", [])), key=json.dumps)


@pytest.mark.parametrize("case", CASES)
async def test_fixture_case_matches_expected_answer(case: fixture_cases.FixtureCase) -> None:
    module = fixture_cases.subgraph_module(case.feature)
    supergraph = load_supergraph(fixture_cases.supergraph_sdl(case.feature))
    mounts: dict[str, httpx.AsyncBaseTransport] = {
        f"http://{name}": httpx.ASGITransport(app=GraphQL(schema))
        for name, schema in module.SUBGRAPHS.items()
    }
    reset = fixture_cases.reset_hook(case.feature)
    if reset is not None:
        reset()
    async with httpx.AsyncClient(mounts=mounts) as client:
        urls = {name: graph.url for name, graph in supergraph.graphs.items()}
        engine = Engine(supergraph, HttpFetcher(urls, client=client))
        result = await engine.execute(case.document, case.operation_name, case.variables)
    body = result.body
    assert (body.get("data"), _error_paths(body)) == (
        case.expected_data,
        sorted(case.expected_error_paths, key=json.dumps),
    ), f"{body}\n{result.plan}"
