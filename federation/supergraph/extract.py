"""A subgraph's own schema, extracted from the supergraph's `join__` records.

The planner must never send a subgraph an operation that fails the subgraph's own validation:
tests validate every planned fetch against this schema. It holds what the subgraph declared:
its types (an `@interfaceObject` as an object type), its fields (external ones included, with
the type `@join__field(type:)` gives them there), its union members, interface
implementations and enum values, and the federation additions (`_Any`, `_Entity`,
`_entities`, `_service`).
"""

from __future__ import annotations

from graphql import (
    GraphQLArgument,
    GraphQLField,
    GraphQLInputField,
    GraphQLInputObjectType,
    GraphQLInterfaceType,
    GraphQLObjectType,
    GraphQLSchema,
    build_schema,
    print_ast,
)

from federation.supergraph.model import FieldMeta, Supergraph, TypeMeta

__all__ = ["extract_subgraph_schema", "extract_subgraph_sdl"]

_BUILT_IN_SCALARS = {"String", "Int", "Float", "Boolean", "ID"}


def extract_subgraph_schema(supergraph: Supergraph, graph: str) -> GraphQLSchema:
    """The schema `graph` validates its operations against."""
    return build_schema(extract_subgraph_sdl(supergraph, graph))


def extract_subgraph_sdl(supergraph: Supergraph, graph: str) -> str:
    parts: list[str] = []
    entities: list[str] = []
    emitted: set[str] = set()
    roots = dict(supergraph.root_types)
    query_root = roots.get("query", "Query")
    has_query = False
    for meta in supergraph.types.values():
        if not _in_graph(meta, graph) or meta.name in _BUILT_IN_SCALARS:
            continue
        definition = supergraph.schema.get_type(meta.name)
        if meta.kind in ("OBJECT", "INTERFACE"):
            assert isinstance(definition, GraphQLObjectType | GraphQLInterfaceType)
            in_graph = meta.in_graphs.get(graph)
            stand_in = in_graph is not None and in_graph.is_interface_object
            if in_graph is not None and in_graph.keys and (meta.kind == "OBJECT" or stand_in):
                entities.append(meta.name)
            fields = [
                _field_line(field, definition.fields[name], graph)
                for name, field in meta.fields.items()
                if _field_in_graph(field, graph)
            ]
            if meta.name == query_root:
                has_query = True
                fields += _entity_fields_placeholder()
            if not fields:
                continue
            keyword = "interface" if meta.kind == "INTERFACE" and not stand_in else "type"
            interfaces = _interfaces(supergraph, meta, definition, graph)
            implements = f" implements {' & '.join(interfaces)}" if interfaces else ""
            parts.append(f"{keyword} {meta.name}{implements} {{\n" + "\n".join(fields) + "\n}")
            emitted.add(meta.name)
        elif meta.kind == "UNION":
            members = sorted(supergraph.possible_types(meta.name, graph))
            if members:
                parts.append(f"union {meta.name} = {' | '.join(members)}")
        elif meta.kind == "ENUM":
            values = [
                value
                for value, graphs in (meta.enum_values or _all_values(supergraph, meta)).items()
                if not graphs or graph in graphs
            ]
            if values:
                parts.append(f"enum {meta.name} {{ {' '.join(values)} }}")
        elif meta.kind == "INPUT_OBJECT":
            assert isinstance(definition, GraphQLInputObjectType)
            fields = [
                _input_line(name, definition.fields[name])
                for name, field in meta.fields.items()
                if _field_in_graph(field, graph)
            ]
            if fields:
                parts.append(f"input {meta.name} {{\n" + "\n".join(fields) + "\n}")
        elif meta.kind == "SCALAR":
            parts.append(f"scalar {meta.name}")
    sdl = "\n\n".join(parts)
    plumbing = ["scalar _Any", "type _Service { sdl: String }"]
    entity_fields = ["  _service: _Service!"]
    if entities:
        plumbing.append(f"union _Entity = {' | '.join(sorted(entities))}")
        entity_fields.append("  _entities(representations: [_Any!]!): [_Entity]!")
    if has_query:
        sdl = sdl.replace(_PLACEHOLDER, "\n".join(entity_fields))
    else:
        plumbing.append(f"type {query_root} {{\n" + "\n".join(entity_fields) + "\n}")
    schema_roots = [f"  query: {query_root}"] + [
        f"  {kind}: {name}" for kind, name in roots.items() if kind != "query" and name in emitted
    ]
    header = "schema {\n" + "\n".join(schema_roots) + "\n}"
    return "\n\n".join([header, sdl, *plumbing]) + "\n"


_PLACEHOLDER = "  __EDGEGRAPH_ENTITY_FIELDS__"


def _entity_fields_placeholder() -> list[str]:
    return [_PLACEHOLDER]


def _in_graph(meta: TypeMeta, graph: str) -> bool:
    return not meta.in_graphs or graph in meta.in_graphs


def _field_in_graph(field: FieldMeta, graph: str) -> bool:
    if field.in_graphs:
        return graph in field.in_graphs
    return graph in field.resolvable_in


def _field_line(field: FieldMeta, definition: GraphQLField, graph: str) -> str:
    in_graph = field.in_graphs.get(graph)
    typed = in_graph.type if in_graph is not None and in_graph.type else field.type
    arguments = ", ".join(_argument(name, arg) for name, arg in definition.args.items())
    return f"  {field.name}{f'({arguments})' if arguments else ''}: {typed}"


def _argument(name: str, argument: GraphQLArgument) -> str:
    return f"{name}: {argument.type}{_default(argument)}"


def _input_line(name: str, field: GraphQLInputField) -> str:
    return f"  {name}: {field.type}{_default(field)}"


def _default(value: GraphQLArgument | GraphQLInputField) -> str:
    """` = <default>` as the SDL declares it, or nothing."""
    node = value.ast_node
    if node is None or node.default_value is None:
        return ""
    return f" = {print_ast(node.default_value)}"


def _interfaces(
    supergraph: Supergraph,
    meta: TypeMeta,
    definition: GraphQLObjectType | GraphQLInterfaceType,
    graph: str,
) -> list[str]:
    if meta.in_graphs.get(graph) is not None and meta.in_graphs[graph].is_interface_object:
        return []
    names = [interface.name for interface in definition.interfaces]
    if meta.implements:  # join v0.2+: each graph lists its own implementations
        declared = meta.implements.get(graph, frozenset())
        names = [name for name in names if name in declared]
    out: list[str] = []
    for name in names:
        interface = supergraph.types.get(name)
        if interface is None or not _in_graph(interface, graph):
            continue
        stand_in = interface.in_graphs.get(graph)
        if stand_in is not None and stand_in.is_interface_object:
            continue  # an object type in this graph: nothing implements it there
        out.append(name)
    return out


def _all_values(supergraph: Supergraph, meta: TypeMeta) -> dict[str, frozenset[str]]:
    definition = supergraph.schema.get_type(meta.name)
    values = getattr(definition, "values", {})
    return {name: frozenset() for name in values}
