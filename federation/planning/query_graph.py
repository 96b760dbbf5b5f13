"""The federated query graph, built once per supergraph.

A vertex is a (type, subgraph) pair: `Product@inventory` holds a product as the inventory
subgraph sees it. Edges leave a vertex in four ways:

- a **field edge** for every field the subgraph resolves on the type (its `@requires`, if any, is
  a condition the walk must satisfy first; its `@provides` opens a view of the child vertex in
  which the provided external fields are local, along that edge only);
- a **key edge** into every other subgraph with a resolvable `@key` for the type: the condition
  is the key's field set, which must be obtainable where the walk stands;
- an **interface-object edge** from an implementation of an interface into a subgraph where the
  interface is an `@interfaceObject`, through the interface's key;
- a **type-lookup edge** from an `@interfaceObject` stand-in to a subgraph where the interface is
  real, which is where `__typename` and type conditions are answered.

Root edges enter each subgraph that has the root type. `@override` (progressive labels too)
and `@external` are already folded into `FieldMeta.resolvable_in` when the supergraph loads, so
an overridden or external field simply has no field edge.
"""

from __future__ import annotations

from dataclasses import dataclass

from graphql import FieldNode, SelectionSetNode

from federation.supergraph.model import Key, Supergraph

__all__ = ["FieldEdge", "KeyEdge", "QueryGraph", "Vertex"]


@dataclass(frozen=True, slots=True)
class Vertex:
    type_name: str
    graph: str


@dataclass(frozen=True, slots=True)
class FieldEdge:
    """`tail` resolves `field`; taking the edge needs `requires` first, if set."""

    tail: Vertex
    field: str
    child_type: str
    requires: SelectionSetNode | None
    provides: SelectionSetNode | None
    #: the field takes `@fromContext` arguments: its own fetch, after its ancestor's
    contextual: bool = False


@dataclass(frozen=True, slots=True)
class KeyEdge:
    """Objects of `source_type` enter `head` (where the type is `head.type_name`) by `key`.

    `head.type_name` differs from `source_type` for an `@interfaceObject` entry, where the
    representation's `__typename` becomes the interface's name.
    """

    source_type: str
    head: Vertex
    key: Key


class QueryGraph:
    """Field, key, interface-object and type-lookup edges of one supergraph."""

    def __init__(self, supergraph: Supergraph) -> None:
        self.supergraph = supergraph
        self._fields: dict[Vertex, dict[str, FieldEdge]] = {}
        self._entries: dict[str, tuple[KeyEdge, ...]] = {}
        self._lookups: dict[str, tuple[KeyEdge, ...]] = {}
        for meta in supergraph.types.values():
            if meta.kind not in ("OBJECT", "INTERFACE"):
                continue
            for graph in meta.in_graphs or supergraph.graphs:
                vertex = Vertex(meta.name, graph)
                edges: dict[str, FieldEdge] = {}
                for field in meta.fields.values():
                    in_graph = field.in_graphs.get(graph)
                    if graph not in field.resolvable_in:
                        continue
                    edges[field.name] = FieldEdge(
                        vertex,
                        field.name,
                        field.named_type,
                        in_graph.requires if in_graph is not None else None,
                        in_graph.provides if in_graph is not None else None,
                        in_graph is not None and bool(in_graph.context_arguments),
                    )
                self._fields[vertex] = edges
        for meta in supergraph.types.values():
            if meta.kind not in ("OBJECT", "INTERFACE"):
                continue
            entries: list[KeyEdge] = []
            for graph in meta.in_graphs:
                for key in supergraph.keys(meta.name, graph):
                    if key.resolvable:
                        entries.append(KeyEdge(meta.name, Vertex(meta.name, graph), key))
            if meta.kind == "OBJECT":
                entries += self._interface_object_entries(meta.name)
            self._entries[meta.name] = tuple(entries)
        for meta in supergraph.types.values():
            if meta.kind == "INTERFACE" and meta.interface_object_in:
                self._lookups[meta.name] = tuple(
                    edge
                    for edge in self._entries.get(meta.name, ())
                    if edge.head.graph not in meta.interface_object_in
                )

    def _interface_object_entries(self, object_type: str) -> list[KeyEdge]:
        definition = self.supergraph.schema.get_type(object_type)
        out: list[KeyEdge] = []
        for interface in getattr(definition, "interfaces", ()):
            meta = self.supergraph.types.get(interface.name)
            if meta is None:
                continue
            for graph in sorted(meta.interface_object_in):
                if object_type in self.supergraph.types and graph in (
                    self.supergraph.types[object_type].in_graphs
                ):
                    continue  # the graph knows the object itself
                for key in self.supergraph.keys(interface.name, graph):
                    if key.resolvable:
                        out.append(KeyEdge(object_type, Vertex(interface.name, graph), key))
        return out

    def field_edge(self, vertex: Vertex, field: str) -> FieldEdge | None:
        edges = self._fields.get(vertex)
        return None if edges is None else edges.get(field)

    def has_vertex(self, vertex: Vertex) -> bool:
        return vertex in self._fields

    def entries(self, type_name: str) -> tuple[KeyEdge, ...]:
        """Key and interface-object edges by which objects of `type_name` enter a subgraph."""
        return self._entries.get(type_name, ())

    def type_lookups(self, interface: str) -> tuple[KeyEdge, ...]:
        """Where an `@interfaceObject` stand-in learns its concrete type."""
        return self._lookups.get(interface, ())


def _selects(selection_set: SelectionSetNode, field_name: str) -> bool:
    return any(
        isinstance(node, FieldNode) and node.name.value == field_name
        for node in selection_set.selections
    )
