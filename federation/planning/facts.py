"""What the supergraph says about fields and types, as the planner asks it.

Every question is about one (type, field, subgraph): where a field can be resolved, through
which key a subgraph is entered, whether an interface field is uniform across its members.
"""

from __future__ import annotations

from graphql import (
    FieldNode,
    GraphQLList,
    GraphQLNonNull,
    SelectionSetNode,
    get_named_type,
    is_interface_type,
    is_object_type,
)

from federation.errors import PlanningError
from federation.planning.internal_fields import FRAGMENT_PREFIX, Provided
from federation.planning.normalize import NField, NSelection
from federation.supergraph.model import ContextArgument, Key, Supergraph

__all__ = ["SchemaFacts"]


class SchemaFacts:
    """Read-only questions about one supergraph, shared by every planning run."""

    def __init__(self, supergraph: Supergraph) -> None:
        self.supergraph = supergraph
        self.graph_order = {name: index for index, name in enumerate(supergraph.graphs)}

    def flatten(self, selections: tuple[NSelection, ...], type_name: str) -> list[NField]:
        """The fields of a selection on an object type, with applicable fragments inlined."""
        out: list[NField] = []
        for item in selections:
            if isinstance(item, NField):
                out.append(item)
            elif self.applies(item.type_condition, type_name):
                out += self.flatten(item.selections, type_name)
        return out

    def covers(self, graph: str, parent_type: str, field: NField) -> bool:
        """Whether `graph` resolves the field and everything under it without a hop."""
        if field.name == "__typename":
            return True
        if not self.local(parent_type, field.name, graph, None):
            return False
        if self.requires(parent_type, field.name, graph) is not None:
            return False
        if not field.selections:
            return True
        child_type = self.field_type(parent_type, field.name)[0]
        if self.type_kind(child_type) != "OBJECT":
            return False  # abstract positions are judged per member while planning
        return all(
            self.covers(graph, child_type, child)
            for child in self.flatten(field.selections, child_type)
        )

    def coverage(self, graph: str, parent_type: str, field: NField) -> int:
        if graph not in self.resolvable_in(parent_type, field.name):
            return 0
        child_type = self.field_type(parent_type, field.name)[0]
        score = 1
        for child in self.flatten(field.selections, child_type):
            if child.name != "__typename" and self.type_kind(child_type) == "OBJECT":
                score += self.coverage(graph, child_type, child)
        return score

    def interface_with(self, type_name: str, field_name: str, graph: str) -> str | None:
        """An interface of the type that another subgraph extends with the field."""
        definition = self.supergraph.schema.get_type(type_name)
        for interface in getattr(definition, "interfaces", ()):
            if self.interface_entity_graphs(interface.name, field_name, graph):
                return str(interface.name)
        return None

    def is_interface_object(self, type_name: str, graph: str) -> bool:
        meta = self.supergraph.types.get(type_name)
        in_graph = meta.in_graphs.get(graph) if meta is not None else None
        return in_graph is not None and in_graph.is_interface_object

    def interface_owner(self, type_name: str) -> str | None:
        """A subgraph where the interface is real and can be entered through a key."""
        meta = self.supergraph.types[type_name]
        for graph in sorted(meta.in_graphs, key=lambda g: self.graph_order.get(g, 0)):
            if not meta.in_graphs[graph].is_interface_object and self.entry_key(type_name, graph):
                return graph
        return None

    def interface_entity_graphs(self, type_name: str, field_name: str, graph: str) -> bool:
        """Whether another subgraph resolves the field on the interface, entered by its key."""
        if self.type_kind(type_name) != "INTERFACE":
            return False
        return any(
            other != graph and self.entry_key(type_name, other) is not None
            for other in self.resolvable_in(type_name, field_name)
        )

    def uniform(
        self,
        parent_type: str,
        field: NField,
        runtime: list[str],
        graph: str,
        provided: Provided | None,
    ) -> bool:
        """Whether an interface field can be fetched on the interface itself from `graph`."""
        if self.type_kind(parent_type) != "INTERFACE":
            return False
        if not self.local(parent_type, field.name, graph, provided):
            return False
        return all(self.local(name, field.name, graph, provided) for name in runtime)

    def entry_key(self, type_name: str, graph: str, source: str | None = None) -> Key | None:
        """A resolvable key through which `graph` can be entered for `type_name`: one whose
        fields `source` can give without another hop if there is one, else the first."""
        resolvable = [key for key in self.supergraph.keys(type_name, graph) if key.resolvable]
        if source is not None:
            for key in resolvable:
                if self.fields_local(type_name, key.selections, source):
                    return key
        return resolvable[0] if resolvable else None

    def key_at_hand(self, type_name: str, graph: str, source: str) -> bool:
        key = self.entry_key(type_name, graph, source)
        return key is not None and self.fields_local(type_name, key.selections, source)

    def fields_local(self, type_name: str, selections: SelectionSetNode, graph: str) -> bool:
        return all(
            self.local(type_name, node.name.value, graph, None)
            for node in selections.selections
            if isinstance(node, FieldNode)
        )

    def resolvable_in(self, type_name: str, field_name: str) -> frozenset[str]:
        meta = self.supergraph.types.get(type_name)
        if meta is None or field_name not in meta.fields:
            return frozenset()
        return meta.fields[field_name].resolvable_in

    def provided_on(self, provided: Provided | None, type_name: str) -> Provided | None:
        """The part of a `@provides` tree that holds for an object of `type_name`: its plain
        fields and the fragments whose type condition applies."""
        if provided is None:
            return None
        if not any(key.startswith(FRAGMENT_PREFIX) for key in provided):
            return provided
        out: dict[str, Provided] = {}
        for key, nested in provided.items():
            if not key.startswith(FRAGMENT_PREFIX):
                out[key] = nested
        for key, nested in provided.items():
            if key.startswith(FRAGMENT_PREFIX) and self.applies(
                key[len(FRAGMENT_PREFIX) :], type_name
            ):
                for name, inner in (self.provided_on(nested, type_name) or {}).items():
                    out[name] = {**out.get(name, {}), **inner}
        return out

    def local(self, type_name: str, field_name: str, graph: str, provided: Provided | None) -> bool:
        provided = self.provided_on(provided, type_name)
        if provided is not None and field_name in provided:
            return True
        # Key fields a type extension marks external are resolvable there already (the
        # supergraph's records say so); any other external key field is not.
        return graph in self.resolvable_in(type_name, field_name)

    def requires(self, type_name: str, field_name: str, graph: str) -> SelectionSetNode | None:
        meta = self.supergraph.types.get(type_name)
        if meta is None or field_name not in meta.fields:
            return None
        in_graph = meta.fields[field_name].in_graphs.get(graph)
        return in_graph.requires if in_graph is not None else None

    def context_arguments(
        self, type_name: str, field_name: str, graph: str
    ) -> tuple[ContextArgument, ...]:
        """The `@fromContext` arguments of a field in `graph`, filled from an ancestor."""
        meta = self.supergraph.types.get(type_name)
        if meta is None or field_name not in meta.fields:
            return ()
        in_graph = meta.fields[field_name].in_graphs.get(graph)
        return in_graph.context_arguments if in_graph is not None else ()

    def type_kind(self, type_name: str) -> str:
        meta = self.supergraph.types.get(type_name)
        return meta.kind if meta is not None else "SCALAR"

    def field_type(self, parent_type: str, field_name: str) -> tuple[str, int]:
        """The named return type of a field and how many lists wrap it."""
        parent = self.supergraph.schema.get_type(parent_type)
        if parent is None or not (is_object_type(parent) or is_interface_type(parent)):
            raise PlanningError(f"Unknown type {parent_type}")
        definition = parent.fields.get(field_name)
        if definition is None:
            raise PlanningError(f"Unknown field {parent_type}.{field_name}")
        wrapped = definition.type
        lists = 0
        while isinstance(wrapped, GraphQLList | GraphQLNonNull):
            if isinstance(wrapped, GraphQLList):
                lists += 1
            wrapped = wrapped.of_type
        return get_named_type(wrapped).name, lists

    def first(self, graphs: frozenset[str]) -> str:
        return min(graphs, key=lambda g: self.graph_order.get(g, 0))

    def applies(self, type_condition: str | None, type_name: str) -> bool:
        if type_condition is None or type_condition == type_name:
            return True
        return type_name in self.supergraph.possible_types(type_condition)


def _selects(selection_set: SelectionSetNode, field_name: str) -> bool:
    return any(
        isinstance(node, FieldNode) and node.name.value == field_name
        for node in selection_set.selections
    )
