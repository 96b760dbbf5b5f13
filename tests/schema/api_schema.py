"""A hand-built stand-in for the composed API schema, to check device operations before the
gateway's composer exists: merge every subgraph's types, drop federation machinery."""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from graphql import (
    DocumentNode,
    FieldDefinitionNode,
    GraphQLSchema,
    NameNode,
    ObjectTypeDefinitionNode,
    TypeDefinitionNode,
    TypeInfo,
    TypeInfoVisitor,
    Visitor,
    build_ast_schema,
    get_named_type,
    parse,
    visit,
)
from graphql.language import FieldNode

__all__ = ["build_api_schema", "field_owners", "fields_used"]

_FEDERATION_FIELDS = frozenset({"_entities", "_service"})


def _is_federation_type(name: str) -> bool:
    return name.startswith("_") or "__" in name


def _directives(node: FieldDefinitionNode) -> set[str]:
    return {directive.name.value for directive in node.directives or ()}


def field_owners(sdls: Mapping[str, str]) -> dict[tuple[str, str], set[str]]:
    """(type, field) to the subgraphs that resolve it (so not where it is `@external`)."""
    owners: dict[tuple[str, str], set[str]] = {}
    for subgraph, sdl in sdls.items():
        for node in parse(sdl).definitions:
            if isinstance(node, ObjectTypeDefinitionNode):
                for field in node.fields or ():
                    if "external" not in _directives(field):
                        key = (node.name.value, field.name.value)
                        owners.setdefault(key, set()).add(subgraph)
    return owners


def build_api_schema(sdls: Iterable[str]) -> GraphQLSchema:
    """Every object type with the union of its fields over `sdls`; `@inaccessible` fields,
    `@external` stubs, `_entities`/`_service` and `_`-types left out, directives stripped."""
    fields: dict[str, dict[str, FieldDefinitionNode]] = {}
    others: dict[str, TypeDefinitionNode] = {}
    for sdl in sdls:
        for node in parse(sdl).definitions:
            if not isinstance(node, TypeDefinitionNode) or _is_federation_type(node.name.value):
                continue
            if not isinstance(node, ObjectTypeDefinitionNode):
                others.setdefault(node.name.value, node)
                continue
            merged = fields.setdefault(node.name.value, {})
            for field in node.fields or ():
                if field.name.value in _FEDERATION_FIELDS or _directives(field) & {
                    "inaccessible",
                    "external",
                }:
                    continue
                merged.setdefault(
                    field.name.value,
                    FieldDefinitionNode(
                        name=field.name, arguments=field.arguments, type=field.type, directives=()
                    ),
                )
    objects = [
        ObjectTypeDefinitionNode(
            name=NameNode(value=name),
            fields=tuple(by_name.values()),
            interfaces=(),
            directives=(),
        )
        for name, by_name in fields.items()
    ]
    return build_ast_schema(DocumentNode(definitions=(*objects, *others.values())))


def fields_used(schema: GraphQLSchema, document: DocumentNode) -> set[tuple[str, str]]:
    """Every (parent type, field) that `document` selects, `__typename` aside."""
    type_info = TypeInfo(schema)
    used: set[tuple[str, str]] = set()

    class Collect(Visitor):
        def enter_field(self, node: FieldNode, *_: object) -> None:
            parent = type_info.get_parent_type()
            if parent is not None and not node.name.value.startswith("__"):
                used.add((get_named_type(parent).name, node.name.value))

    visit(document, TypeInfoVisitor(type_info, Collect()))
    return used
