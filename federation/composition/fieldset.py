"""FieldSets (`@key(fields:)`, `@requires`, `@provides`) parsed and walked over one subgraph."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from graphql import (
    FieldNode,
    GraphQLSyntaxError,
    InlineFragmentNode,
    OperationDefinitionNode,
    SelectionSetNode,
    parse,
)

from .model import FieldDef, Subgraph, named_type

__all__ = ["FieldSetStep", "field_set_paths", "parse_field_set", "walk_field_set"]


def parse_field_set(fields: str) -> SelectionSetNode | None:
    """The selection set of a FieldSet string, or None when it does not parse."""
    try:
        document = parse("{" + fields + "}", no_location=True)
    except GraphQLSyntaxError:
        return None
    operation = document.definitions[0]
    if not isinstance(operation, OperationDefinitionNode):  # pragma: no cover - parse guarantees
        return None
    return operation.selection_set


@dataclass(frozen=True, slots=True)
class FieldSetStep:
    """One selected field: its parent type, name, its definition in the subgraph (None when the
    subgraph has no such field), whether it has arguments or a sub-selection."""

    parent: str
    name: str
    definition: FieldDef | None
    has_arguments: bool
    has_selection: bool
    depth: int


def walk_field_set(subgraph: Subgraph, type_name: str, fields: str) -> Iterator[FieldSetStep]:
    """Every field a FieldSet selects, depth first, resolved against the subgraph's types."""
    selection = parse_field_set(fields)
    if selection is not None:
        yield from _walk(subgraph, type_name, selection, 0)


def _walk(
    subgraph: Subgraph, type_name: str, selection: SelectionSetNode, depth: int
) -> Iterator[FieldSetStep]:
    tdef = subgraph.types.get(type_name)
    for node in selection.selections:
        if isinstance(node, InlineFragmentNode):
            condition = node.type_condition.name.value if node.type_condition else type_name
            yield from _walk(subgraph, condition, node.selection_set, depth)
            continue
        if not isinstance(node, FieldNode):
            continue
        name = node.name.value
        if name == "__typename":
            continue
        fdef = tdef.fields.get(name) if tdef is not None else None
        yield FieldSetStep(
            parent=type_name,
            name=name,
            definition=fdef,
            has_arguments=bool(node.arguments),
            has_selection=node.selection_set is not None,
            depth=depth,
        )
        if fdef is not None and node.selection_set is not None:
            yield from _walk(subgraph, named_type(fdef.type), node.selection_set, depth + 1)


def field_set_paths(subgraph: Subgraph, type_name: str, fields: str) -> set[tuple[str, str]]:
    """The (type, field) pairs a FieldSet selects in the subgraph."""
    return {(step.parent, step.name) for step in walk_field_set(subgraph, type_name, fields)}
