"""What an operation reads: the field coordinates and type names it touches.

Used by the registry's checks and by a gateway's usage reporter, so it imports graphql-core only.
"""

from __future__ import annotations

from typing import Any

from graphql import (
    DocumentNode,
    GraphQLSchema,
    TypeInfo,
    TypeInfoVisitor,
    Visitor,
    get_named_type,
    type_from_ast,
    visit,
)
from graphql.language import ArgumentNode, FieldNode, VariableDefinitionNode

__all__ = ["usage_of"]


def usage_of(document: DocumentNode, schema: GraphQLSchema) -> tuple[set[str], set[str]]:
    """The field coordinates (`Type.field`) and the type names an operation reads."""
    fields: set[str] = set()
    types: set[str] = set()
    type_info = TypeInfo(schema)

    class Collect(Visitor):
        def enter_field(self, node: FieldNode, *_args: Any) -> None:
            parent = type_info.get_parent_type()
            definition = type_info.get_field_def()
            if parent is None or definition is None:
                return
            fields.add(f"{parent.name}.{node.name.value}")
            types.add(parent.name)
            types.add(get_named_type(definition.type).name)

        def enter_argument(self, node: ArgumentNode, *_args: Any) -> None:
            argument = type_info.get_argument()
            if argument is not None:
                types.add(get_named_type(argument.type).name)

        def enter_variable_definition(self, node: VariableDefinitionNode, *_args: Any) -> None:
            declared = type_from_ast(schema, node.type)
            if declared is not None:
                types.add(get_named_type(declared).name)

    visit(document, TypeInfoVisitor(type_info, Collect()))
    return fields, types
