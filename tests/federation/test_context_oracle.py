"""`@fromContext` answers against a one-schema oracle, over generated queries.

No peer gateway runs `@context` here (test_context_plans.py says why), so the `context` set's
answers are also checked against `tests/fixtures/federation/context/monolith.py`: the same API
as one plain strawberry schema, in which a product is built by its parent and carries that
parent's currency and tax rate. Every query the differential test generates for the set
(seeded hypothesis-graphql queries and structured ones, with aliases, fragments and variable
conditions), and the set's own cases, must get the same data from the gateway, planning context
rewrites over three subgraphs, as from the oracle, and no errors from either.
"""

from __future__ import annotations

from typing import Any

import httpx
from graphql import lexicographic_sort_schema, print_schema
from strawberry.asgi import GraphQL

from federation.engine import Engine
from federation.subgraphs.fetcher import HttpFetcher
from federation.supergraph.model import load_supergraph
from tests.federation.test_differential import generated_queries
from tests.fixtures.federation import cases as fixture_cases
from tests.fixtures.federation.context.monolith import SCHEMA as ORACLE

FEATURE = "context"


def test_oracle_has_the_supergraphs_api() -> None:
    api = load_supergraph(fixture_cases.supergraph_sdl(FEATURE)).api_schema
    assert print_schema(lexicographic_sort_schema(api)) == print_schema(
        lexicographic_sort_schema(ORACLE._schema)
    )


async def test_generated_queries_get_the_oracles_answers() -> None:
    requests: list[tuple[str, str | None, dict[str, Any]]] = [
        (case.document, case.operation_name, case.variables)
        for case in fixture_cases.load_cases(FEATURE)
    ]
    requests += [(query, None, variables) for query, variables in generated_queries(FEATURE)]
    supergraph = load_supergraph(fixture_cases.supergraph_sdl(FEATURE))
    module = fixture_cases.subgraph_module(FEATURE)
    mounts: dict[str, httpx.AsyncBaseTransport] = {
        f"http://{name}": httpx.ASGITransport(app=GraphQL(schema))
        for name, schema in module.SUBGRAPHS.items()
    }
    disagreements: list[str] = []
    contextual = 0
    async with httpx.AsyncClient(mounts=mounts) as client:
        urls = {name: graph.url for name, graph in supergraph.graphs.items()}
        engine = Engine(supergraph, HttpFetcher(urls, client=client))
        for query, name, variables in requests:
            ours = (await engine.run(query, name, variables)).body
            expected = await ORACLE.execute(query, variable_values=variables, operation_name=name)
            assert not expected.errors, (query, expected.errors)
            contextual += "price" in query or "gross" in query
            if ours != {"data": expected.data}:
                disagreements.append(
                    f"{query}\n{variables}\n  edgegraph {ours}\n  oracle {expected.data}"
                )
    assert not disagreements, f"{len(disagreements)} of {len(requests)}:\n" + "\n".join(
        disagreements
    )
    assert contextual >= 20, f"only {contextual} queries ask for a contextual field"
