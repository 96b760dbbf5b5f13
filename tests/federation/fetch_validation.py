"""Every planned fetch must validate against its subgraph's own schema (extracted from the
supergraph): a fetch that would not is a planner bug, found here and never sent."""

from __future__ import annotations

from collections.abc import Iterator

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

__all__ = ["assert_fetches_valid", "fetch_nodes"]

#: id(supergraph) -> (the supergraph, kept alive so the id stays its own; schemas by subgraph)
_SCHEMAS: dict[int, tuple[Supergraph, dict[str, GraphQLSchema]]] = {}


def fetch_nodes(node: PlanNode | None) -> Iterator[FetchNode]:
    if isinstance(node, FetchNode):
        yield node
    elif isinstance(node, FlattenNode):
        yield node.node
    elif isinstance(node, SequenceNode | ParallelNode):
        for child in node.nodes:
            yield from fetch_nodes(child)
    elif isinstance(node, ConditionNode):
        yield from fetch_nodes(node.if_clause)
        yield from fetch_nodes(node.else_clause)


def assert_fetches_valid(supergraph: Supergraph, plan: QueryPlan) -> None:
    schemas = _SCHEMAS.setdefault(id(supergraph), (supergraph, {}))[1]
    for fetch in fetch_nodes(plan.node):
        schema = schemas.get(fetch.service_name)
        if schema is None:
            schema = schemas[fetch.service_name] = extract_subgraph_schema(
                supergraph, fetch.service_name
            )
        errors = validate(schema, parse(fetch.operation))
        assert not errors, (
            f"fetch to {fetch.service_name} fails its own validation: "
            f"{[error.message for error in errors]}\n{fetch.operation}"
        )
