"""The query planner: a normalized client operation becomes a QueryPlan of subgraph fetches.

The planner walks the client's selection with a current fetch group. A field the group's subgraph
can resolve stays in the group; any other field moves to an entity fetch in a subgraph that can
resolve it, entered through one of that subgraph's resolvable keys. Key and `@requires` fields
are planned like client fields, so they may need their own jumps. A `@requires` field is always
fetched by a separate post-requires step, even in the subgraph the walk is already in.
Groups are then frozen into Fetch/Flatten/Sequence/Parallel/Condition nodes.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import replace

from graphql import (
    DirectiveNode,
    FieldNode,
    FragmentDefinitionNode,
    GraphQLList,
    GraphQLNonNull,
    InlineFragmentNode,
    OperationDefinitionNode,
    SelectionSetNode,
    VariableDefinitionNode,
    get_named_type,
    is_interface_type,
    is_object_type,
)

from federation.emit import emit_plan
from federation.errors import PlanningError
from federation.fetch_group import FetchGroup, SubSelectionSet
from federation.normalize import Condition, NField, NFragment, NSelection, normalize_operation
from federation.optimize import merge_siblings
from federation.plan import InputField, InputFragment, InputSelection, OperationKind, QueryPlan
from federation.supergraph import Key, Supergraph

__all__ = ["QueryPlanner"]

#: Provided fields under a `@provides` field path: field name -> nested provided fields.
Provided = Mapping[str, "Provided"]

_MAX_DEPTH = 64


class QueryPlanner:
    """Plans operations against one supergraph. Stateless between calls; cache plans outside."""

    def __init__(self, supergraph: Supergraph) -> None:
        self.supergraph = supergraph
        self.graph_order = {name: index for index, name in enumerate(supergraph.graphs)}

    def plan(
        self,
        operation: OperationDefinitionNode,
        fragments: Mapping[str, FragmentDefinitionNode],
    ) -> QueryPlan:
        """Plan one operation. Raises PlanningError when a field cannot be reached."""
        kind: OperationKind = operation.operation.value
        # Subgraph operations redeclare the client's variables, defaults included: a nullable
        # variable with a default may stand where a non-null value is expected.
        variable_types: dict[str, VariableDefinitionNode] = {
            d.variable.name.value: d for d in operation.variable_definitions or ()
        }
        run = _PlanRun(self, kind)
        run.plan_root(normalize_operation(operation, fragments))
        return emit_plan(merge_siblings(run.groups), variable_types, kind)


class _PlanRun:
    """The state of planning one operation."""

    def __init__(self, planner: QueryPlanner, kind: OperationKind) -> None:
        self.planner = planner
        self.supergraph = planner.supergraph
        self.kind = kind
        self.groups: list[FetchGroup] = []
        self.children: dict[tuple[object, ...], FetchGroup] = {}
        #: (group id, path) -> the object types an abstract position is narrowed to
        self.scopes: dict[tuple[int, tuple[str, ...]], frozenset[str]] = {}
        self.depth = 0

    # -- groups -------------------------------------------------------------------------------

    def new_group(
        self,
        graph: str,
        merge_at: tuple[str, ...],
        *,
        is_entity: bool,
        conditions: tuple[Condition, ...] = (),
    ) -> FetchGroup:
        group = FetchGroup(
            len(self.groups), graph, merge_at, is_entity=is_entity, conditions=conditions
        )
        self.groups.append(group)
        return group

    # -- root ---------------------------------------------------------------------------------

    def plan_root(self, selections: tuple[NSelection, ...]) -> None:
        root_type = self.supergraph.root_types[self.kind]
        fields = [f for f in _flatten(selections, root_type, self) if not f.name.startswith("__")]
        if self.kind == "mutation":
            self._plan_mutation_root(root_type, fields)
            return
        by_graph: dict[str, list[NField]] = {}
        for field in fields:
            candidates = self._resolvable_in(root_type, field.name)
            if not candidates:
                raise PlanningError(f"Cannot query field {root_type}.{field.name}", [field.name])
            if self._should_split(root_type, field, candidates):
                for graph, part in self._split_shared_root(root_type, field, candidates):
                    by_graph.setdefault(graph, []).append(part)
                continue
            chosen = self._best_root_graph(root_type, field, candidates, by_graph)
            by_graph.setdefault(chosen, []).append(field)
        for graph, graph_fields in by_graph.items():
            group = self.new_group(graph, (), is_entity=False)
            self.plan_level(group, group.selection, (), root_type, tuple(graph_fields), None, {})

    def _plan_mutation_root(self, root_type: str, fields: list[NField]) -> None:
        # Mutations run in client order: only consecutive fields of one subgraph share a fetch.
        current: FetchGroup | None = None
        for field in fields:
            candidates = self._resolvable_in(root_type, field.name)
            if not candidates:
                raise PlanningError(f"Cannot query field {root_type}.{field.name}", [field.name])
            if current is None or current.graph not in candidates:
                current = self.new_group(self._first(candidates), (), is_entity=False)
            self.plan_level(current, current.selection, (), root_type, (field,), None, {})

    def _best_root_graph(
        self,
        root_type: str,
        field: NField,
        candidates: frozenset[str],
        chosen: Mapping[str, list[NField]],
    ) -> str:
        if len(candidates) == 1:
            return next(iter(candidates))
        # A shareable root field: prefer the subgraph that resolves most of what is under it,
        # then one already being fetched from, then supergraph order.
        return max(
            candidates,
            key=lambda g: (
                self._coverage(g, root_type, field),
                g in chosen,
                -self.planner.graph_order.get(g, 0),
            ),
        )

    def _should_split(self, root_type: str, field: NField, candidates: frozenset[str]) -> bool:
        """A shareable root field no single subgraph can answer whole, over an object type."""
        if len(candidates) < 2 or not field.selections:
            return False
        if self._type_kind(self._field_type(root_type, field.name)[0]) != "OBJECT":
            return False
        return not any(self._covers(graph, root_type, field) for graph in candidates)

    def _split_shared_root(
        self, root_type: str, field: NField, candidates: frozenset[str]
    ) -> list[tuple[str, NField]]:
        """Ask each subgraph for the part of a shareable root field it resolves itself: the
        root fetches then run in parallel, and their answers merge element by element."""
        child_type = self._field_type(root_type, field.name)[0]
        ordered = sorted(
            candidates,
            key=lambda g: (-self._coverage(g, root_type, field), self.planner.graph_order[g]),
        )
        parts: dict[str, list[NSelection]] = {}
        for child in _flatten(field.selections, child_type, self):
            home = next((g for g in ordered if self._covers(g, child_type, child)), ordered[0])
            parts.setdefault(home, []).append(child)
        return [
            (graph, replace(field, selections=tuple(children)))
            for graph, children in sorted(parts.items(), key=lambda p: ordered.index(p[0]))
        ]

    def _covers(self, graph: str, parent_type: str, field: NField) -> bool:
        """Whether `graph` resolves the field and everything under it without a hop."""
        if field.name == "__typename":
            return True
        if not self._local(parent_type, field.name, graph, None):
            return False
        if self._requires(parent_type, field.name, graph) is not None:
            return False
        if not field.selections:
            return True
        child_type = self._field_type(parent_type, field.name)[0]
        if self._type_kind(child_type) != "OBJECT":
            return False  # abstract positions are judged per member while planning
        return all(
            self._covers(graph, child_type, child)
            for child in _flatten(field.selections, child_type, self)
        )

    def _coverage(self, graph: str, parent_type: str, field: NField) -> int:
        if graph not in self._resolvable_in(parent_type, field.name):
            return 0
        child_type = self._field_type(parent_type, field.name)[0]
        score = 1
        for child in _flatten(field.selections, child_type, self):
            if child.name != "__typename" and self._type_kind(child_type) == "OBJECT":
                score += self._coverage(graph, child_type, child)
        return score

    # -- one selection level ------------------------------------------------------------------

    def plan_level(
        self,
        group: FetchGroup,
        selection: SubSelectionSet,
        path: tuple[str, ...],
        parent_type: str,
        selections: tuple[NSelection, ...],
        provided: Provided | None,
        user_keys: Mapping[str, NField],
        exclude: frozenset[str] = frozenset(),
    ) -> set[FetchGroup]:
        """Plan `selections` on `parent_type` at `path` inside `group`.

        Returns every group that received fields (the producers of this data).
        """
        self.depth += 1
        if self.depth > _MAX_DEPTH:
            raise PlanningError("The operation is too deep to plan", list(path))
        try:
            if self._is_interface_object(parent_type, group.graph):
                return self._plan_interface_object(
                    group, selection, path, parent_type, selections, provided, user_keys, exclude
                )
            if self._type_kind(parent_type) in ("INTERFACE", "UNION"):
                return self._plan_abstract(
                    group, selection, path, parent_type, selections, provided, user_keys, exclude
                )
            return self._plan_object(
                group, selection, path, parent_type, selections, provided, user_keys, exclude
            )
        finally:
            self.depth -= 1

    def _plan_abstract(
        self,
        group: FetchGroup,
        selection: SubSelectionSet,
        path: tuple[str, ...],
        parent_type: str,
        selections: tuple[NSelection, ...],
        provided: Provided | None,
        user_keys: Mapping[str, NField],
        exclude: frozenset[str],
    ) -> set[FetchGroup]:
        graph = group.graph
        selection.field("__typename")
        runtime = sorted(self.supergraph.possible_types(parent_type, graph))
        scope = self.scopes.get((group.id, path))
        if scope is not None:
            runtime = [name for name in runtime if name in scope]
        shared: list[NField] = []
        through_interface: list[NField] = []
        per_type: dict[str, list[NSelection]] = {name: [] for name in runtime}
        for item in selections:
            if isinstance(item, NField):
                if item.name == "__typename":
                    continue
                if self._uniform(parent_type, item, runtime, graph, provided):
                    shared.append(item)
                elif self._interface_entity_graphs(parent_type, item.name, graph):
                    through_interface.append(item)
                else:
                    for name in runtime:
                        per_type[name].append(item)
                continue
            condition = item.type_condition or parent_type
            for name in runtime:
                if name == condition or name in self.supergraph.possible_types(condition):
                    per_type[name].append(NFragment(None, item.selections))
        producers = {group}
        if through_interface:
            # Fields an `@interfaceObject` (or an entity interface) adds: fetched on the
            # interface itself, whatever the concrete type.
            level_keys = _user_keys(_flatten(selections, parent_type, self)) or dict(user_keys)
            producers |= self._plan_remote(
                group, selection, path, parent_type, through_interface, level_keys, exclude
            )
        if shared:
            producers |= self._plan_object(
                group, selection, path, parent_type, tuple(shared), provided, user_keys, exclude
            )
        for name, items in per_type.items():
            if items:
                fragment = selection.fragment(name)
                producers |= self.plan_level(
                    group, fragment.children, path, name, tuple(items), provided, user_keys, exclude
                )
        return producers

    def _plan_interface_object(
        self,
        group: FetchGroup,
        selection: SubSelectionSet,
        path: tuple[str, ...],
        parent_type: str,
        selections: tuple[NSelection, ...],
        provided: Provided | None,
        user_keys: Mapping[str, NField],
        exclude: frozenset[str],
    ) -> set[FetchGroup]:
        """An interface seen from a subgraph where it is an `@interfaceObject`.

        That subgraph only knows the interface's name, so `__typename` and fragments on concrete
        types need a type-lookup fetch to a subgraph where the interface is real.
        """
        plain: list[NSelection] = []
        lookups: list[NSelection] = []
        for item in selections:
            if isinstance(item, NField):
                (lookups if item.name == "__typename" else plain).append(item)
            elif item.type_condition in (None, parent_type):
                plain.append(NFragment(None, item.selections))
            else:
                lookups.append(item)
        producers = self._plan_object(
            group, selection, path, parent_type, tuple(plain), provided, user_keys, exclude
        )
        if lookups:
            owner = self._interface_owner(parent_type)
            if owner is None:
                raise PlanningError(
                    f"No subgraph can tell the concrete type of {parent_type}", list(path)
                )
            level_keys = _user_keys(_flatten(tuple(plain), parent_type, self)) or dict(user_keys)
            producers |= self._jump(
                group, selection, path, parent_type, owner, lookups,
                group.conditions, level_keys, exclude, requires_field=None,
            )  # fmt: skip
        return producers

    def _interface_with(self, type_name: str, field_name: str, graph: str) -> str | None:
        """An interface of the type that another subgraph extends with the field."""
        definition = self.supergraph.schema.get_type(type_name)
        for interface in getattr(definition, "interfaces", ()):
            if self._interface_entity_graphs(interface.name, field_name, graph):
                return str(interface.name)
        return None

    def _plan_via_interface(
        self,
        group: FetchGroup,
        selection: SubSelectionSet,
        path: tuple[str, ...],
        object_type: str,
        field: NField,
        level_keys: Mapping[str, NField],
        exclude: frozenset[str],
    ) -> set[FetchGroup]:
        """A field an `@interfaceObject` adds, asked on a concrete type: fetch it on the
        interface, with the key read from the concrete object."""
        interface = self._interface_with(object_type, field.name, group.graph)
        if interface is None:
            raise PlanningError(f"No subgraph resolves {object_type}.{field.name}", list(path))
        graph = self._first(
            frozenset(
                g
                for g in self._resolvable_in(interface, field.name)
                if g != group.graph and self._entry_key(interface, g) is not None
            )
        )
        requires = self._requires(interface, field.name, graph) is not None
        return self._jump(
            group, selection, path, interface, graph, [field],
            (*group.conditions, *field.conditions), level_keys, exclude,
            requires_field=field if requires else None, key_type=object_type,
        )  # fmt: skip

    def _is_interface_object(self, type_name: str, graph: str) -> bool:
        meta = self.supergraph.types.get(type_name)
        in_graph = meta.in_graphs.get(graph) if meta is not None else None
        return in_graph is not None and in_graph.is_interface_object

    def _interface_owner(self, type_name: str) -> str | None:
        """A subgraph where the interface is real and can be entered through a key."""
        meta = self.supergraph.types[type_name]
        for graph in sorted(meta.in_graphs, key=lambda g: self.planner.graph_order.get(g, 0)):
            if not meta.in_graphs[graph].is_interface_object and self._entry_key(type_name, graph):
                return graph
        return None

    def _interface_entity_graphs(self, type_name: str, field_name: str, graph: str) -> bool:
        """Whether another subgraph resolves the field on the interface, entered by its key."""
        if self._type_kind(type_name) != "INTERFACE":
            return False
        return any(
            other != graph and self._entry_key(type_name, other) is not None
            for other in self._resolvable_in(type_name, field_name)
        )

    def _uniform(
        self,
        parent_type: str,
        field: NField,
        runtime: list[str],
        graph: str,
        provided: Provided | None,
    ) -> bool:
        """Whether an interface field can be fetched on the interface itself from `graph`."""
        if self._type_kind(parent_type) != "INTERFACE":
            return False
        if not self._local(parent_type, field.name, graph, provided):
            return False
        return all(self._local(name, field.name, graph, provided) for name in runtime)

    def _plan_object(
        self,
        group: FetchGroup,
        selection: SubSelectionSet,
        path: tuple[str, ...],
        parent_type: str,
        selections: tuple[NSelection, ...],
        provided: Provided | None,
        user_keys: Mapping[str, NField],
        exclude: frozenset[str],
    ) -> set[FetchGroup]:
        graph = group.graph
        fields = _flatten(selections, parent_type, self)
        level_keys = _user_keys(fields) or dict(user_keys)
        producers = {group}
        remote: list[NField] = []
        local: list[NField] = []
        for field in fields:
            if field.name == "__typename":
                continue  # shaping answers it from the data or the static type
            if self._local(parent_type, field.name, group.graph, provided) and not self._requires(
                parent_type, field.name, graph
            ):
                local.append(field)
            else:
                remote.append(field)
        hops = self._hop_targets(parent_type, remote, graph, exclude)
        for field in local:
            # A subtree this subgraph cannot finish, which a subgraph we hop to anyway can
            # answer whole: fetch it there, in the same request, instead of hopping twice.
            if (
                field.selections
                and hops
                and not self._covers(graph, parent_type, field)
                and any(self._covers(target, parent_type, field) for target in hops)
            ):
                remote.append(field)
                continue
            producers |= self._add_local(
                group, selection, path, parent_type, field, provided, level_keys, exclude
            )
        for field in [f for f in remote if f not in local]:
            if not self._resolvable_in(parent_type, field.name) and self._interface_with(
                parent_type, field.name, graph
            ):
                producers |= self._plan_via_interface(
                    group, selection, path, parent_type, field, level_keys, exclude
                )
                remote.remove(field)
        if remote:
            producers |= self._plan_remote(
                group, selection, path, parent_type, remote, level_keys, exclude
            )
        return producers

    def _hop_targets(
        self, parent_type: str, fields: list[NField], graph: str, exclude: frozenset[str]
    ) -> set[str]:
        """Subgraphs the walk will enter anyway from here, for fields only they resolve."""
        targets: set[str] = set()
        for field in fields:
            candidates = {
                g
                for g in self._resolvable_in(parent_type, field.name) - exclude - {graph}
                if self._entry_key(parent_type, g) is not None
            }
            if len(candidates) == 1:
                targets |= candidates
        return targets

    def _add_local(
        self,
        group: FetchGroup,
        selection: SubSelectionSet,
        path: tuple[str, ...],
        parent_type: str,
        field: NField,
        provided: Provided | None,
        level_keys: Mapping[str, NField],
        exclude: frozenset[str],
    ) -> set[FetchGroup]:
        alias = field.alias
        if field.internal:
            alias = _internal_alias(field, level_keys)
        sub = selection.field(field.name, alias, field.arguments, field.directives)
        if not field.selections:
            return {group}
        child_type, lists = self._field_type(parent_type, field.name)
        child_path = (*path, alias or field.name, *(["@"] * lists))
        child_provided = provided.get(field.name) if provided is not None else None
        meta = self.supergraph.types[parent_type].fields.get(field.name)
        in_graph = meta.in_graphs.get(group.graph) if meta is not None else None
        if in_graph is not None and in_graph.provides is not None:
            child_provided = _provided_tree(in_graph.provides)
        if self._type_kind(child_type) in ("INTERFACE", "UNION"):
            graphs = self._resolvable_in(parent_type, field.name)
            if len(graphs) > 1:
                # A shareable field whose abstract type has other members elsewhere: only the
                # members every candidate subgraph knows are asked for (as the peers do).
                common = frozenset.intersection(
                    *(self.supergraph.possible_types(child_type, g) for g in graphs)
                )
                self.scopes[(group.id, child_path)] = common
        nested_keys = _nested_user_keys(field, level_keys)
        return self.plan_level(
            group, sub.children, child_path, child_type, field.selections,
            child_provided, nested_keys, exclude,
        )  # fmt: skip

    # -- jumps --------------------------------------------------------------------------------

    def _plan_remote(
        self,
        group: FetchGroup,
        selection: SubSelectionSet,
        path: tuple[str, ...],
        parent_type: str,
        fields: list[NField],
        level_keys: Mapping[str, NField],
        exclude: frozenset[str],
    ) -> set[FetchGroup]:
        producers: set[FetchGroup] = set()
        assignments: dict[tuple[str, tuple[Condition, ...], bool], list[NField]] = {}
        pending = list(fields)
        while pending:
            options: dict[str, list[NField]] = {}
            for field in pending:
                for graph in self._resolvable_in(parent_type, field.name) - exclude:
                    if self._entry_key(parent_type, graph) is not None:
                        options.setdefault(graph, []).append(field)
            unplannable = [f for f in pending if not any(f in v for v in options.values())]
            if unplannable:
                field = unplannable[0]
                raise PlanningError(
                    f"Cannot plan field {parent_type}.{field.name}: no subgraph can resolve it "
                    "from here",
                    [*path, field.response_key],
                )
            # Hop as little as possible: prefer a subgraph entered with a key at hand, then the
            # one that resolves the most fields, then supergraph order.
            best = max(
                options,
                key=lambda g: (
                    self._key_at_hand(parent_type, g, group.graph),
                    len(options[g]),
                    -self.planner.graph_order[g],
                ),
            )
            for field in options[best]:
                with_requires = self._requires(parent_type, field.name, best) is not None
                key = (best, field.conditions, with_requires)
                assignments.setdefault(key, []).append(field)
            pending = [f for f in pending if f not in options[best]]
        for (graph, conditions, with_requires), graph_fields in assignments.items():
            all_conditions = (*group.conditions, *conditions)
            if with_requires:
                for field in graph_fields:
                    producers |= self._jump(
                        group, selection, path, parent_type, graph, [field],
                        all_conditions, level_keys, exclude, requires_field=field,
                    )  # fmt: skip
            else:
                producers |= self._jump(
                    group, selection, path, parent_type, graph, graph_fields,
                    all_conditions, level_keys, exclude, requires_field=None,
                )  # fmt: skip
        return producers

    def _jump(
        self,
        group: FetchGroup,
        selection: SubSelectionSet,
        path: tuple[str, ...],
        parent_type: str,
        graph: str,
        fields: Sequence[NSelection],
        conditions: tuple[Condition, ...],
        level_keys: Mapping[str, NField],
        exclude: frozenset[str],
        *,
        requires_field: NField | None,
        key_type: str | None = None,
    ) -> set[FetchGroup]:
        """Move `fields` to an entity fetch in `graph`, entered through one of its keys.

        Key (and required) fields are planned on `key_type` (default: `parent_type`) in the
        current group, where the data is; the fetch itself asks for `parent_type`.
        """
        source_type = key_type or parent_type
        key = self._entry_key(parent_type, graph, group.graph)
        if key is None:  # _plan_remote only offers graphs with an entry key
            raise PlanningError(f"No resolvable key of {parent_type} in {graph}", list(path))
        # The key fields come from the current group (or further jumps, never from the target).
        # Inputs needed only under a variable condition are fetched under that condition too.
        own = [f for f in fields if isinstance(f, NField)]
        directives = (
            own[0].directives if own and all(f.directives == own[0].directives for f in own) else ()
        )
        key_fields = _fields_from_selection_set(key.selections, directives)
        inputs: list[InputField] = [InputField("__typename", "__typename")]
        selection.field("__typename")
        producers = self.plan_level(
            group, selection, path, source_type, key_fields, None, level_keys,
            exclude | {graph},
        )  # fmt: skip
        inputs += _input_fields(key_fields, level_keys)
        if requires_field is not None:
            requires = self._requires(parent_type, requires_field.name, graph)
            if requires is None:
                raise PlanningError("internal: requires vanished", list(path))
            required = _fields_from_selection_set(requires, directives)
            # Required fields may come from anywhere, the target included (when it can resolve
            # them without the field being planned); cycles end at the depth guard.
            producers |= self.plan_level(
                group, selection, path, source_type, required, None, level_keys
            )
            inputs += _input_fields(required, level_keys)
            child = self.new_group(graph, path, is_entity=True, conditions=conditions)
        else:
            lookup = (group.id, graph, path, conditions)
            existing = self.children.get(lookup)
            if existing is None:
                existing = self.new_group(graph, path, is_entity=True, conditions=conditions)
                self.children[lookup] = existing
            child = existing
        child.parents |= {p.id for p in producers}
        # Representations are made only for objects of the type the data is known to be.
        child.add_input(source_type, inputs)
        if self._is_interface_object(parent_type, graph):
            # That subgraph knows only the interface: send its name, not the concrete type's.
            child.input_rewrites[source_type] = parent_type
        fragment = child.selection.fragment(parent_type)
        if requires_field is not None:
            # The post-requires step resolves the field itself, with its requirements in hand.
            self._add_local(
                child, fragment.children, path, parent_type, requires_field, None, level_keys,
                frozenset(),
            )  # fmt: skip
        else:
            self.plan_level(
                child, fragment.children, path, parent_type, tuple(fields), None, level_keys
            )
        return {child}

    def _entry_key(self, type_name: str, graph: str, source: str | None = None) -> Key | None:
        """A resolvable key through which `graph` can be entered for `type_name`: one whose
        fields `source` can give without another hop if there is one, else the first."""
        resolvable = [key for key in self.supergraph.keys(type_name, graph) if key.resolvable]
        if source is not None:
            for key in resolvable:
                if self._fields_local(type_name, key.selections, source):
                    return key
        return resolvable[0] if resolvable else None

    def _key_at_hand(self, type_name: str, graph: str, source: str) -> bool:
        key = self._entry_key(type_name, graph, source)
        return key is not None and self._fields_local(type_name, key.selections, source)

    def _fields_local(self, type_name: str, selections: SelectionSetNode, graph: str) -> bool:
        return all(
            self._local(type_name, node.name.value, graph, None)
            for node in selections.selections
            if isinstance(node, FieldNode)
        )

    # -- schema facts -------------------------------------------------------------------------

    def _resolvable_in(self, type_name: str, field_name: str) -> frozenset[str]:
        meta = self.supergraph.types.get(type_name)
        if meta is None or field_name not in meta.fields:
            return frozenset()
        return meta.fields[field_name].resolvable_in

    def _local(
        self, type_name: str, field_name: str, graph: str, provided: Provided | None
    ) -> bool:
        if provided is not None and field_name in provided:
            return True
        if graph in self._resolvable_in(type_name, field_name):
            return True
        # A graph can always return the fields of its own keys (federation 1 marks them external).
        return any(
            _selects(key.selections, field_name) for key in self.supergraph.keys(type_name, graph)
        )

    def _requires(self, type_name: str, field_name: str, graph: str) -> SelectionSetNode | None:
        meta = self.supergraph.types.get(type_name)
        if meta is None or field_name not in meta.fields:
            return None
        in_graph = meta.fields[field_name].in_graphs.get(graph)
        return in_graph.requires if in_graph is not None else None

    def _type_kind(self, type_name: str) -> str:
        meta = self.supergraph.types.get(type_name)
        return meta.kind if meta is not None else "SCALAR"

    def _field_type(self, parent_type: str, field_name: str) -> tuple[str, int]:
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

    def _first(self, graphs: frozenset[str]) -> str:
        return min(graphs, key=lambda g: self.planner.graph_order.get(g, 0))

    def applies(self, type_condition: str | None, type_name: str) -> bool:
        if type_condition is None or type_condition == type_name:
            return True
        return type_name in self.supergraph.possible_types(type_condition)


# -- helpers ----------------------------------------------------------------------------------


def _flatten(selections: tuple[NSelection, ...], type_name: str, run: _PlanRun) -> list[NField]:
    """The fields of a selection on an object type, with applicable fragments inlined."""
    out: list[NField] = []
    for item in selections:
        if isinstance(item, NField):
            out.append(item)
        elif run.applies(item.type_condition, type_name):
            out += _flatten(item.selections, type_name, run)
    return out


def _user_keys(fields: list[NField]) -> dict[str, NField]:
    return {f.response_key: f for f in fields if not f.internal}


def _nested_user_keys(field: NField, level_keys: Mapping[str, NField]) -> dict[str, NField]:
    """The client's fields under the same response object, so internal fields can dodge them."""
    user = level_keys.get(field.response_key)
    if user is None or user.name != field.name:
        return {}
    return {f.response_key: f for f in user.selections if isinstance(f, NField)}


def _internal_alias(field: NField, level_keys: Mapping[str, NField]) -> str | None:
    """An alias for an internal field whose name a client field already uses differently."""
    user = level_keys.get(field.name)
    if user is not None and user.name == field.name and user.arguments_text == field.arguments_text:
        return None
    if field.arguments:
        # Two requirements may need one field with different arguments: each gets its own
        # response key, derived from the arguments so every plan of the operation agrees.
        digest = hashlib.sha1(field.arguments_text.encode()).hexdigest()[:8]
        return f"_eg_{field.name}_{digest}"
    return None if user is None else f"_eg_{field.name}"


def _fields_from_selection_set(
    selection_set: SelectionSetNode, directives: tuple[DirectiveNode, ...] = ()
) -> tuple[NSelection, ...]:
    """Internal fields for a key or requires FieldSet; `directives` go on the top level only."""
    out: list[NSelection] = []
    for node in selection_set.selections:
        if isinstance(node, FieldNode):
            children = _fields_from_selection_set(node.selection_set) if node.selection_set else ()
            out.append(
                NField(
                    response_key=node.name.value,
                    name=node.name.value,
                    alias=None,
                    arguments=tuple(node.arguments or ()),
                    directives=directives,
                    conditions=(),
                    selections=children,
                    internal=True,
                )
            )
        elif isinstance(node, InlineFragmentNode):
            condition = node.type_condition.name.value if node.type_condition else None
            inner = _fields_from_selection_set(node.selection_set, directives)
            out.append(NFragment(condition, inner))
    return tuple(out)


def _input_fields(
    selections: tuple[NSelection, ...], level_keys: Mapping[str, NField]
) -> list[InputField]:
    out: list[InputField] = []
    for item in selections:
        if isinstance(item, NField):
            alias = _internal_alias(item, level_keys) if item.internal else item.alias
            nested = _nested_user_keys(item, level_keys)
            children: tuple[InputSelection, ...] = tuple(_input_selections(item.selections, nested))
            out.append(InputField(item.name, alias or item.name, children))
        else:
            out += _input_fields(item.selections, level_keys)
    return out


def _input_selections(
    selections: tuple[NSelection, ...], level_keys: Mapping[str, NField]
) -> list[InputSelection]:
    out: list[InputSelection] = []
    if any(isinstance(item, NFragment) for item in selections):
        out.append(InputField("__typename", "__typename"))
    for item in selections:
        if isinstance(item, NField):
            out += _input_fields((item,), level_keys)
        elif item.type_condition is not None:
            out.append(
                InputFragment(item.type_condition, tuple(_input_fields(item.selections, {})))
            )
        else:
            out += _input_fields(item.selections, level_keys)
    return out


def _provided_tree(selection_set: SelectionSetNode) -> dict[str, Provided]:
    tree: dict[str, Provided] = {}
    for node in selection_set.selections:
        if isinstance(node, FieldNode):
            nested = _provided_tree(node.selection_set) if node.selection_set else {}
            tree[node.name.value] = nested
        elif isinstance(node, InlineFragmentNode):
            tree.update(_provided_tree(node.selection_set))
    return tree


def _selects(selection_set: SelectionSetNode, field_name: str) -> bool:
    return any(
        isinstance(node, FieldNode) and node.name.value == field_name
        for node in selection_set.selections
    )
