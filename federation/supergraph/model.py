"""The supergraph, parsed once into typed records, one for each `join__` directive.

The planner and executor read these records and never re-read directives.
"""

from __future__ import annotations

from collections.abc import Mapping
from collections.abc import Set as AbstractSet
from dataclasses import dataclass, field
from typing import Literal

from graphql import (
    DocumentNode,
    FieldNode,
    GraphQLEnumType,
    GraphQLError,
    GraphQLField,
    GraphQLInputField,
    GraphQLInputObjectType,
    GraphQLInterfaceType,
    GraphQLNamedType,
    GraphQLObjectType,
    GraphQLSchema,
    GraphQLSyntaxError,
    GraphQLUnionType,
    SelectionSetNode,
    TypeDefinitionNode,
    TypeExtensionNode,
    build_ast_schema,
    get_named_type,
    parse,
    validate_schema,
)

from federation.errors import SupergraphError
from federation.supergraph.api_schema import derive_api_schema
from federation.supergraph.join import JoinDirectives, join_feature, type_nodes
from federation.supergraph.links import LinkedFeature, check_feature_support, parse_links

__all__ = [
    "ContextArgument",
    "FieldInGraph",
    "FieldMeta",
    "Graph",
    "Key",
    "Supergraph",
    "TypeInGraph",
    "TypeKind",
    "TypeMeta",
    "key_facts",
    "load_supergraph",
    "resolvable_graphs",
]

TypeKind = Literal["OBJECT", "INTERFACE", "UNION", "ENUM", "INPUT_OBJECT", "SCALAR"]


@dataclass(frozen=True, slots=True)
class Graph:
    """One subgraph: `name` as in `@join__graph(name:)`, its `join__Graph` enum value, its URL."""

    name: str
    enum_value: str
    url: str


@dataclass(frozen=True, slots=True)
class Key:
    """One `@key` of a type in one graph. `selections` is the parsed FieldSet."""

    graph: str
    fields: str
    selections: SelectionSetNode
    resolvable: bool


@dataclass(frozen=True, slots=True)
class TypeInGraph:
    """`@join__type` of a type in one graph (all its keys gathered)."""

    graph: str
    keys: tuple[Key, ...] = ()
    extension: bool = False
    is_interface_object: bool = False


@dataclass(frozen=True, slots=True)
class ContextArgument:
    """One entry of `@join__field(contextArguments:)` (join v0.5): argument `name` of type `type`
    is filled from `selection` on the nearest ancestor carrying `@context(name: context)`."""

    name: str
    type: str
    context: str
    selection: str


@dataclass(frozen=True, slots=True)
class FieldInGraph:
    """One `@join__field` of a field: the graph and what the field means there."""

    graph: str
    requires: SelectionSetNode | None = None
    provides: SelectionSetNode | None = None
    external: bool = False
    override: str | None = None
    used_overridden: bool = False
    type: str | None = None
    #: progressive override (join v0.4): `override` applies only while this label is enabled
    override_label: str | None = None
    #: join v0.5 `contextArguments`: arguments the planner fills from an ancestor, never the client
    context_arguments: tuple[ContextArgument, ...] = ()


@dataclass(frozen=True, slots=True)
class FieldMeta:
    """A field of an object, interface or input object type.

    `resolvable_in` is derived at load: the graphs that can resolve the field for a query (no
    `@join__field`: every graph of the type; otherwise the listed graphs minus `external` and
    overridden ones). `in_graphs` keeps each explicit `@join__field`, keyed by graph name; a
    `@join__field` without a graph adds nothing, so such a field may have no graph at all.

    Two refinements: a graph keeps its own key fields even when they are marked `external`
    (Fed1-composed supergraphs do that for type extensions, yet the graph returns its keys), and
    an override from a graph the supergraph does not have changes nothing.
    """

    parent: str
    name: str
    type: str
    in_graphs: Mapping[str, FieldInGraph]
    resolvable_in: frozenset[str]
    inaccessible: bool = False

    @property
    def named_type(self) -> str:
        """The field's type without list and non-null wrappers: `[Product!]!` -> `Product`."""
        return self.type.strip("[]!")


@dataclass(frozen=True, slots=True)
class TypeMeta:
    """A named type of the supergraph with its per-graph facts.

    A type with no `@join__type` at all (old supergraphs, built-in scalars) is in every graph.
    Without `@join__implements`/`@join__unionMember` (join v0.1/v0.2), a graph's interfaces and
    members are the supergraph's ones that the graph has.
    """

    name: str
    kind: TypeKind
    in_graphs: Mapping[str, TypeInGraph]
    fields: Mapping[str, FieldMeta] = field(default_factory=dict)
    #: graph -> interfaces the type implements in that graph (`@join__implements`)
    implements: Mapping[str, frozenset[str]] = field(default_factory=dict)
    #: graph -> members of a union in that graph (`@join__unionMember`)
    members: Mapping[str, frozenset[str]] = field(default_factory=dict)
    #: enum value -> graphs that define it (`@join__enumValue`)
    enum_values: Mapping[str, frozenset[str]] = field(default_factory=dict)
    inaccessible: bool = False
    #: the contexts the type sets (`@context(name:)`), for `ContextArgument.context`
    contexts: tuple[str, ...] = ()

    @property
    def is_entity(self) -> bool:
        """Whether some graph declares a key for the type."""
        return any(meta.keys for meta in self.in_graphs.values())

    @property
    def interface_object_in(self) -> frozenset[str]:
        """Graphs where this interface is an `@interfaceObject` (an object type there)."""
        return frozenset(g for g, meta in self.in_graphs.items() if meta.is_interface_object)


@dataclass(frozen=True, slots=True)
class Supergraph:
    """A loaded supergraph: records, the full schema and the API schema clients see."""

    sdl: str
    graphs: Mapping[str, Graph]
    types: Mapping[str, TypeMeta]
    #: "query" / "mutation" / "subscription" -> root type name in the supergraph
    root_types: Mapping[str, str]
    #: the supergraph as a graphql-core schema (join__/link__ elements included)
    schema: GraphQLSchema
    #: what clients see: no join__/link__ elements, nothing @inaccessible, no _entities/_service
    api_schema: GraphQLSchema
    #: every `@link`/`@core` of the schema definition, in SDL order
    links: tuple[LinkedFeature, ...] = ()
    #: (type, graph or None for the supergraph) -> possible object types, precomputed at load
    possible_types_index: Mapping[tuple[str, str | None], frozenset[str]] = field(
        default_factory=dict, repr=False, compare=False
    )

    def possible_types(self, type_name: str, graph: str | None = None) -> frozenset[str]:
        """Object types that `type_name` may be at runtime, in one graph or in the supergraph.

        An object type is its own only possible type. In a graph, interfaces and unions use that
        graph's `@join__implements`/`@join__unionMember`, restricted to object types the graph
        has. In a graph where an interface is an `@interfaceObject`, the graph itself only ever
        answers with the interface's name, so the result is `{interface}`. Unknown types, and
        types absent from `graph`, have none.
        """
        cached = self.possible_types_index.get((type_name, graph))
        if cached is not None:
            return cached
        return _possible_types(self.schema, self.types, type_name, graph)

    def keys(self, type_name: str, graph: str) -> tuple[Key, ...]:
        """The keys of `type_name` in `graph` (resolvable or not)."""
        meta = self.types.get(type_name)
        if meta is None or graph not in meta.in_graphs:
            return ()
        return meta.in_graphs[graph].keys

    def field(self, type_name: str, field_name: str) -> FieldMeta | None:
        """The record of `type_name.field_name`, or None when there is no such field."""
        meta = self.types.get(type_name)
        return None if meta is None else meta.fields.get(field_name)


def load_supergraph(sdl: str) -> Supergraph:
    """Parse and check a supergraph SDL; raise SupergraphError naming the type, field and problem.

    Everything is built and checked first and the frozen Supergraph is made last, so a failure
    never leaves a half-loaded supergraph behind.
    """
    try:
        document = parse(sdl)
    except GraphQLSyntaxError as error:
        raise SupergraphError(f"supergraph SDL does not parse: {error}") from error
    links = parse_links(document)
    join = join_feature(links, document)  # first: its errors name the join version exactly
    check_feature_support(links)
    try:
        schema = build_ast_schema(document)
    except (GraphQLError, TypeError) as error:
        raise SupergraphError(f"supergraph SDL is not a valid schema: {error}") from error
    problems = validate_schema(schema)
    if problems:
        raise SupergraphError(
            "supergraph schema is invalid: " + "; ".join(problem.message for problem in problems)
        )
    reader = _Reader(schema, join, links)
    graphs = reader.read_graphs()
    types = reader.read_types(document)
    root_types = {
        kind: root.name
        for kind, root in (
            ("query", schema.query_type),
            ("mutation", schema.mutation_type),
            ("subscription", schema.subscription_type),
        )
        if root is not None
    }
    api_schema = derive_api_schema(
        document,
        is_feature_type=reader.is_feature_type,
        is_feature_directive=reader.is_feature_directive,
        inaccessible=reader.inaccessible,
        query_type=root_types.get("query"),
    )
    index = {
        (name, graph): _possible_types(schema, types, name, graph)
        for name, meta in types.items()
        if meta.kind in ("OBJECT", "INTERFACE", "UNION")
        for graph in (None, *meta.in_graphs)
    }
    return Supergraph(
        sdl=sdl,
        graphs=graphs,
        types=types,
        root_types=root_types,
        schema=schema,
        api_schema=api_schema,
        links=links,
        possible_types_index=index,
    )


def _possible_types(
    schema: GraphQLSchema, types: Mapping[str, TypeMeta], type_name: str, graph: str | None
) -> frozenset[str]:
    if graph is None:
        named = schema.get_type(type_name)
        if isinstance(named, GraphQLObjectType):
            return frozenset((named.name,))
        if isinstance(named, GraphQLInterfaceType | GraphQLUnionType):
            return frozenset(obj.name for obj in schema.get_possible_types(named))
        return frozenset()
    meta = types.get(type_name)
    if meta is None or graph not in meta.in_graphs:
        return frozenset()
    if meta.kind == "OBJECT":
        return frozenset((type_name,))
    if meta.kind == "UNION":
        return frozenset(
            member
            for member in meta.members.get(graph, ())
            if member in types and graph in types[member].in_graphs
        )
    if meta.kind != "INTERFACE":
        return frozenset()
    if meta.in_graphs[graph].is_interface_object:
        return frozenset((type_name,))
    return frozenset(
        name
        for name, other in types.items()
        if other.kind == "OBJECT"
        and graph in other.in_graphs
        and type_name in other.implements.get(graph, ())
    )


class _Reader(JoinDirectives):
    """Builds the records from the join directives of a built supergraph schema."""

    # -- graphs -------------------------------------------------------------------------------

    def read_graphs(self) -> dict[str, Graph]:
        enum_name = self.join.type_name("Graph")
        enum = self.schema.get_type(enum_name)
        if not isinstance(enum, GraphQLEnumType):
            raise SupergraphError(f"schema: not a supergraph: no `enum {enum_name}`")
        directive = self.join.directive("graph")
        graphs: dict[str, Graph] = {}
        for value_name, value in enum.values.items():
            where = f"enum {enum_name} value {value_name}"
            found = self.occurrences([value.ast_node], directive, where)
            if len(found) != 1:
                raise SupergraphError(f"{where}: needs exactly one @{directive}, has {len(found)}")
            name, url = found[0].get("name"), found[0].get("url")
            if not isinstance(name, str) or not name:
                raise SupergraphError(f"{where}: @{directive} has no name")
            if not isinstance(url, str):
                raise SupergraphError(f"{where}: graph {name!r} has no url")
            if name in graphs:
                raise SupergraphError(f"{where}: graph name {name!r} is used twice")
            graphs[name] = Graph(name=name, enum_value=value_name, url=url)
            self.graph_by_enum[value_name] = name
        return graphs

    # -- types --------------------------------------------------------------------------------

    def read_types(self, document: DocumentNode) -> dict[str, TypeMeta]:
        names = [
            definition.name.value
            for definition in document.definitions
            if isinstance(definition, TypeDefinitionNode | TypeExtensionNode)
        ]
        names += list(self.schema.type_map)  # built-in scalars come last
        ordered = [
            name
            for name in dict.fromkeys(names)
            if not name.startswith("__") and not self.is_feature_type(name)
        ]
        drafts = {name: self._read_join_types(self._named(name)) for name in ordered}
        self.type_graphs = {
            name: tuple(draft) if draft else tuple(self.graph_by_enum.values())
            for name, draft in drafts.items()
        }
        return {name: self._read_type(self._named(name), drafts[name]) for name in ordered}

    def _named(self, name: str) -> GraphQLNamedType:
        named = self.schema.get_type(name)
        if named is None:  # build_ast_schema put every SDL type in the schema
            raise SupergraphError(f"type {name}: missing from the built schema")
        return named

    def _read_join_types(self, named: GraphQLNamedType) -> dict[str, TypeInGraph]:
        where = f"type {named.name}"
        found: dict[str, TypeInGraph] = {}
        for args in self.occurrences(type_nodes(named), self.join.directive("type"), where):
            graph = self.graph(args, where)
            current = found.get(graph, TypeInGraph(graph=graph))
            keys = current.keys
            key_fields = args.get("key")
            if key_fields is not None:
                selections = self.field_set(key_fields, named, f"{where} @key({graph})")
                key = Key(graph, key_fields, selections, bool(args.get("resolvable", True)))
                keys = (*keys, key)
            found[graph] = TypeInGraph(
                graph=graph,
                keys=keys,
                extension=current.extension or bool(args.get("extension")),
                is_interface_object=current.is_interface_object
                or bool(args.get("isInterfaceObject")),
            )
        return found

    def _read_type(self, named: GraphQLNamedType, in_graphs: dict[str, TypeInGraph]) -> TypeMeta:
        where = f"type {named.name}"
        graphs = self.type_graphs[named.name]
        if not in_graphs:
            in_graphs = {graph: TypeInGraph(graph=graph) for graph in graphs}
        # join v0.1 only: fields without @join__field belong to the owner, not to every graph.
        owners = [
            self.graph(args, where)
            for args in self.occurrences(type_nodes(named), self.join.directive("owner"), where)
        ]
        fields: dict[str, FieldMeta] = {}
        implements: dict[str, frozenset[str]] = {}
        members: dict[str, frozenset[str]] = {}
        enum_values: dict[str, frozenset[str]] = {}
        if isinstance(named, GraphQLObjectType | GraphQLInterfaceType | GraphQLInputObjectType):
            key_fields, extensions = key_facts(in_graphs)
            for name, definition in named.fields.items():
                fields[name] = self._read_field(
                    named, name, definition, key_fields, extensions, owners[0] if owners else None
                )
        if isinstance(named, GraphQLObjectType | GraphQLInterfaceType):
            implements = self.read_implements(named)
        if isinstance(named, GraphQLUnionType):
            members = self.read_members(named)
        if isinstance(named, GraphQLEnumType):
            for value_name, value in named.values.items():
                value_where = f"enum {named.name} value {value_name}"
                declared = frozenset(
                    self.graph(args, value_where)
                    for args in self.occurrences(
                        [value.ast_node], self.join.directive("enumValue"), value_where
                    )
                )
                enum_values[value_name] = declared or frozenset(graphs)
        return TypeMeta(
            name=named.name,
            kind=_kind(named),
            in_graphs=in_graphs,
            fields=fields,
            implements=implements,
            members=members,
            enum_values=enum_values,
            inaccessible=self.is_inaccessible(type_nodes(named)),
            contexts=self.read_contexts(named),
        )

    def _read_field(
        self,
        parent: GraphQLObjectType | GraphQLInterfaceType | GraphQLInputObjectType,
        name: str,
        definition: GraphQLField | GraphQLInputField,
        key_fields: Mapping[str, set[str]],
        extensions: set[str],
        owner: str | None,
    ) -> FieldMeta:
        where = f"field {parent.name}.{name}"
        named = get_named_type(definition.type)
        entries: dict[str, FieldInGraph] = {}
        declared = False
        for args in self.occurrences([definition.ast_node], self.join.directive("field"), where):
            declared = True
            graph = None if args.get("graph") is None else self.graph(args, where)
            label = f"{where} @{self.join.directive('field')}({graph or 'no graph'})"
            requires = provides = None
            if args.get("requires") is not None:
                requires = self.field_set(args["requires"], parent, f"{label} requires")
            if args.get("provides") is not None:
                provides = self.field_set(args["provides"], named, f"{label} provides")
            type_override = args.get("type")
            if type_override is not None:
                self.check_type_override(type_override, label)
            if graph is None:
                continue  # resolvable by no graph directly (an @interfaceObject's field)
            if graph in entries:
                raise SupergraphError(f"{where}: two @{self.join.directive('field')} for {graph}")
            override = args.get("override")
            entries[graph] = FieldInGraph(
                graph=graph,
                requires=requires,
                provides=provides,
                external=bool(args.get("external")),
                override=override,
                used_overridden=bool(args.get("usedOverridden")),
                type=type_override,
                override_label=args.get("overrideLabel"),
                context_arguments=tuple(
                    ContextArgument(
                        name=item["name"],
                        type=item["type"],
                        context=item["context"],
                        selection=item["selection"],
                    )
                    for item in args.get("contextArguments") or ()
                ),
            )
        if not declared:
            resolvable = frozenset((owner,) if owner else self.type_graphs[parent.name])
        else:
            resolvable = resolvable_graphs(
                entries, key_fields, extensions, name, set(self.graph_by_enum.values())
            )
        return FieldMeta(
            parent=parent.name,
            name=name,
            type=str(definition.type),
            in_graphs=entries,
            resolvable_in=resolvable,
            inaccessible=self.is_inaccessible([definition.ast_node]),
        )


def key_facts(in_graphs: Mapping[str, TypeInGraph]) -> tuple[dict[str, set[str]], set[str]]:
    """What `resolvable_graphs` needs of a type: each graph's key fields (top-level names) and
    the graphs where the type is an extension."""
    key_fields = {
        graph: {
            selection.name.value
            for key in meta.keys
            for selection in key.selections.selections
            if isinstance(selection, FieldNode)
        }
        for graph, meta in in_graphs.items()
    }
    return key_fields, {graph for graph, meta in in_graphs.items() if meta.extension}


def resolvable_graphs(
    entries: Mapping[str, FieldInGraph],
    key_fields: Mapping[str, set[str]],
    extensions: set[str],
    field_name: str,
    known_graphs: set[str],
    enabled_labels: AbstractSet[str] = frozenset(),
) -> frozenset[str]:
    """The graphs that resolve a field, from its `@join__field`s (FieldMeta.resolvable_in)."""
    # An override only removes the field from a graph that exists (trap 20). A labelled
    # (progressive) override applies only while its label is enabled (supergraph/override.py);
    # off, the overriding graph is the one that does not resolve the field.
    overridden: set[str] = set()
    for entry in entries.values():
        if entry.override is None or entry.override not in known_graphs:
            continue
        label = entry.override_label
        off = label is not None and label not in enabled_labels
        overridden.add(entry.graph if off else entry.override)
    resolvable = {
        graph
        for graph, entry in entries.items()
        # A type extension returns its own key fields, though Fed1-composed supergraphs mark
        # them external there. Elsewhere an external key field is not the graph's to resolve:
        # it only names the entity (corrupted-supergraph-node-id).
        if (not entry.external or (graph in extensions and field_name in key_fields.get(graph, ())))
        and not entry.used_overridden
        and graph not in overridden
    }
    # join v0.1 lists only the owner's @join__field, yet every graph with a key has its fields.
    resolvable.update(
        graph
        for graph, fields in key_fields.items()
        if field_name in fields and graph not in entries
    )
    return frozenset(resolvable)


def _kind(named: GraphQLNamedType) -> TypeKind:
    if isinstance(named, GraphQLObjectType):
        return "OBJECT"
    if isinstance(named, GraphQLInterfaceType):
        return "INTERFACE"
    if isinstance(named, GraphQLUnionType):
        return "UNION"
    if isinstance(named, GraphQLEnumType):
        return "ENUM"
    if isinstance(named, GraphQLInputObjectType):
        return "INPUT_OBJECT"
    return "SCALAR"
