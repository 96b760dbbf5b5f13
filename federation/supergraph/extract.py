"""A subgraph's own schema, extracted from the supergraph's `join__` records.

The planner must never send a subgraph an operation that fails the subgraph's own validation:
tests validate every planned fetch against this schema. It holds what the subgraph declared, as
far as the supergraph records it: its types (an `@interfaceObject` as an object type), its fields
(`@external` ones included, typed as `@join__field(type:)` says), the interfaces each type
implements there, its union members and enum values, its input types, `@inaccessible` elements
too, and the federation additions (`_Any`, `_Service`, `_Entity`, `_entities`, `_service`).
What composition dropped is not there: an overridden field nothing uses any more, or an input
field only some subgraphs declare.

The schema is built by graphql-core from a document of definition nodes taken from the
supergraph's own, with the supergraph's directives removed.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from graphql import (
    ConstDirectiveNode,
    DefinitionNode,
    DirectiveDefinitionNode,
    DirectiveLocation,
    DocumentNode,
    EnumTypeDefinitionNode,
    EnumValueDefinitionNode,
    FieldDefinitionNode,
    GraphQLArgument,
    GraphQLDirective,
    GraphQLField,
    GraphQLInputField,
    GraphQLSchema,
    InputObjectTypeDefinitionNode,
    InputValueDefinitionNode,
    InterfaceTypeDefinitionNode,
    NamedTypeNode,
    NameNode,
    ObjectTypeDefinitionNode,
    OperationType,
    OperationTypeDefinitionNode,
    ScalarTypeDefinitionNode,
    SchemaDefinitionNode,
    StringValueNode,
    TypeDefinitionNode,
    UnionTypeDefinitionNode,
    build_ast_schema,
    get_named_type,
    parse,
    parse_type,
    specified_directives,
    specified_scalar_types,
)
from graphql.language import Node

from federation.errors import SupergraphError
from federation.supergraph.model import FieldMeta, Supergraph, TypeMeta

__all__ = ["extract_subgraph_document", "extract_subgraph_schema"]

_BUILT_IN_SCALARS = frozenset(specified_scalar_types)
#: directives every schema knows; the only ones kept on extracted definitions
_BUILT_IN_DIRECTIVES = frozenset(directive.name for directive in specified_directives)
_EXECUTABLE_LOCATIONS = frozenset(
    {
        DirectiveLocation.QUERY,
        DirectiveLocation.MUTATION,
        DirectiveLocation.SUBSCRIPTION,
        DirectiveLocation.FIELD,
        DirectiveLocation.FRAGMENT_DEFINITION,
        DirectiveLocation.FRAGMENT_SPREAD,
        DirectiveLocation.INLINE_FRAGMENT,
        DirectiveLocation.VARIABLE_DEFINITION,
    }
)
_OPERATIONS = {
    "query": OperationType.QUERY,
    "mutation": OperationType.MUTATION,
    "subscription": OperationType.SUBSCRIPTION,
}
_PLUMBING = parse("scalar _Any\n\ntype _Service { sdl: String }", no_location=True).definitions
_SERVICE_FIELD = "type Query { _service: _Service! }"
_ENTITIES_FIELD = "type Query { _entities(representations: [_Any!]!): [_Entity]! }"


def extract_subgraph_schema(supergraph: Supergraph, graph: str) -> GraphQLSchema:
    """The schema `graph` validates its operations against, as the supergraph records it."""
    return build_ast_schema(extract_subgraph_document(supergraph, graph))


def extract_subgraph_document(supergraph: Supergraph, graph: str) -> DocumentNode:
    """The SDL document of `graph`'s own schema: one definition node per type it has."""
    if graph not in supergraph.graphs:
        raise SupergraphError(f"no subgraph {graph!r} in the supergraph")
    return _Extraction(supergraph, graph).document()


class _Extraction:
    """One graph's view of the supergraph: which types, fields, members and values it has."""

    def __init__(self, supergraph: Supergraph, graph: str) -> None:
        self.supergraph = supergraph
        self.graph = graph
        self.query_root = supergraph.root_types.get("query", "Query")
        self.kept = self._kept_types()

    # -- what the graph has -------------------------------------------------------------------

    def _kept_types(self) -> set[str]:
        """The graph's types, minus those left with nothing in them (and, in turn, whatever
        only refers to those): a supergraph written by hand may give a graph a type and none
        of its fields."""
        kept = {
            name
            for name, meta in self.supergraph.types.items()
            if name not in _BUILT_IN_SCALARS
            and (not meta.in_graphs or self.graph in meta.in_graphs)
        }
        while True:
            self.kept = kept
            empty = {
                name
                for name in kept
                if name != self.query_root and not self._has_content(self.supergraph.types[name])
            }
            if not empty:
                return kept
            kept = kept - empty

    def _has_content(self, meta: TypeMeta) -> bool:
        if meta.kind == "UNION":
            return bool(self._members(meta))
        if meta.kind == "ENUM":
            return bool(self._enum_values(meta))
        if meta.kind == "SCALAR":
            return True
        return bool(self._fields(meta))

    def _known(self, name: str) -> bool:
        return name in _BUILT_IN_SCALARS or name in self.kept

    def _fields(self, meta: TypeMeta) -> list[FieldMeta]:
        """The fields `graph` declares on the type whose types (and arguments) it has."""
        definition = self.supergraph.schema.get_type(meta.name)
        defined: Mapping[str, GraphQLField | GraphQLInputField] = getattr(definition, "fields", {})
        out: list[FieldMeta] = []
        for name, field in meta.fields.items():
            if not self._field_in_graph(field):
                continue
            arguments: Mapping[str, GraphQLArgument] = getattr(defined[name], "args", {})
            if self._known(self._field_type(field).strip("[]!")) and all(
                self._known(get_named_type(argument.type).name) for argument in arguments.values()
            ):
                out.append(field)
        return out

    def _field_in_graph(self, field: FieldMeta) -> bool:
        """A field with `@join__field`s is in the graphs they name (external ones included);
        without any, it is where it resolves (every graph of its type, or the owner's)."""
        if field.in_graphs:
            return self.graph in field.in_graphs
        return self.graph in field.resolvable_in

    def _field_type(self, field: FieldMeta) -> str:
        in_graph = field.in_graphs.get(self.graph)
        return in_graph.type if in_graph is not None and in_graph.type else field.type

    def _members(self, meta: TypeMeta) -> list[str]:
        members = self.supergraph.possible_types(meta.name, self.graph)
        definition = self.supergraph.schema.get_type(meta.name)
        ordered = [member.name for member in getattr(definition, "types", ())]
        return [name for name in ordered if name in members and name in self.kept]

    def _enum_values(self, meta: TypeMeta) -> list[str]:
        return [
            value
            for value, graphs in meta.enum_values.items()
            if not graphs or self.graph in graphs
        ]

    def _interfaces(self, meta: TypeMeta) -> list[str]:
        """The interfaces the type implements in this graph that are interfaces there (an
        `@interfaceObject` is an object type in its graph: nothing implements it)."""
        declared = meta.implements.get(self.graph, frozenset())
        definition = self.supergraph.schema.get_type(meta.name)
        out: list[str] = []
        for interface in getattr(definition, "interfaces", ()):
            other = self.supergraph.types.get(interface.name)
            if (
                interface.name in declared
                and interface.name in self.kept
                and other is not None
                and self.graph not in other.interface_object_in
            ):
                out.append(interface.name)
        return out

    def _is_object(self, meta: TypeMeta) -> bool:
        return meta.kind == "OBJECT" or self.graph in meta.interface_object_in

    def _entities(self) -> list[str]:
        """Object types (interface objects included) with a key in this graph: `_Entity`."""
        return [
            name
            for name, meta in self.supergraph.types.items()
            if name in self.kept
            and self._is_object(meta)
            and meta.in_graphs.get(self.graph) is not None
            and meta.in_graphs[self.graph].keys
        ]

    # -- definition nodes ---------------------------------------------------------------------

    def document(self) -> DocumentNode:
        entities = self._entities()
        root_fields = [_field_node_of(_SERVICE_FIELD)]
        if entities:
            root_fields.insert(0, _field_node_of(_ENTITIES_FIELD))
        definitions: list[DefinitionNode] = [self._schema_definition()]
        definitions += self._directive_definitions()
        has_query = False
        for name, meta in self.supergraph.types.items():
            if name not in self.kept:
                continue
            if name == self.query_root:
                has_query = True
                definitions.append(self._type_node(meta, extra_fields=root_fields))
            else:
                definitions.append(self._type_node(meta))
        if not has_query:
            definitions.append(_object_node(self.query_root, (), tuple(root_fields), None))
        definitions += _PLUMBING
        if entities:
            definitions.append(
                UnionTypeDefinitionNode(
                    name=_name("_Entity"), directives=(), types=_named_types(entities)
                )
            )
        return DocumentNode(definitions=tuple(definitions))

    def _schema_definition(self) -> SchemaDefinitionNode:
        roots = {"query": self.query_root} | {
            kind: name
            for kind, name in self.supergraph.root_types.items()
            if kind != "query" and name in self.kept
        }
        return SchemaDefinitionNode(
            directives=(),
            operation_types=tuple(
                OperationTypeDefinitionNode(
                    operation=_OPERATIONS[kind], type=NamedTypeNode(name=_name(name))
                )
                for kind, name in roots.items()
            ),
        )

    def _directive_definitions(self) -> list[DirectiveDefinitionNode]:
        """The supergraph's executable directives (composition keeps those every subgraph
        defines), which a fetch may carry from the client's operation."""
        out: list[DirectiveDefinitionNode] = []
        for directive in self.supergraph.schema.directives:
            if directive.name in _BUILT_IN_DIRECTIVES or not _executable(directive):
                continue
            node = directive.ast_node
            if node is None or not all(
                self._known(get_named_type(argument.type).name)
                for argument in directive.args.values()
            ):
                continue
            out.append(
                DirectiveDefinitionNode(
                    description=node.description,
                    name=node.name,
                    arguments=tuple(_input_value(argument) for argument in node.arguments or ()),
                    repeatable=node.repeatable,
                    locations=tuple(
                        location
                        for location in node.locations
                        if DirectiveLocation[location.value] in _EXECUTABLE_LOCATIONS
                    ),
                )
            )
        return out

    def _type_node(
        self, meta: TypeMeta, extra_fields: list[FieldDefinitionNode] | None = None
    ) -> TypeDefinitionNode:
        definition = self.supergraph.schema.get_type(meta.name)
        description = getattr(getattr(definition, "ast_node", None), "description", None)
        if meta.kind in ("OBJECT", "INTERFACE"):
            fields = tuple(self._field_node(field) for field in self._fields(meta))
            fields += tuple(extra_fields or ())
            interfaces = _named_types(self._interfaces(meta))
            if self._is_object(meta):
                return _object_node(meta.name, interfaces, fields, description)
            return InterfaceTypeDefinitionNode(
                description=description,
                name=_name(meta.name),
                interfaces=interfaces,
                directives=(),
                fields=fields,
            )
        if meta.kind == "UNION":
            return UnionTypeDefinitionNode(
                description=description,
                name=_name(meta.name),
                directives=(),
                types=_named_types(self._members(meta)),
            )
        if meta.kind == "ENUM":
            values = getattr(definition, "values", {})
            return EnumTypeDefinitionNode(
                description=description,
                name=_name(meta.name),
                directives=(),
                values=tuple(
                    _enum_value(_ast(values[name].ast_node, f"enum value {meta.name}.{name}"))
                    for name in self._enum_values(meta)
                ),
            )
        if meta.kind == "INPUT_OBJECT":
            return InputObjectTypeDefinitionNode(
                description=description,
                name=_name(meta.name),
                directives=(),
                fields=tuple(
                    _input_value(self._definition_node(field)) for field in self._fields(meta)
                ),
            )
        return ScalarTypeDefinitionNode(
            description=description,
            name=_name(meta.name),
            directives=_built_in_directives(getattr(definition, "ast_node", None)),
        )

    def _definition_node(self, field: FieldMeta) -> Node:
        definition = self.supergraph.schema.get_type(field.parent)
        fields: Mapping[str, GraphQLField | GraphQLInputField] = getattr(definition, "fields", {})
        return _ast(fields[field.name].ast_node, f"field {field.parent}.{field.name}")

    def _field_node(self, field: FieldMeta) -> FieldDefinitionNode:
        node = self._definition_node(field)
        if not isinstance(node, FieldDefinitionNode):
            raise SupergraphError(f"field {field.parent}.{field.name}: not an output field")
        in_graph = field.in_graphs.get(self.graph)
        arguments = [_input_value(argument) for argument in node.arguments or ()]
        # A `@fromContext` argument is the subgraph's, gone from the supergraph field.
        arguments += [
            InputValueDefinitionNode(name=_name(context.name), type=parse_type(context.type))
            for context in (in_graph.context_arguments if in_graph is not None else ())
        ]
        return FieldDefinitionNode(
            description=node.description,
            name=node.name,
            arguments=tuple(arguments),
            type=parse_type(in_graph.type) if in_graph is not None and in_graph.type else node.type,
            directives=_built_in_directives(node),
        )


def _ast(node: Node | None, where: str) -> Node:
    if node is None:  # the supergraph schema is built from its SDL: every element has a node
        raise SupergraphError(f"{where}: no definition in the supergraph SDL")
    return node


def _executable(directive: GraphQLDirective) -> bool:
    return any(location in _EXECUTABLE_LOCATIONS for location in directive.locations)


def _name(value: str) -> NameNode:
    return NameNode(value=value)


def _named_types(names: Iterable[str]) -> tuple[NamedTypeNode, ...]:
    return tuple(NamedTypeNode(name=_name(name)) for name in names)


def _object_node(
    name: str,
    interfaces: tuple[NamedTypeNode, ...],
    fields: tuple[FieldDefinitionNode, ...],
    description: StringValueNode | None,
) -> ObjectTypeDefinitionNode:
    return ObjectTypeDefinitionNode(
        description=description,
        name=_name(name),
        interfaces=interfaces,
        directives=(),
        fields=fields,
    )


def _field_node_of(sdl: str) -> FieldDefinitionNode:
    definition = parse(sdl, no_location=True).definitions[0]
    if not isinstance(definition, ObjectTypeDefinitionNode) or not definition.fields:
        raise TypeError(f"not a type with a field: {sdl}")
    return definition.fields[0]


def _input_value(node: Node) -> InputValueDefinitionNode:
    if not isinstance(node, InputValueDefinitionNode):
        raise SupergraphError(f"not an argument or input field: {node}")
    return InputValueDefinitionNode(
        description=node.description,
        name=node.name,
        type=node.type,
        default_value=node.default_value,
        directives=_built_in_directives(node),
    )


def _enum_value(node: Node) -> EnumValueDefinitionNode:
    if not isinstance(node, EnumValueDefinitionNode):
        raise SupergraphError(f"not an enum value: {node}")
    return EnumValueDefinitionNode(
        description=node.description, name=node.name, directives=_built_in_directives(node)
    )


def _built_in_directives(node: Node | None) -> tuple[ConstDirectiveNode, ...]:
    """`@deprecated`, `@specifiedBy`, `@oneOf`: the supergraph's own directives go."""
    directives: Iterable[ConstDirectiveNode] = getattr(node, "directives", None) or ()
    return tuple(d for d in directives if d.name.value in _BUILT_IN_DIRECTIVES)
