"""`@fromContext` plans beside Apollo's query planner (`@apollo/query-planner`, pinned in peers/).

No peer gateway here executes `@context` (@apollo/gateway plans its rewrites and never applies
them; Hive's Rust planner does not know the join `contextArguments`), so the answers are checked
against the subgraphs' data in the fixture sets, and the *plans* against Apollo's: for every
operation of the sets that use `@context` (their own and the differential test's generated
ones), edgegraph reads every context value from the same ancestor in the response, through the
same field path, as Apollo's `KeyRenamer` rewrites (`["..", "... on Store", "currency"]`) say,
whichever fetch reads it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from federation.operation import OperationCache
from federation.planning.plan import FetchNode, FlattenNode, PlanNode
from federation.planning.planner import QueryPlanner
from federation.supergraph.model import load_supergraph
from tests.federation.test_differential import generated_queries
from tests.fixtures.federation import cases as fixture_cases
from tests.peers_support import apollo_plans

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "federation"
#: the fixture sets whose fields take `@fromContext` arguments
SETS = [feature for feature in fixture_cases.features() if fixture_cases.uses_context(feature)]

#: operations whose Apollo plan is wrong, and why
APOLLO_WRONG = {
    "ContextFieldAliased": "Apollo drops the client's `currency: name`: its internal `currency` "
    "takes that response key",
    "ContextFieldsAliased": "Apollo drops the client's `zone: id` and `currency: id`: its "
    "internal `zone` and `currency` take those response keys",
}


def _operations(feature: str) -> dict[str, str]:
    """Each operation of the set, with the fragments it uses."""
    return {case.operation_name: case.document for case in fixture_cases.load_cases(feature)}


def _ancestor(path: tuple[str, ...], levels: int) -> tuple[str, ...]:
    """The response path `levels` fields above `path` (list levels do not count)."""
    steps = list(path)
    for _ in range(levels):
        while steps and steps[-1] == "@":
            steps.pop()
        if steps:
            steps.pop()
    return tuple(steps)


def _ours(node: PlanNode | None, path: tuple[str, ...] = ()) -> set[Any]:
    if node is None:
        return set()
    if isinstance(node, FlattenNode):
        return _ours(node.node, node.path)
    if isinstance(node, FetchNode):
        return {
            (_ancestor(path, r.levels), r.type_condition, r.path) for r in node.context_rewrites
        }
    children = getattr(node, "nodes", None)
    if children is None:  # a ConditionNode
        children = (getattr(node, "if_clause", None), getattr(node, "else_clause", None))
    return {found for child in children for found in _ours(child, path)}


def _apollo(fetches: list[dict[str, Any]]) -> set[Any]:
    out = set()
    for fetch in fetches:
        for rewrite in fetch["rewrites"]:
            steps = list(rewrite["path"])
            levels = 0
            while steps and steps[0] == "..":
                steps.pop(0)
                levels += 1
            condition = None
            if steps and steps[0].startswith("... on "):
                condition = steps.pop(0)[len("... on ") :]
            out.add((_ancestor(tuple(fetch["path"]), levels), condition, tuple(steps)))
    return out


def _same_places(ours: set[Any], apollo: set[Any]) -> bool:
    """The same values read from the same ancestors. Where one side names the ancestor's type
    and the other leaves it out (Apollo does on the entity itself), that is the same place;
    naming a different type is not."""
    if {(a, p) for a, _c, p in ours} != {(a, p) for a, _c, p in apollo}:
        return False
    named: dict[Any, set[str]] = {}
    for ancestor, condition, path in apollo:
        if condition is not None:
            named.setdefault((ancestor, path), set()).add(condition)
    return all(
        condition is None or (a, p) not in named or condition in named[(a, p)]
        for a, condition, p in ours
    )


@pytest.mark.parametrize("feature", SETS)
def test_context_rewrites_match_apollo(feature: str) -> None:
    """The set's own operations, then the differential's generated ones (seeded): every
    value edgegraph reads, from where it reads it, is what Apollo's plan reads."""
    sdl = (FIXTURES / feature / "supergraph.graphql").read_text()
    supergraph = load_supergraph(sdl)
    operations: list[tuple[str, str | None]] = [
        (text, name) for name, text in _operations(feature).items() if name not in APOLLO_WRONG
    ]
    operations += [(query, None) for query, _variables in generated_queries(feature)]
    apollo = apollo_plans(sdl, operations)
    cache = OperationCache(supergraph.api_schema)
    planner = QueryPlanner(supergraph)
    compared = 0
    disagreements: list[str] = []
    for (text, name), theirs in zip(operations, apollo, strict=True):
        assert "errors" not in theirs, (text, theirs)
        prepared = cache.prepare(text, name)
        ours = _ours(planner.plan(prepared.operation, prepared.fragments).node)
        places = _apollo(theirs["contextRewrites"])
        compared += bool(places)
        if not _same_places(ours, places):
            disagreements.append(
                f"{name or text}\n  edgegraph {sorted(ours)}\n  Apollo {sorted(places)}"
            )
    assert not disagreements, "\n".join(disagreements)
    assert compared >= 5, f"only {compared} operations read a context value"


def test_printed_plan_shows_where_each_context_value_comes_from() -> None:
    supergraph = load_supergraph((FIXTURES / "context" / "supergraph.graphql").read_text())
    prepared = OperationCache(supergraph.api_schema).prepare(
        "{ warehouses { stock { product { price } } } }", None
    )
    printed = str(QueryPlanner(supergraph).plan(prepared.operation, prepared.fragments))
    assert "price(currency: $contextualArgument_0)" in printed
    assert "$contextualArgument_0 <- ../../... on Warehouse/currency" in printed

