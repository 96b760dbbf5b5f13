"""Reading the join spec's directives off a built supergraph schema.

`JoinDirectives` knows the local names of the join elements (they may be renamed by `@link(as:)`)
and turns each directive application into coerced arguments, checking graphs and FieldSets on
the way. `federation.supergraph.model` builds the records from what it returns.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from graphql import (
    DirectiveNode,
    DocumentNode,
    EnumTypeDefinitionNode,
    EnumValueNode,
    GraphQLError,
    GraphQLInterfaceType,
    GraphQLNamedType,
    GraphQLObjectType,
    GraphQLSchema,
    GraphQLSyntaxError,
    GraphQLUnionType,
    ListTypeNode,
    NamedTypeNode,
    NonNullTypeNode,
    SelectionSetNode,
    TypeNode,
    parse_type,
)
from graphql.execution import get_argument_values
from graphql.language import Node

from federation.errors import SupergraphError
from federation.supergraph.fieldset import parse_field_set
from federation.supergraph.links import LinkedFeature

__all__ = ["JoinDirectives", "inaccessible_name", "join_feature", "type_nodes"]

_JOIN_VERSIONS = frozenset({"v0.1", "v0.2", "v0.3", "v0.4", "v0.5"})


def join_feature(links: tuple[LinkedFeature, ...], document: DocumentNode) -> LinkedFeature:
    """The linked join spec (default names when the SDL has no `@link`), checked for support.

    Also checks, before the schema is built, that every graph has a url: graphql-core's own
    message for the missing argument would not name the graph.
    """
    joins = [link for link in links if link.name == "join"]
    if len(joins) > 1:
        raise SupergraphError("schema: the join spec is linked more than once")
    # Hand-written and very old supergraphs omit @link; they still use the default names.
    join = joins[0] if joins else LinkedFeature(url="", name="join", version="v0.1", alias="join")
    if join.version not in _JOIN_VERSIONS:
        raise SupergraphError(
            f"schema: join spec {join.version} is not supported "
            f"(supported: {', '.join(sorted(_JOIN_VERSIONS))})"
        )
    enum_name = join.type_name("Graph")
    enums = [
        definition
        for definition in document.definitions
        if isinstance(definition, EnumTypeDefinitionNode) and definition.name.value == enum_name
    ]
    if not enums:
        raise SupergraphError(f"schema: not a supergraph: no `enum {enum_name}`")
    for value in enums[0].values or ():
        for applied in value.directives or ():
            names = {argument.name.value for argument in applied.arguments or ()}
            if applied.name.value == join.directive("graph") and "url" not in names:
                raise SupergraphError(
                    f"enum {enum_name} value {value.name.value}: @{applied.name.value} has no url"
                )
    return join


class JoinDirectives:
    """Access to the join directives of one supergraph schema.

    `graph_by_enum` maps `join__Graph` values to graph names once the graphs are read;
    `type_graphs` maps each type to its graphs once the `@join__type`s are read.
    """

    def __init__(
        self, schema: GraphQLSchema, join: LinkedFeature, links: tuple[LinkedFeature, ...]
    ) -> None:
        self.schema = schema
        self.join = join
        self.links = links
        self.graph_by_enum: dict[str, str] = {}
        self.type_graphs: dict[str, tuple[str, ...]] = {}
        self.inaccessible = inaccessible_name(links, schema)

    def is_feature_type(self, name: str) -> bool:
        """Whether `name` is a type of a linked spec (join__Graph, link__Import, ...)."""
        return any(link.owns_type(name) for link in (self.join, *self.links)) or (
            name.startswith(("join__", "link__", "core__"))
        )

    def is_feature_directive(self, name: str) -> bool:
        """Whether `name` is a directive of a linked spec (@join__type, @tag, ...)."""
        return any(link.owns_directive(name) for link in (self.join, *self.links))

    def read_implements(
        self, named: GraphQLObjectType | GraphQLInterfaceType
    ) -> dict[str, frozenset[str]]:
        """graph -> interfaces the type implements there (`@join__implements`)."""
        where = f"type {named.name}"
        declared: dict[str, set[str]] = {}
        directive = self.join.directive("implements")
        for args in self.occurrences(type_nodes(named), directive, where):
            graph = self.graph(args, where)
            interface = args.get("interface")
            if not any(i.name == interface for i in named.interfaces):
                raise SupergraphError(
                    f"{where}: @{directive}({graph}) names {interface!r}, "
                    "which is not an interface the type implements"
                )
            declared.setdefault(graph, set()).add(str(interface))
        if declared or not named.interfaces:
            return {graph: frozenset(names) for graph, names in declared.items()}
        # Before join v0.2 membership was not per graph: use the interfaces each graph has.
        return {
            graph: frozenset(
                i.name for i in named.interfaces if graph in self.type_graphs.get(i.name, ())
            )
            for graph in self.type_graphs[named.name]
        }

    def read_members(self, named: GraphQLUnionType) -> dict[str, frozenset[str]]:
        """graph -> members of the union there (`@join__unionMember`)."""
        where = f"union {named.name}"
        declared: dict[str, set[str]] = {}
        directive = self.join.directive("unionMember")
        for args in self.occurrences(type_nodes(named), directive, where):
            graph = self.graph(args, where)
            member = args.get("member")
            if not any(t.name == member for t in named.types):
                raise SupergraphError(
                    f"{where}: @{directive}({graph}) names {member!r}, "
                    "which is not a member of the union"
                )
            declared.setdefault(graph, set()).add(str(member))
        if declared:
            return {graph: frozenset(names) for graph, names in declared.items()}
        # join v0.2 has no @join__unionMember: a graph has the members it defines.
        return {
            graph: frozenset(
                t.name for t in named.types if graph in self.type_graphs.get(t.name, ())
            )
            for graph in self.type_graphs[named.name]
        }

    def occurrences(
        self, nodes: Iterable[Node | None], directive: str, where: str
    ) -> list[dict[str, Any]]:
        """The coerced arguments of every application of `directive` on `nodes`."""
        definition = self.schema.get_directive(directive)
        found: list[dict[str, Any]] = []
        for node in nodes:
            for applied in getattr(node, "directives", None) or ():
                if applied.name.value != directive:
                    continue
                if definition is None:  # build_ast_schema rejects unknown directives
                    raise SupergraphError(f"{where}: @{directive} is not defined")
                self._check_graph_arguments(applied, directive, where)
                try:
                    found.append(get_argument_values(definition, applied))
                except GraphQLError as error:
                    raise SupergraphError(
                        f"{where}: bad argument to @{directive}: {error.message}"
                    ) from error
        return found

    def _check_graph_arguments(self, applied: DirectiveNode, directive: str, where: str) -> None:
        if not self.graph_by_enum:
            return  # reading join__Graph itself
        for argument in applied.arguments or ():
            if argument.name.value == "graph" and isinstance(argument.value, EnumValueNode):
                value = argument.value.value
                if value not in self.graph_by_enum:
                    raise SupergraphError(
                        f"{where}: @{directive}(graph: {value}) names an unknown graph; "
                        f"known: {', '.join(self.graph_by_enum)}"
                    )

    def graph(self, args: Mapping[str, Any], where: str) -> str:
        """The graph name of a coerced `graph:` argument."""
        value = args.get("graph")
        if value not in self.graph_by_enum:
            raise SupergraphError(f"{where}: join directive without a known graph ({value!r})")
        return self.graph_by_enum[value]

    def field_set(self, fields: Any, parent: GraphQLNamedType, where: str) -> SelectionSetNode:
        """Parse and check a FieldSet argument against `parent`."""
        if not isinstance(fields, str):
            raise SupergraphError(f"{where}: FieldSet must be a string, got {fields!r}")
        return parse_field_set(self.schema, parent, fields, where)

    def check_type_override(self, value: Any, where: str) -> None:
        """Check `@join__field(type:)` parses as a type reference to a known type."""
        try:
            named = self.schema.get_type(_type_node_name(parse_type(str(value))))
        except GraphQLSyntaxError as error:
            raise SupergraphError(f"{where}: type {value!r} does not parse") from error
        if named is None:
            raise SupergraphError(f"{where}: type {value!r} names an unknown type")

    def read_contexts(self, named: GraphQLNamedType) -> tuple[str, ...]:
        """The contexts a type sets (`@context(name:)` of the linked context spec): the names
        `@join__field(contextArguments:)` entries refer to."""
        links = [link for link in self.links if link.name == "context"]
        if not links:
            return ()
        where = f"type {named.name}"
        found = self.occurrences(type_nodes(named), links[0].directive("context"), where)
        return tuple(str(args["name"]) for args in found if isinstance(args.get("name"), str))

    def is_inaccessible(self, nodes: Iterable[Node | None]) -> bool:
        """Whether any of `nodes` carries `@inaccessible` (under its local name)."""
        return self.inaccessible is not None and any(
            applied.name.value == self.inaccessible
            for node in nodes
            for applied in getattr(node, "directives", None) or ()
        )


def inaccessible_name(links: tuple[LinkedFeature, ...], schema: GraphQLSchema) -> str | None:
    """The local name of `@inaccessible`, or None when the supergraph cannot mark anything."""
    for link in links:
        if link.name == "inaccessible":
            return link.directive("inaccessible")
        if "@inaccessible" in link.imports:
            return link.imports["@inaccessible"][1:]
    return "inaccessible" if schema.get_directive("inaccessible") is not None else None


def _type_node_name(node: TypeNode) -> str:
    while isinstance(node, ListTypeNode | NonNullTypeNode):
        node = node.type
    return node.name.value if isinstance(node, NamedTypeNode) else ""


def type_nodes(named: GraphQLNamedType) -> list[Node | None]:
    """The definition and extension nodes of a type, where its directives are."""
    return [named.ast_node, *named.extension_ast_nodes]
