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

__all__ = [
    "FieldSetStep",
    "field_set_paths",
    "implementations",
    "parse_field_set",
    "walk_field_set",
]


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
    subgraph has no such field), whether it has arguments or a sub-selection, and whether a field
    above it is `@external` (for an interface field: in some implementation of the subgraph)."""

    parent: str
    name: str
    definition: FieldDef | None
    has_arguments: bool
    has_selection: bool
    depth: int
    external_above: bool = False


def walk_field_set(subgraph: Subgraph, type_name: str, fields: str) -> Iterator[FieldSetStep]:
    """Every field a FieldSet selects, depth first, resolved against the subgraph's types."""
    selection = parse_field_set(fields)
    if selection is not None:
        yield from _walk(subgraph, type_name, selection, 0, False)


def _walk(
    subgraph: Subgraph, type_name: str, selection: SelectionSetNode, depth: int, above: bool
) -> Iterator[FieldSetStep]:
    tdef = subgraph.types.get(type_name)
    for node in selection.selections:
        if isinstance(node, InlineFragmentNode):
            condition = node.type_condition.name.value if node.type_condition else type_name
            yield from _walk(subgraph, condition, node.selection_set, depth, above)
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
            external_above=above,
        )
        if fdef is not None and node.selection_set is not None:
            below = (
                above or fdef.external or _external_in_implementations(subgraph, type_name, name)
            )
            yield from _walk(subgraph, named_type(fdef.type), node.selection_set, depth + 1, below)


def implementations(subgraph: Subgraph, interface: str) -> list[str]:
    """The object types of the subgraph that implement `interface`."""
    return [t.name for t in subgraph.types.values() if interface in t.interfaces]


def _external_in_implementations(subgraph: Subgraph, type_name: str, name: str) -> bool:
    # An interface field cannot be @external, but its implementations' fields can; Apollo then
    # reads what is selected below it as coming from an external field.
    tdef = subgraph.types.get(type_name)
    if tdef is None or tdef.kind != "INTERFACE":
        return False
    for impl in implementations(subgraph, type_name):
        fdef = subgraph.types[impl].fields.get(name)
        if fdef is not None and fdef.external:
            return True
    return False


def field_set_paths(
    subgraph: Subgraph, type_name: str, fields: str, *, implementations_too: bool = False
) -> set[tuple[str, str]]:
    """The (type, field) pairs a FieldSet selects in the subgraph; with `implementations_too`, a
    selected interface field also stands for that field in each implementation."""
    out: set[tuple[str, str]] = set()
    for step in walk_field_set(subgraph, type_name, fields):
        out.add((step.parent, step.name))
        if implementations_too and step.definition is not None:
            tdef = subgraph.types.get(step.parent)
            if tdef is not None and tdef.kind == "INTERFACE":
                for impl in implementations(subgraph, step.parent):
                    if step.name in subgraph.types[impl].fields:
                        out.add((impl, step.name))
    return out
