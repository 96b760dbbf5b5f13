"""How a `SATISFIABILITY_ERROR` reads: the example query and the reasons, worded as Apollo's
composition words them, so that an error found by either reads the same."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from graphql import (
    BooleanValueNode,
    DocumentNode,
    EnumValueNode,
    FieldNode,
    FloatValueNode,
    InlineFragmentNode,
    IntValueNode,
    ListTypeNode,
    ListValueNode,
    NamedTypeNode,
    NameNode,
    NonNullTypeNode,
    ObjectFieldNode,
    ObjectValueNode,
    OperationDefinitionNode,
    OperationType,
    SelectionNode,
    SelectionSetNode,
    StringValueNode,
    TypeNode,
    ValueNode,
    parse,
    print_ast,
)

from .merged import MergedField, MergedType

__all__ = ["example_query", "unsatisfiable_message", "witness_field"]

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
            field = _field(step)
            node = FieldNode(name=field.name, arguments=field.arguments, selection_set=selection)
        selection = SelectionSetNode(selections=(node,))
    operation = OperationDefinitionNode(
        operation=_OPERATIONS.get(root, OperationType.QUERY),
        selection_set=selection or SelectionSetNode(selections=(_typename(),)),
    )
    printed = print_ast(DocumentNode(definitions=(operation,)))
    # graphql-core prints an anonymous query as a bare selection set, as Apollo does; other
    # operations keep their keyword.
    return printed


def _field(step: str) -> FieldNode:
    """A path step, `rating` or `product(id: "<any id>")`, as a field node."""
    if "(" not in step:
        return FieldNode(name=NameNode(value=step))
    operation = parse("{" + step + "}", no_location=True).definitions[0]
    return operation.selection_set.selections[0]  # type: ignore[attr-defined,no-any-return]


def witness_field(fdef: MergedField, types: Mapping[str, MergedType]) -> str:
    """A field as Apollo's example queries select it: every argument given a sample value."""
    args = [
        f"{a.name}: {print_ast(_witness(a.type, types))}" for a in fdef.args if not a.inaccessible
    ]
    return f"{fdef.name}({', '.join(args)})" if args else fdef.name


def _witness(type_node: TypeNode, types: Mapping[str, MergedType]) -> ValueNode:
    if isinstance(type_node, NonNullTypeNode):
        return _witness(type_node.type, types)
    if isinstance(type_node, ListTypeNode):
        return ListValueNode(values=())
    name = print_ast(type_node)
    scalars = {"Int": IntValueNode(value="0"), "Float": FloatValueNode(value="3.14"),
               "Boolean": BooleanValueNode(value=True), "ID": StringValueNode(value="<any id>"),
               "String": StringValueNode(value="A string value")}  # fmt: skip
    if name in scalars:
        return scalars[name]
    mtype = types.get(name)
    if mtype is not None and mtype.kind == "ENUM" and mtype.values:
        return EnumValueNode(value=next(iter(mtype.values)))
    if mtype is not None and mtype.kind == "INPUT_OBJECT":
        required = [
            f for f in mtype.input_fields.values()
            if isinstance(f.type, NonNullTypeNode) and f.default is None
        ]  # fmt: skip
        return ObjectValueNode(fields=tuple(
            ObjectFieldNode(name=NameNode(value=f.name), value=_witness(f.type, types))
            for f in required
        ))  # fmt: skip
    return StringValueNode(value="<some value>")


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
