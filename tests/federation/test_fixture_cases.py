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

from federation import engine as engine_module
from federation.engine import Engine
from federation.execution.merge import NULL_ENTITY
from federation.execution.shaping import shape_response
from federation.subgraphs.fetcher import HttpFetcher
from federation.supergraph.model import load_supergraph
from tests.federation.fetch_validation import assert_fetches_valid
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


def _silent_nulls(shaped: Any, merged: Any, errors: list[Any], path: list[Any]) -> list[Any]:
    """Paths of nulls in the answer that no subgraph returned and no error explains.

    A null is explained by an explicit null in the merged subgraph answers (or a null entity),
    or by an error at, above or below its path (below: a non-null child's null bubbled up to
    it); an error without a path explains every null.
    """
    if shaped is None:
        if merged is None:
            return []  # a subgraph's own null
        for error in errors:
            where = error.get("path")
            if (
                not isinstance(where, list)
                or where[: len(path)] == path
                or path[: len(where)] == where
            ):
                return []
        return [path]
    found: list[Any] = []
    if isinstance(shaped, dict):
        for key, value in shaped.items():
            inner = merged.get(key, _ABSENT) if isinstance(merged, dict) else _ABSENT
            if inner is _ABSENT and isinstance(merged, dict) and NULL_ENTITY in merged:
                inner = None  # the subgraph answered null for the whole entity
            found += _silent_nulls(value, inner, errors, [*path, key])
    elif isinstance(shaped, list):
        for index, item in enumerate(shaped):
            inner = merged[index] if isinstance(merged, list) and index < len(merged) else _ABSENT
            found += _silent_nulls(item, inner, errors, [*path, index])
    return found


_ABSENT: Any = object()


@pytest.mark.parametrize(
    ("composer", "batch"),
    [("apollo", True), ("hive", True), ("apollo", False)],
    ids=["apollo", "hive", "apollo-unbatched"],
)
@pytest.mark.parametrize("case", CASES)
async def test_fixture_case_matches_expected_answer(
    case: fixture_cases.FixtureCase, composer: str, batch: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    merged: list[Any] = []

    def spy(**kwargs: Any) -> dict[str, Any]:
        merged.append(kwargs["data"])
        return shape_response(**kwargs)

    monkeypatch.setattr(engine_module, "shape_response", spy)
    module = fixture_cases.subgraph_module(case.feature)
    refused = getattr(module, "HIVE_COMPOSITION_REFUSES", None)
    if composer == "hive" and refused:
        pytest.skip(refused)
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
        result = await engine.run(case.document, case.operation_name, case.variables)
    if result.plan is not None:
        assert_fetches_valid(supergraph, result.plan)
    body = result.body
    # No silent nulls: every null came from a subgraph or comes with an error.
    silent = _silent_nulls(
        body.get("data"), merged[0] if merged else None, body.get("errors", []), []
    )
    assert not silent, f"silent nulls at {silent}: {body}\n{result.plan}"
    assert (body.get("data"), _error_paths(body)) == (
        case.expected_data,
        sorted(case.expected_error_paths, key=json.dumps),
    ), f"{body}\n{result.plan}"
