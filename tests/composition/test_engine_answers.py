"""The engine serving edgegraph's supergraph answers exactly as it does serving Apollo's.

For every case of every `tests/fixtures/federation` feature, the same operation runs through an
in-process engine twice, over the feature's real strawberry subgraphs: once with the supergraph
`compose()` wrote, once with the one `@apollo/composition` wrote for the same subgraph SDLs.
"""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from strawberry.asgi import GraphQL

from federation.composition import compose
from federation.engine import Engine
from federation.subgraphs.fetcher import HttpFetcher
from federation.supergraph.model import Supergraph, load_supergraph
from tests.composition.support import federation_sources
from tests.fixtures.federation import cases as fixture_cases

FEATURES = fixture_cases.features()


async def _answers(supergraph: Supergraph, feature: str) -> dict[str, Any]:
    module = fixture_cases.subgraph_module(feature)
    mounts: dict[str, httpx.AsyncBaseTransport] = {
        f"http://{name}": httpx.ASGITransport(app=GraphQL(schema))
        for name, schema in module.SUBGRAPHS.items()
    }
    reset = fixture_cases.reset_hook(feature)
    answers: dict[str, Any] = {}
    async with httpx.AsyncClient(mounts=mounts) as client:
        urls = {name: graph.url for name, graph in supergraph.graphs.items()}
        engine = Engine(supergraph, HttpFetcher(urls, client=client))
        for case in fixture_cases.load_cases(feature):
            if reset is not None:
                reset()
            result = await engine.run(case.document, case.operation_name, case.variables)
            answers[case.operation_name] = result.body
    return answers


@pytest.mark.parametrize("feature", FEATURES)
async def test_engine_answers_same_on_our_supergraph_and_apollos(
    feature: str, apollo_results: dict[str, dict[str, Any]]
) -> None:
    ours = compose(federation_sources(feature))
    assert ours.supergraph_sdl is not None, ours.errors
    apollo_sdl = apollo_results[f"fed-{feature}"]["supergraphSdl"]
    our_answers = await _answers(load_supergraph(ours.supergraph_sdl), feature)
    apollo_answers = await _answers(load_supergraph(apollo_sdl), feature)
    assert our_answers == apollo_answers
    assert len(our_answers) == len(fixture_cases.load_cases(feature))
