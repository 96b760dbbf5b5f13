"""Path finding over the query graph: can a selection be reached from a vertex, and at what cost.

The planner asks, at each decision, what each way of resolving a field costs from where the
walk stands: a field edge in the same subgraph, the same edge after a `@requires` round trip,
or a key edge into another subgraph (whose key fields must themselves be reachable). Costs
follow Hive Router's tree cost: a field costs 1, entering a subgraph costs 1000, and a
requirement costs 1000 plus what it takes to fetch it. A selection no path reaches costs None.

`@requires` conditions are solved recursively with the same search; a condition that needs the
field being solved (directly or through other requirements or keys) is a cycle and that option
is dropped, which is what makes `requires-circular`-style graphs plannable without looping.
"""

from __future__ import annotations

from dataclasses import dataclass

from federation.planning.facts import SchemaFacts
from federation.planning.internal_fields import Provided, fields_from_selection_set, provided_tree
from federation.planning.normalize import NField, NSelection
from federation.planning.query_graph import KeyEdge, QueryGraph, Vertex

__all__ = [
    "ENTER_COST",
    "FrozenProvided",
    "Option",
    "PathFinder",
    "freeze_provided",
    "thaw_provided",
]

ENTER_COST = 1000
_FIELD_COST = 1

#: A `@provides` view as hashable data: ((field, nested view), ...), sorted by field.
FrozenProvided = tuple[tuple[str, "FrozenProvided"], ...]
#: (type, field, graph) whose requirement is being solved, or ("key", type, graph) being entered
_Guard = frozenset[tuple[str, str, str]]


def freeze_provided(provided: Provided | None) -> FrozenProvided | None:
    if provided is None:
        return None
    return tuple(sorted((name, freeze_provided(sub) or ()) for name, sub in provided.items()))


def _thaw(provided: FrozenProvided | None) -> Provided | None:
    if provided is None:
        return None
    return {name: _thaw(sub) or {} for name, sub in provided}


@dataclass(frozen=True, slots=True)
class Option:
    """One way to resolve a field from a vertex: in `graph` (entered by `entry` unless it is
    the walk's own subgraph), at `cost` before the field's subselection."""

    graph: str
    cost: int
    entry: KeyEdge | None
    requires: bool
    child_provided: FrozenProvided | None


class PathFinder:
    """Answers reachability and cost questions for one supergraph; memoized across plans."""

    def __init__(self, facts: SchemaFacts, graph: QueryGraph) -> None:
        self.facts = facts
        self.graph = graph
        self._memo: dict[tuple[object, ...], int | None] = {}

    # -- selections ---------------------------------------------------------------------------

    def selection_cost(
        self,
        graph: str,
        type_name: str,
        selections: tuple[NSelection, ...],
        provided: FrozenProvided | None = None,
        guard: _Guard = frozenset(),
    ) -> int | None:
        """What resolving `selections` on a `type_name` held in `graph` costs (None: no path)."""
        memo_key = (graph, type_name, selections, provided, guard)
        if memo_key in self._memo:
            return self._memo[memo_key]
        self._memo[memo_key] = None  # a selection that needs itself has no path
        result = self._selection_cost(graph, type_name, selections, provided, guard)
        self._memo[memo_key] = result
        return result

    def _selection_cost(
        self,
        graph: str,
        type_name: str,
        selections: tuple[NSelection, ...],
        provided: FrozenProvided | None,
        guard: _Guard,
    ) -> int | None:
        facts = self.facts
        kind = facts.type_kind(type_name)
        if kind not in ("OBJECT", "INTERFACE", "UNION"):
            return 0
        if kind != "OBJECT" and facts.is_interface_object(type_name, graph):
            return self._interface_object_cost(graph, type_name, selections, provided, guard)
        if kind == "OBJECT":
            return self._fields_cost(
                graph, type_name, facts.flatten(selections, type_name), provided, guard
            )
        runtimes = sorted(facts.supergraph.possible_types(type_name, graph))
        # A fragment on the type itself asks its fields of every value, as a bare field does.
        if not runtimes and any(
            item.name != "__typename" and not self.options(graph, type_name, item, provided, guard)
            for item in facts.flatten(selections, type_name)
        ):
            return None  # no object type here, and the field is not even on the interface
        total = 0
        for runtime in runtimes:
            cost = self._fields_cost(
                graph, runtime, facts.flatten(selections, runtime), provided, guard
            )
            if cost is None:
                return None
            total += cost
        return total

    def _interface_object_cost(
        self,
        graph: str,
        type_name: str,
        selections: tuple[NSelection, ...],
        provided: FrozenProvided | None,
        guard: _Guard,
    ) -> int | None:
        plain: list[NField] = []
        lookups: list[NSelection] = []
        for item in selections:
            if isinstance(item, NField):
                (lookups if item.name == "__typename" else plain).append(item)
            elif item.type_condition in (None, type_name):
                plain += self.facts.flatten(item.selections, type_name)
            else:
                lookups.append(item)
        cost = self._fields_cost(graph, type_name, plain, provided, guard)
        if cost is None or not lookups:
            return cost
        best: int | None = None
        for edge in self.graph.type_lookups(type_name):
            looked_up = self.selection_cost(edge.head.graph, type_name, tuple(lookups), None, guard)
            if looked_up is not None and (best is None or looked_up < best):
                best = looked_up
        return None if best is None else cost + ENTER_COST + best

    def _fields_cost(
        self,
        graph: str,
        type_name: str,
        fields: list[NField],
        provided: FrozenProvided | None,
        guard: _Guard,
    ) -> int | None:
        total = 0
        for field in fields:
            if field.name == "__typename":
                continue
            cost = self.field_cost(graph, type_name, field, provided, guard)
            if cost is None:
                return None
            total += cost
        return total

    # -- one field ----------------------------------------------------------------------------

    def field_cost(
        self,
        graph: str,
        type_name: str,
        field: NField,
        provided: FrozenProvided | None = None,
        guard: _Guard = frozenset(),
    ) -> int | None:
        """The cheapest way to resolve `field` (and everything under it) from `graph`.

        When no single way resolves the whole subselection, its parts may each take their own
        way (a shareable field fetched from two subgraphs, each for what only it can answer).
        """
        options = self.options(graph, type_name, field, provided, guard)
        if not options:
            return None
        if not field.selections:
            return min(option.cost for option in options)
        whole = [
            self.option_cost(option, type_name, field, field.selections, guard)
            for option in options
        ]
        feasible = [cost for cost in whole if cost is not None]
        if feasible:
            return min(feasible)
        if len(field.selections) < 2:
            return None
        total = 0
        for item in field.selections:
            parts = [
                self.option_cost(option, type_name, field, (item,), guard) for option in options
            ]
            costs = [cost for cost in parts if cost is not None]
            if not costs:
                return None
            total += min(costs)
        return total

    def option_cost(
        self,
        option: Option,
        type_name: str,
        field: NField,
        selections: tuple[NSelection, ...],
        guard: _Guard = frozenset(),
    ) -> int | None:
        """`option`'s cost with `selections` (part of the field's subselection) under it."""
        parent = option.entry.head.type_name if option.entry is not None else type_name
        child_type = self.facts.field_type(parent, field.name)[0]
        below = self.selection_cost(
            option.graph, child_type, selections, option.child_provided, guard
        )
        return None if below is None else option.cost + below

    def options(
        self,
        graph: str,
        type_name: str,
        field: NField,
        provided: FrozenProvided | None = None,
        guard: _Guard = frozenset(),
        *,
        jumps: bool = True,
    ) -> list[Option]:
        """Every way to reach `field` from `type_name` in `graph`, before its subselection."""
        out: list[Option] = []
        local = self._in_graph(graph, type_name, field.name, provided, graph, guard)
        if local is not None:
            out.append(local)
            if not field.selections and not local.requires:
                return out  # a leaf found locally: no jump can do better
        if not jumps:
            return out
        for entry in self.graph.entries(type_name):
            target = entry.head.graph
            if target == graph or self.graph.field_edge(entry.head, field.name) is None:
                continue
            key_cost = self.key_cost(graph, type_name, entry, guard, provided)
            if key_cost is None:
                continue
            there = self._in_graph(target, entry.head.type_name, field.name, None, graph, guard)
            if there is not None:
                out.append(
                    Option(
                        target,
                        ENTER_COST + key_cost + there.cost,
                        entry,
                        there.requires,
                        there.child_provided,
                    )
                )
        return out

    def key_cost(
        self,
        graph: str,
        type_name: str,
        entry: KeyEdge,
        guard: _Guard,
        provided: FrozenProvided | None = None,
    ) -> int | None:
        """What it costs to hold `entry`'s key fields for an object of `type_name` in `graph`
        (where a `@provides` view may hold them). The key cannot come from the subgraph being
        entered."""
        mark = ("key", type_name, entry.head.graph)
        if mark in guard:
            return None
        key_fields = fields_from_selection_set(entry.key.selections)
        return self.selection_cost(graph, type_name, key_fields, provided, guard | {mark})

    def _in_graph(
        self,
        graph: str,
        type_name: str,
        field_name: str,
        provided: FrozenProvided | None,
        origin: str,
        guard: _Guard,
    ) -> Option | None:
        """The field edge of `graph` itself, with its requirement solved from `origin`."""
        if provided is not None:
            here = self.facts.provided_on(thaw_provided(provided), type_name) or {}
            if field_name in here:
                nested = freeze_provided(here[field_name])
                # Free: a provided field is what the @provides is for, so paths through it win
                # ties, and the owner is not called for what was provided.
                return Option(graph, 0, None, False, nested)
        edge = self.graph.field_edge(Vertex(type_name, graph), field_name)
        if edge is None:
            return None
        child_provided = (
            freeze_provided(provided_tree(edge.provides)) if edge.provides is not None else None
        )
        if edge.requires is None and edge.contextual:
            # Like a requirement met by an ancestor: always a round trip of its own.
            return Option(graph, ENTER_COST + _FIELD_COST, None, True, child_provided)
        if edge.requires is None:
            return Option(graph, _FIELD_COST, None, False, child_provided)
        mark = (type_name, field_name, graph)
        if mark in guard:
            return None
        required = fields_from_selection_set(edge.requires)
        cost = self.selection_cost(origin, type_name, required, None, guard | {mark})
        if cost is None:
            return None
        return Option(graph, ENTER_COST + cost + _FIELD_COST, None, True, child_provided)


def thaw_provided(provided: FrozenProvided | None) -> Provided | None:
    """The planner's `Provided` tree back from its frozen form."""
    return _thaw(provided)
