"""Every planned fetch must validate against its subgraph's own schema (extracted from the
supergraph): a fetch that would not is a planner bug, found here and never sent."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from graphql import GraphQLSchema, parse, validate

from federation.planning.plan import (
    ConditionNode,
    FetchNode,
    FlattenNode,
    ParallelNode,
    PlanNode,
    QueryPlan,
    SequenceNode,
)
from federation.supergraph.extract import extract_subgraph_schema
from federation.supergraph.model import Supergraph

__all__ = ["assert_fetches_valid", "fetch_nodes", "subgraph_schema"]

#: supergraph SDL -> subgraph name -> its extracted schema (tests load one SDL many times)
_SCHEMAS: dict[str, dict[str, GraphQLSchema]] = {}
#: (supergraph SDL, subgraph, operation) already found valid: many tests plan the same fetch
_VALID: set[tuple[str, str, str]] = set()


def fetch_nodes(node: PlanNode | None) -> Iterator[FetchNode]:
    """Every fetch of a plan, in plan order."""
    if node is None:
        return
    if isinstance(node, FetchNode):
        yield node
    elif isinstance(node, FlattenNode):
        yield from fetch_nodes(node.node)
    elif isinstance(node, SequenceNode | ParallelNode):
        for child in node.nodes:
            yield from fetch_nodes(child)
    elif isinstance(node, ConditionNode):
        yield from fetch_nodes(node.if_clause)
        yield from fetch_nodes(node.else_clause)
    else:  # a new kind of node must not hide its fetches from validation
        raise TypeError(f"unknown plan node {type(node).__name__}")


def subgraph_schema(supergraph: Supergraph, graph: str) -> GraphQLSchema:
    """`graph`'s own schema, extracted once per supergraph SDL."""
    schemas = _SCHEMAS.setdefault(supergraph.sdl, {})
    schema = schemas.get(graph)
    if schema is None:
        schema = schemas[graph] = extract_subgraph_schema(supergraph, graph)
    return schema


def assert_fetches_valid(supergraph: Supergraph, plan: QueryPlan) -> None:
    """Fail the test, naming the subgraph, the operation and the errors, if any fetch of
    `plan` would fail its subgraph's validation."""
    for fetch in fetch_nodes(plan.node):
        seen = (supergraph.sdl, fetch.service_name, fetch.operation)
        if seen in _VALID:
            continue
        errors = validate(subgraph_schema(supergraph, fetch.service_name), parse(fetch.operation))
        if errors:
            pytest.fail(
                f"fetch to {fetch.service_name} fails its own validation:\n"
                + "\n".join(f"  {error.message}" for error in errors)
                + f"\n{fetch.operation}",
                pytrace=False,
            )
        _VALID.add(seen)
