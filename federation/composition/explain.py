"""How a `SATISFIABILITY_ERROR` reads: the example query and the reasons, worded as Apollo's
composition words them, so that an error found by either reads the same."""

from __future__ import annotations

from collections.abc import Sequence

from graphql import (
    DocumentNode,
    FieldNode,
    InlineFragmentNode,
    NamedTypeNode,
    NameNode,
    OperationDefinitionNode,
    OperationType,
    SelectionNode,
    SelectionSetNode,
    print_ast,
)

__all__ = ["example_query", "unsatisfiable_message"]

_OPERATIONS = {
    "Query": OperationType.QUERY,
    "Mutation": OperationType.MUTATION,
    "Subscription": OperationType.SUBSCRIPTION,
}


def example_query(root: str, path: Sequence[str]) -> str:
    """The operation that selects `path` from `root` (`"... on X"` steps are fragments)."""
    selection: SelectionSetNode | None = None
    for step in reversed(path):
        node: SelectionNode
        if step.startswith("... on "):
            condition = NamedTypeNode(name=NameNode(value=step[len("... on ") :]))
            inner = selection or SelectionSetNode(selections=(_anything(),))
            node = InlineFragmentNode(type_condition=condition, selection_set=inner)
        else:
            node = FieldNode(name=NameNode(value=step), selection_set=selection)
        selection = SelectionSetNode(selections=(node,))
    operation = OperationDefinitionNode(
        operation=_OPERATIONS.get(root, OperationType.QUERY),
        selection_set=selection or SelectionSetNode(selections=(_typename(),)),
    )
    printed = print_ast(DocumentNode(definitions=(operation,)))
    # graphql-core prints an anonymous query as a bare selection set, as Apollo does; other
    # operations keep their keyword.
    return printed


def _typename() -> FieldNode:
    return FieldNode(name=NameNode(value="__typename"))


def _anything() -> FieldNode:
    # Apollo ends a path that fails at a type condition with "...": any selection fails there.
    return FieldNode(name=NameNode(value="..."))


def unsatisfiable_message(query: str, reasons: Sequence[tuple[str, Sequence[str]]]) -> str:
    """Apollo's wording: the query, then for each subgraph the plan could stand in, why not."""
    lines = [
        "The following supergraph API query:",
        query,
        "cannot be satisfied by the subgraphs because:",
    ]
    for graph, why in reasons:
        if len(why) == 1:
            lines.append(f'- from subgraph "{graph}": {why[0]}')
        else:
            lines.append(f'- from subgraph "{graph}":')
            lines += [f"  - {reason}" for reason in why]
    return "\n".join(lines)
