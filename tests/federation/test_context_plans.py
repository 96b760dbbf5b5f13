"""`@fromContext` plans beside Apollo's query planner (`@apollo/query-planner`, pinned in peers/).

No peer gateway here executes `@context` (@apollo/gateway plans its rewrites and never applies
them; Hive's Rust planner does not know the join `contextArguments`), so the answers are checked
against the subgraphs' data in the fixture sets, and the *plans* against Apollo's: for every
operation of the sets that use `@context`, each entity fetch that fills context
arguments reads them from the same ancestor (as many fields up), through the same field path,
as Apollo's `KeyRenamer` rewrites (`["..", "... on Store", "currency"]`) say.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from federation.operation import OperationCache
from federation.planning.plan import FetchNode, FlattenNode, PlanNode
from federation.planning.planner import QueryPlanner
from federation.supergraph.model import load_supergraph
from tests.fixtures.federation import cases as fixture_cases
from tests.peers_support import apollo_plan_details

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

#: (levels up, type condition or None, field path) of every rewrite of one fetch
Places = frozenset[tuple[int, str | None, tuple[str, ...]]]


def _operations(feature: str) -> dict[str, str]:
    """Each operation of the set, with the fragments it uses."""
    return {case.operation_name: case.document for case in fixture_cases.load_cases(feature)}


OPERATIONS = {
    (feature, name): text for feature in SETS for name, text in _operations(feature).items()
}


def _ours(
    node: PlanNode | None, path: tuple[str, ...] = ()
) -> list[tuple[tuple[str, ...], Places]]:
    if node is None:
        return []
    if isinstance(node, FlattenNode):
        return _ours(node.node, node.path)
    if isinstance(node, FetchNode):
        places = frozenset((r.levels, r.type_condition, r.path) for r in node.context_rewrites)
        return [(path, places)] if places else []
    children = getattr(node, "nodes", None)
    if children is None:  # a ConditionNode
        children = (getattr(node, "if_clause", None), getattr(node, "else_clause", None))
    return [found for child in children for found in _ours(child, path)]


def _apollo(fetches: list[dict[str, Any]]) -> list[tuple[tuple[str, ...], Places]]:
    out = []
    for fetch in fetches:
        places = set()
        for rewrite in fetch["rewrites"]:
            steps = list(rewrite["path"])
            levels = 0
            while steps and steps[0] == "..":
                steps.pop(0)
                levels += 1
            condition = None
            if steps and steps[0].startswith("... on "):
                condition = steps.pop(0)[len("... on ") :]
            places.add((levels, condition, tuple(steps)))
        out.append((tuple(fetch["path"]), frozenset(places)))
    return out


def _same_places(ours: Places, apollo: Places) -> bool:
    """Equal, except that Apollo names the context's type where the ancestor can only be of
    that type; edgegraph then leaves the condition out (None)."""
    loose = {(levels, path) for levels, _condition, path in apollo}
    if {(levels, path) for levels, _condition, path in ours} != loose:
        return False
    conditions = {(levels, path): {c for lv, c, p in apollo if (lv, p) == (levels, path)}
                  for levels, path in loose}  # fmt: skip
    return all(
        condition is None or condition in conditions[(levels, path)]
        for levels, condition, path in ours
    )


@pytest.mark.parametrize(("feature", "name"), sorted(OPERATIONS))
def test_context_rewrites_match_apollo(feature: str, name: str) -> None:
    if name in APOLLO_WRONG:
        pytest.skip(APOLLO_WRONG[name])
    sdl = (FIXTURES / feature / "supergraph.graphql").read_text()
    supergraph = load_supergraph(sdl)
    prepared = OperationCache(supergraph.api_schema).prepare(OPERATIONS[(feature, name)], name)
    plan = QueryPlanner(supergraph).plan(prepared.operation, prepared.fragments)
    ours = _ours(plan.node)
    apollo = _apollo(apollo_plan_details(sdl, OPERATIONS[(feature, name)], name)["contextRewrites"])
    # Apollo may fill two fields' arguments in one fetch where edgegraph has two at one path:
    # compare what each flatten path reads, all fetches there together.
    by_path_ours: dict[tuple[str, ...], Places] = {}
    for path, places in ours:
        by_path_ours[path] = by_path_ours.get(path, frozenset()) | places
    by_path_apollo: dict[tuple[str, ...], Places] = {}
    for path, places in apollo:
        by_path_apollo[path] = by_path_apollo.get(path, frozenset()) | places
    assert by_path_ours.keys() == by_path_apollo.keys(), (by_path_ours, by_path_apollo)
    for path, places in by_path_ours.items():
        assert _same_places(places, by_path_apollo[path]), (path, places, by_path_apollo[path])
