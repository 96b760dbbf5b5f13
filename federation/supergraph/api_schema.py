"""The API schema: the supergraph as clients see it.

It is the supergraph's AST with the linked specs' elements (join, link, core, tag, inaccessible,
...), everything `@inaccessible` and the federation plumbing (`_entities`, `_Entity`, `_Any`, ...)
removed, rebuilt with `build_ast_schema`. Nothing is reordered.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import replace
from typing import TypeVar

from graphql import (
    ConstDirectiveNode,
    DefinitionNode,
    DirectiveDefinitionNode,
    DirectiveNode,
    DocumentNode,
    EnumTypeDefinitionNode,
    EnumTypeExtensionNode,
    FieldDefinitionNode,
    GraphQLError,
    GraphQLSchema,
    InputObjectTypeDefinitionNode,
    InputObjectTypeExtensionNode,
    InputValueDefinitionNode,
    InterfaceTypeDefinitionNode,
    InterfaceTypeExtensionNode,
    ListTypeNode,
    NamedTypeNode,
    NonNullTypeNode,
    ObjectTypeDefinitionNode,
    ObjectTypeExtensionNode,
    ScalarTypeDefinitionNode,
    SchemaDefinitionNode,
    SchemaExtensionNode,
    TypeDefinitionNode,
    TypeExtensionNode,
    TypeNode,
    UnionTypeDefinitionNode,
    UnionTypeExtensionNode,
    assert_valid_schema,
    build_ast_schema,
    specified_directives,
)

from federation.errors import SupergraphError

__all__ = ["EXECUTABLE_LOCATIONS", "derive_api_schema"]

#: the locations a client document can use (the rest belong to the type system)
EXECUTABLE_LOCATIONS = frozenset(
    {
        "QUERY",
        "MUTATION",
        "SUBSCRIPTION",
        "FIELD",
        "FRAGMENT_DEFINITION",
        "FRAGMENT_SPREAD",
        "INLINE_FRAGMENT",
        "VARIABLE_DEFINITION",
        "FRAGMENT_VARIABLE_DEFINITION",
    }
)
_SPECIFIED = frozenset(directive.name for directive in specified_directives)
#: what a subgraph schema defines for federation; a supergraph should not, but some carry them
_FEDERATION_TYPES = frozenset({"_Entity", "_Any", "_Service"})
_FEDERATION_SCALARS = frozenset({"FieldSet", "_FieldSet"})
_FEDERATION_ROOT_FIELDS = frozenset({"_entities", "_service"})

_Node = TypeVar("_Node", FieldDefinitionNode, InputValueDefinitionNode)


def derive_api_schema(
    document: DocumentNode,
    *,
    is_feature_type: Callable[[str], bool],
    is_feature_directive: Callable[[str], bool],
    inaccessible: str | None,
    query_type: str | None,
) -> GraphQLSchema:
    """Build and validate the API schema from the supergraph AST.

    `is_feature_type`/`is_feature_directive` say which names belong to a linked spec;
    `inaccessible` is the local name of `@inaccessible` (None when the supergraph has none).
    """
    return _ApiSchema(
        document, is_feature_type, is_feature_directive, inaccessible, query_type
    ).build()


class _ApiSchema:
    def __init__(
        self,
        document: DocumentNode,
        is_feature_type: Callable[[str], bool],
        is_feature_directive: Callable[[str], bool],
        inaccessible: str | None,
        query_type: str | None,
    ) -> None:
        self.document = document
        self.is_feature_directive = is_feature_directive
        self.inaccessible = inaccessible
        self.query_type = query_type
        # Plumbing: fields that point at these go away silently.
        self.internal: set[str] = set(_FEDERATION_TYPES)
        # Hidden: an accessible field that points at these is a composition error.
        self.hidden: set[str] = set()
        for definition in document.definitions:
            if not isinstance(definition, TypeDefinitionNode | TypeExtensionNode):
                continue
            name = definition.name.value
            if is_feature_type(name) or (
                name in _FEDERATION_SCALARS and isinstance(definition, ScalarTypeDefinitionNode)
            ):
                self.internal.add(name)
            elif self._is_inaccessible(definition.directives):
                self.hidden.add(name)

    def build(self) -> GraphQLSchema:
        definitions = [
            kept
            for definition in self.document.definitions
            if (kept := self._definition(definition)) is not None
        ]
        try:
            schema = build_ast_schema(DocumentNode(definitions=tuple(definitions)))
            assert_valid_schema(schema)
        except (GraphQLError, TypeError) as error:
            raise SupergraphError(f"API schema is invalid: {error}") from error
        return schema

    def _definition(self, definition: DefinitionNode) -> DefinitionNode | None:
        if isinstance(definition, DirectiveDefinitionNode):
            return self._directive_definition(definition)
        if isinstance(definition, SchemaDefinitionNode | SchemaExtensionNode):
            operation_types = tuple(
                operation
                for operation in definition.operation_types or ()
                if operation.type.name.value not in self.internal | self.hidden
            )
            if isinstance(definition, SchemaExtensionNode) and not operation_types:
                return None
            return replace(definition, directives=(), operation_types=operation_types)
        if not isinstance(definition, TypeDefinitionNode | TypeExtensionNode):
            return definition
        name = definition.name.value
        if name in self.internal or name in self.hidden:
            return None
        return self._type(definition)

    def _directive_definition(
        self, node: DirectiveDefinitionNode
    ) -> DirectiveDefinitionNode | None:
        name = node.name.value
        if name in _SPECIFIED:
            return node
        if self.is_feature_directive(name):
            return None
        # Type-system directives only matter to composition; executable ones stay usable.
        locations = tuple(loc for loc in node.locations if loc.value in EXECUTABLE_LOCATIONS)
        return replace(node, locations=locations) if locations else None

    def _type(
        self, node: TypeDefinitionNode | TypeExtensionNode
    ) -> TypeDefinitionNode | TypeExtensionNode:
        name = node.name.value
        node = replace(node, directives=self._directives(node.directives))
        if isinstance(
            node,
            ObjectTypeDefinitionNode
            | ObjectTypeExtensionNode
            | InterfaceTypeDefinitionNode
            | InterfaceTypeExtensionNode,
        ):
            fields = tuple(
                kept for field in node.fields or () if (kept := self._field(name, field))
            )
            interfaces = tuple(
                i for i in node.interfaces or () if i.name.value not in self.hidden | self.internal
            )
            return replace(node, fields=fields, interfaces=interfaces)
        if isinstance(node, UnionTypeDefinitionNode | UnionTypeExtensionNode):
            members = tuple(t for t in node.types or () if t.name.value not in self.hidden)
            if node.types and not members:
                raise SupergraphError(
                    f"union {name}: every member is @inaccessible, so the union must be too"
                )
            return replace(node, types=members)
        if isinstance(node, EnumTypeDefinitionNode | EnumTypeExtensionNode):
            values = tuple(
                replace(value, directives=self._directives(value.directives))
                for value in node.values or ()
                if not self._is_inaccessible(value.directives)
            )
            return replace(node, values=values)
        if isinstance(node, InputObjectTypeDefinitionNode | InputObjectTypeExtensionNode):
            inputs = self._inputs(f"input field {name}", node.fields)
            return replace(node, fields=inputs)
        return node

    def _field(self, parent: str, node: FieldDefinitionNode) -> FieldDefinitionNode | None:
        name = node.name.value
        if self._is_inaccessible(node.directives):
            return None
        if parent == self.query_type and name in _FEDERATION_ROOT_FIELDS:
            return None
        named = _named(node.type)
        if named in self.internal:
            return None
        if named in self.hidden:
            raise SupergraphError(
                f"field {parent}.{name}: returns @inaccessible type {named} "
                "but is not @inaccessible itself"
            )
        arguments = self._inputs(f"argument {parent}.{name}", node.arguments)
        return replace(node, directives=self._directives(node.directives), arguments=arguments)

    def _inputs(
        self, where: str, nodes: Iterable[InputValueDefinitionNode] | None
    ) -> tuple[InputValueDefinitionNode, ...]:
        kept: list[InputValueDefinitionNode] = []
        for node in nodes or ():
            label = f"{where}({node.name.value}:)"
            if self._is_inaccessible(node.directives):
                if isinstance(node.type, NonNullTypeNode) and node.default_value is None:
                    raise SupergraphError(f"{label}: is required, so it cannot be @inaccessible")
                continue
            named = _named(node.type)
            if named in self.hidden or named in self.internal:
                raise SupergraphError(f"{label}: has type {named}, which is not in the API schema")
            kept.append(replace(node, directives=self._directives(node.directives)))
        return tuple(kept)

    def _directives(
        self, directives: Iterable[ConstDirectiveNode] | None
    ) -> tuple[ConstDirectiveNode, ...]:
        return tuple(d for d in directives or () if d.name.value in _SPECIFIED)

    def _is_inaccessible(self, directives: Iterable[DirectiveNode] | None) -> bool:
        return self.inaccessible is not None and any(
            d.name.value == self.inaccessible for d in directives or ()
        )


def _named(node: TypeNode) -> str:
    while isinstance(node, ListTypeNode | NonNullTypeNode):
        node = node.type
    return node.name.value if isinstance(node, NamedTypeNode) else ""
