"""The supergraph, parsed once into typed records, one for each `join__` directive.

The planner and executor read these records and never re-read directives.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal

from graphql import GraphQLSchema, SelectionSetNode

__all__ = [
    "FieldInGraph",
    "FieldMeta",
    "Graph",
    "Key",
    "Supergraph",
    "TypeInGraph",
    "TypeKind",
    "TypeMeta",
    "load_supergraph",
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
class FieldInGraph:
    """One `@join__field` of a field: the graph and what the field means there."""

    graph: str
    requires: SelectionSetNode | None = None
    provides: SelectionSetNode | None = None
    external: bool = False
    override: str | None = None
    used_overridden: bool = False
    type: str | None = None


@dataclass(frozen=True, slots=True)
class FieldMeta:
    """A field of an object or interface type.

    `resolvable_in` is derived at load: the graphs that can resolve the field for a query (no
    `@join__field`: every graph of the type; otherwise the listed graphs minus `external` and
    overridden ones). `in_graphs` keeps each explicit `@join__field`, keyed by graph name.
    """

    parent: str
    name: str
    type: str
    in_graphs: Mapping[str, FieldInGraph]
    resolvable_in: frozenset[str]
    inaccessible: bool = False


@dataclass(frozen=True, slots=True)
class TypeMeta:
    """A named type of the supergraph with its per-graph facts."""

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

    def possible_types(self, type_name: str, graph: str | None = None) -> frozenset[str]:
        """Object types that `type_name` may be at runtime, in one graph or in the supergraph."""
        raise NotImplementedError

    def keys(self, type_name: str, graph: str) -> tuple[Key, ...]:
        """The keys of `type_name` in `graph` (resolvable or not)."""
        meta = self.types.get(type_name)
        if meta is None or graph not in meta.in_graphs:
            return ()
        return meta.in_graphs[graph].keys


def load_supergraph(sdl: str) -> Supergraph:
    """Parse and check a supergraph SDL; raise SupergraphError naming the type, field and problem."""
    raise NotImplementedError
