"""FieldSets (`key`, `requires`, `provides`): parsed with graphql-core, checked against a type."""

from __future__ import annotations

from graphql import (
    FieldNode,
    GraphQLInterfaceType,
    GraphQLNamedType,
    GraphQLObjectType,
    GraphQLSchema,
    GraphQLSyntaxError,
    GraphQLUnionType,
    InlineFragmentNode,
    OperationDefinitionNode,
    OperationType,
    SelectionSetNode,
    get_named_type,
    is_leaf_type,
    parse,
)

from federation.errors import SupergraphError

__all__ = ["parse_field_set"]


def parse_field_set(
    schema: GraphQLSchema, parent: GraphQLNamedType, fields: str, where: str
) -> SelectionSetNode:
    """Parse `fields` as the selection set `{ fields }` and check each field exists on `parent`.

    Nested selections are walked against the field types and inline fragments against their
    type condition. Raises SupergraphError prefixed with `where` on any problem.
    """
    try:
        document = parse("{" + fields + "}", no_location=True)
    except GraphQLSyntaxError as error:
        raise SupergraphError(
            f"{where}: FieldSet {fields!r} does not parse: {error.message}"
        ) from error
    operation = document.definitions[0]
    if (
        len(document.definitions) != 1
        or not isinstance(operation, OperationDefinitionNode)
        or operation.operation != OperationType.QUERY
    ):
        raise SupergraphError(f"{where}: FieldSet {fields!r} is not a plain selection set")
    _check(schema, parent, operation.selection_set, fields, where)
    return operation.selection_set


def _check(
    schema: GraphQLSchema,
    parent: GraphQLNamedType,
    selection_set: SelectionSetNode,
    fields: str,
    where: str,
) -> None:
    if not isinstance(parent, GraphQLObjectType | GraphQLInterfaceType | GraphQLUnionType):
        raise SupergraphError(
            f"{where}: FieldSet {fields!r} selects fields on {parent.name}, which has none"
        )
    for selection in selection_set.selections:
        if isinstance(selection, InlineFragmentNode):
            condition = selection.type_condition
            target = parent if condition is None else schema.get_type(condition.name.value)
            if target is None:
                raise SupergraphError(
                    f"{where}: FieldSet {fields!r} has a fragment on unknown type "
                    f"{condition.name.value if condition else '?'}"
                )
            _check(schema, target, selection.selection_set, fields, where)
            continue
        if not isinstance(selection, FieldNode):
            raise SupergraphError(f"{where}: FieldSet {fields!r} may not use fragment spreads")
        name = selection.name.value
        if name == "__typename":
            continue
        definition = None if isinstance(parent, GraphQLUnionType) else parent.fields.get(name)
        if definition is None:
            raise SupergraphError(
                f"{where}: FieldSet {fields!r} selects {parent.name}.{name}, which does not exist"
            )
        named = get_named_type(definition.type)
        if is_leaf_type(named):
            if selection.selection_set is not None:
                raise SupergraphError(
                    f"{where}: FieldSet {fields!r} selects subfields of leaf {parent.name}.{name}"
                )
        elif selection.selection_set is None:
            raise SupergraphError(
                f"{where}: FieldSet {fields!r} needs subfields for {parent.name}.{name}"
            )
        else:
            _check(schema, named, selection.selection_set, fields, where)
