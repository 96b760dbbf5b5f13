"""Freeze planned fetch groups into plan nodes (Sequence, Parallel, Flatten, Condition)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from graphql import VariableDefinitionNode

from federation.planning.fetch_group import FetchGroup
from federation.planning.normalize import Condition
from federation.planning.optimize.duplicate_aliases import drop_duplicate_aliases
from federation.planning.plan import (
    ConditionNode,
    FetchNode,
    FlattenNode,
    OperationKind,
    ParallelNode,
    PlanNode,
    QueryPlan,
    SequenceNode,
)

__all__ = ["emit_plan"]


def emit_plan(
    groups: Sequence[FetchGroup],
    variable_types: Mapping[str, VariableDefinitionNode],
    kind: OperationKind,
) -> QueryPlan:
    """Turn the group DAG into a plan: dependents run after their parents, siblings in parallel."""
    if not groups:
        return QueryPlan(None)
    by_id = {group.id: group for group in groups}
    parents = _reduced_parents(groups, by_id)
    children: dict[int, list[FetchGroup]] = {group.id: [] for group in groups}
    for group in groups:
        for parent in sorted(parents[group.id]):
            children[parent].append(group)
    nodes = {group.id: _node(group, variable_types, kind) for group in groups}
    roots = [group for group in groups if not parents[group.id]]
    tree_shaped = all(len(p) <= 1 for p in parents.values())

    def subtree(group: FetchGroup, applied: tuple[Condition, ...]) -> PlanNode:
        kids = [subtree(child, group.conditions) for child in children[group.id]]
        body: PlanNode = nodes[group.id]
        if kids:
            body = _sequence([body, _parallel(kids)])
        return _wrap(body, group.conditions, applied)

    def levels(members: list[FetchGroup]) -> PlanNode:
        depth: dict[int, int] = {}

        def depth_of(group: FetchGroup) -> int:
            if group.id not in depth:
                depth[group.id] = 1 + max(
                    (depth_of(by_id[p]) for p in parents[group.id]), default=-1
                )
            return depth[group.id]

        stages: dict[int, list[PlanNode]] = {}
        for group in members:
            stages.setdefault(depth_of(group), []).append(
                _wrap(nodes[group.id], group.conditions, ())
            )
        return _sequence([_parallel(stages[level]) for level in sorted(stages)])

    if kind == "mutation":
        # Each mutation root field runs, with everything it needs, before the next one starts.
        parts: list[PlanNode] = []
        for root in roots:
            members = _descendants(root, children)
            parts.append(subtree(root, ()) if tree_shaped else levels(members))
        return QueryPlan(_sequence(parts))
    if tree_shaped:
        return QueryPlan(_parallel([subtree(root, ()) for root in roots]))
    return QueryPlan(levels(list(groups)))


def _node(
    group: FetchGroup, variable_types: Mapping[str, VariableDefinitionNode], kind: OperationKind
) -> PlanNode:
    fetch: FetchNode = group.to_fetch_node(variable_types, "query" if group.is_entity else kind)
    fetch = drop_duplicate_aliases(fetch)
    if group.is_entity:
        return FlattenNode(group.merge_at, fetch)
    return fetch


def _reduced_parents(
    groups: Sequence[FetchGroup], by_id: Mapping[int, FetchGroup]
) -> dict[int, set[int]]:
    """Parents minus those already implied through another parent (transitive reduction)."""
    ancestors: dict[int, set[int]] = {}

    def ancestors_of(group_id: int) -> set[int]:
        if group_id not in ancestors:
            found: set[int] = set()
            for parent in by_id[group_id].parents - {group_id}:
                found.add(parent)
                found |= ancestors_of(parent)
            ancestors[group_id] = found
        return ancestors[group_id]

    reduced: dict[int, set[int]] = {}
    for group in groups:
        direct = group.parents - {group.id}
        implied: set[int] = set()
        for parent in direct:
            implied |= ancestors_of(parent)
        reduced[group.id] = direct - implied
    return reduced


def _descendants(root: FetchGroup, children: Mapping[int, list[FetchGroup]]) -> list[FetchGroup]:
    seen: dict[int, FetchGroup] = {}
    stack = [root]
    while stack:
        group = stack.pop()
        if group.id in seen:
            continue
        seen[group.id] = group
        stack += children[group.id]
    return sorted(seen.values(), key=lambda g: g.id)


def _wrap(
    body: PlanNode, conditions: tuple[Condition, ...], applied: tuple[Condition, ...]
) -> PlanNode:
    for variable, keep_if in reversed([c for c in conditions if c not in applied]):
        if keep_if:
            body = ConditionNode(variable, body, None)
        else:
            body = ConditionNode(variable, None, body)
    return body


def _sequence(nodes: list[PlanNode]) -> PlanNode:
    flat: list[PlanNode] = []
    for node in nodes:
        flat += node.nodes if isinstance(node, SequenceNode) else [node]
    return flat[0] if len(flat) == 1 else SequenceNode(tuple(flat))


def _parallel(nodes: list[PlanNode]) -> PlanNode:
    flat: list[PlanNode] = []
    for node in nodes:
        flat += node.nodes if isinstance(node, ParallelNode) else [node]
    return flat[0] if len(flat) == 1 else ParallelNode(tuple(flat))
