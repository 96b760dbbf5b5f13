"""`@fromContext` answers against one-schema oracles, over generated queries.

No peer gateway runs `@context` here (test_context_plans.py says why), so each context set's
answers are also checked against its `monolith.py`: the same API as one plain strawberry schema,
in which a child is built by its parent and carries the parent's values (`context`: a product
priced in its store's or warehouse's currency and tax rate; `context_abstract`: a film titled
in its venue's locale, an event noted with its cinema's locale or park's region;
`context_requires`: an item shipped to its region's zone in its shop's currency). Every query
the differential test generates for the set (seeded hypothesis-graphql queries and structured
ones, with aliases, fragments and variable conditions), and the set's own cases, must get the
same data from the gateway, planning context rewrites over the subgraphs, as from the oracle.

Only `context_abstract` has an expected failure (the note for the park in region "north"), and
it fails in the oracle too: there the gateway's error paths must equal the oracle's. The other
sets must answer without errors on both sides.
"""

from __future__ import annotations

import importlib
import json
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
import strawberry
from graphql import FieldNode, GraphQLError, Visitor, lexicographic_sort_schema, parse, print_schema
from graphql import visit as visit_ast
from strawberry.asgi import GraphQL

from federation.engine import Engine
from federation.subgraphs.fetcher import HttpFetcher
from federation.supergraph.model import load_supergraph
from tests.federation.test_differential import generated_queries
from tests.fixtures.federation import cases as fixture_cases
from tests.fixtures.federation.context_abstract.subgraphs import NoteUnavailableError


@dataclass(frozen=True, slots=True)
class OracleSet:
    feature: str
    contextual_fields: frozenset[str]  # fields whose value comes from an ancestor's context
    min_contextual: int  # requests that must ask for one of them
    expected_error: type[Exception] | None = None  # the one failure the set provokes


SETS = [
    OracleSet("context", frozenset({"price", "gross"}), min_contextual=20),
    OracleSet(
        "context_abstract",
        frozenset({"title", "note"}),
        min_contextual=20,
        expected_error=NoteUnavailableError,
    ),
    OracleSet("context_requires", frozenset({"shippingCost"}), min_contextual=10),
]
PARAMS = [pytest.param(s, id=s.feature) for s in SETS]


def _oracle(feature: str) -> strawberry.Schema:
    module = importlib.import_module(f"tests.fixtures.federation.{feature}.monolith")
    schema: strawberry.Schema = module.SCHEMA
    return schema


def _field_names(query: str) -> set[str]:
    names: set[str] = set()

    class Collect(Visitor):
        def enter_field(self, node: FieldNode, *_args: Any) -> None:
            names.add(node.name.value)

    visit_ast(parse(query), Collect())
    return names


def _sorted_paths(paths: list[Any]) -> list[Any]:
    return sorted(paths, key=json.dumps)


def _oracle_error_paths(errors: list[GraphQLError] | None) -> list[Any]:
    return _sorted_paths([error.path for error in errors or ()])


@pytest.mark.parametrize("oracle_set", PARAMS)
def test_oracle_has_the_supergraphs_api(oracle_set: OracleSet) -> None:
    api = load_supergraph(fixture_cases.supergraph_sdl(oracle_set.feature)).api_schema
    assert print_schema(lexicographic_sort_schema(api)) == print_schema(
        lexicographic_sort_schema(_oracle(oracle_set.feature)._schema)
    )


@pytest.mark.parametrize("oracle_set", PARAMS)
async def test_generated_queries_get_the_oracles_answers(oracle_set: OracleSet) -> None:
    feature = oracle_set.feature
    oracle = _oracle(feature)
    requests: list[tuple[str, str | None, dict[str, Any]]] = [
        (case.document, case.operation_name, case.variables)
        for case in fixture_cases.load_cases(feature)
    ]
    requests += [(query, None, variables) for query, variables in generated_queries(feature)]
    supergraph = load_supergraph(fixture_cases.supergraph_sdl(feature))
    module = fixture_cases.subgraph_module(feature)
    mounts: dict[str, httpx.AsyncBaseTransport] = {
        f"http://{name}": httpx.ASGITransport(app=GraphQL(schema))
        for name, schema in module.SUBGRAPHS.items()
    }
    disagreements: list[str] = []
    contextual = 0
    with_errors = 0
    async with httpx.AsyncClient(mounts=mounts) as client:
        urls = {name: graph.url for name, graph in supergraph.graphs.items()}
        engine = Engine(supergraph, HttpFetcher(urls, client=client))
        for query, name, variables in requests:
            ours = (await engine.run(query, name, variables)).body
            expected = await oracle.execute(query, variable_values=variables, operation_name=name)
            for error in expected.errors or ():
                assert oracle_set.expected_error is not None, (query, expected.errors)
                assert isinstance(error.original_error, oracle_set.expected_error), (query, error)
            with_errors += bool(expected.errors)
            contextual += bool(_field_names(query) & oracle_set.contextual_fields)
            paths = _oracle_error_paths(expected.errors)
            got = (ours.get("data"), _sorted_paths([e.get("path") for e in ours.get("errors", [])]))
            if set(ours) - {"data", "errors"} or got != (expected.data, paths):
                disagreements.append(
                    f"{query}\n{variables}\n  edgegraph {ours}\n"
                    f"  oracle {expected.data} errors at {paths}"
                )
    assert not disagreements, f"{len(disagreements)} of {len(requests)}:\n" + "\n".join(
        disagreements
    )
    assert contextual >= oracle_set.min_contextual, (
        f"only {contextual} of {len(requests)} queries ask for a contextual field"
    )
    if oracle_set.expected_error is not None:
        assert with_errors, "no query met the failure the set expects"
