"""The query planner: a normalized client operation becomes a QueryPlan of subgraph fetches.

The planner walks the client's selection with a current fetch group. A field the group's subgraph
can resolve stays in the group; any other field moves to an entity fetch in a subgraph that can
resolve it, entered through one of that subgraph's resolvable keys. Key and `@requires` fields
are planned like client fields, so they may need their own jumps. A `@requires` field is always
fetched by a separate post-requires step, even in the subgraph the walk is already in.
Groups are then frozen into Fetch/Flatten/Sequence/Parallel/Condition nodes.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace

from graphql import (
    FragmentDefinitionNode,
    OperationDefinitionNode,
    VariableDefinitionNode,
)

from federation.errors import PlanningError
from federation.planning.choices import Chooser
from federation.planning.contexts import ContextPlanning
from federation.planning.emit import emit_plan
from federation.planning.facts import SchemaFacts
from federation.planning.fetch_group import FetchGroup
from federation.planning.internal_fields import (
    client_fields_by_key,
    fields_from_selection_set,
    input_fields,
    internal_alias,
    nested_user_keys,
    provided_tree,
)
from federation.planning.level import Level, position
from federation.planning.normalize import (
    Condition,
    NField,
    NFragment,
    NSelection,
    normalize_operation,
)
from federation.planning.optimize import optimize
from federation.planning.paths import PathFinder
from federation.planning.plan import InputField, OperationKind, QueryPlan
from federation.planning.query_graph import QueryGraph
from federation.supergraph.model import ContextArgument, Supergraph

__all__ = ["QueryPlanner"]

_MAX_DEPTH = 64


class QueryPlanner:
    """Plans operations against one supergraph. Stateless between calls; cache plans outside."""

    def __init__(self, supergraph: Supergraph) -> None:
        self.supergraph = supergraph
        self.facts = SchemaFacts(supergraph)
        self.paths = PathFinder(self.facts, QueryGraph(supergraph))
        self.chooser = Chooser(self.facts, self.paths)

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
        run = _PlanRun(self, kind, frozenset(variable_types))
        run.plan_root(normalize_operation(operation, fragments))
        groups = optimize(run.groups, self.supergraph, kind)
        return emit_plan(groups, variable_types, kind)


class _PlanRun(ContextPlanning):
    """The state of planning one operation."""

    def __init__(
        self, planner: QueryPlanner, kind: OperationKind, client_variables: frozenset[str]
    ) -> None:
        self.planner = planner
        self.supergraph = planner.supergraph
        self.facts = planner.facts
        self.paths = planner.paths
        self.chooser = planner.chooser
        self.kind = kind
        self.groups: list[FetchGroup] = []
        self.children: dict[tuple[object, ...], FetchGroup] = {}
        #: (group id, path) -> the object types an abstract position is narrowed to
        self.scopes: dict[tuple[int, tuple[str, ...]], frozenset[str]] = {}
        self.depth = 0
        #: variable names taken: the client's, then each `@fromContext` value's
        self.variables = set(client_variables)
        #: (type, field, argument) -> the variable that carries its `@fromContext` value
        self.context_names: dict[tuple[str, str, str], str] = {}

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
        fields = [
            f for f in self.facts.flatten(selections, root_type) if not f.name.startswith("__")
        ]
        if self.kind == "mutation":
            self._plan_mutation_root(root_type, fields)
            return
        by_graph: dict[str, list[NField]] = {}
        for field in fields:
            candidates = self.facts.resolvable_in(root_type, field.name)
            if not candidates:
                raise PlanningError(f"Cannot query field {root_type}.{field.name}", [field.name])
            for graph, part in self.chooser.root_assignments(
                root_type, field, candidates, by_graph
            ):
                by_graph.setdefault(graph, []).append(part)
        for graph, graph_fields in by_graph.items():
            group = self.new_group(graph, (), is_entity=False)
            level = Level(group, group.selection, (), root_type, tuple(graph_fields), None, {})
            self.plan_level(level)

    def _plan_mutation_root(self, root_type: str, fields: list[NField]) -> None:
        # Mutations run in client order: only consecutive fields of one subgraph share a fetch.
        current: FetchGroup | None = None
        for field in fields:
            candidates = self.facts.resolvable_in(root_type, field.name)
            if not candidates:
                raise PlanningError(f"Cannot query field {root_type}.{field.name}", [field.name])
            if current is None or current.graph not in candidates:
                current = self.new_group(self.facts.first(candidates), (), is_entity=False)
            self.plan_level(Level(current, current.selection, (), root_type, (field,), None, {}))

    # -- one selection level ------------------------------------------------------------------

    def plan_level(self, level: Level) -> set[FetchGroup]:
        """Plan `level.selections` inside `level.group`.

        Returns every group that received fields (the producers of this data).
        """
        self.depth += 1
        if self.depth > _MAX_DEPTH:
            raise PlanningError("The operation is too deep to plan", list(level.path))
        try:
            if self.facts.is_interface_object(level.parent_type, level.group.graph):
                return self._plan_interface_object(level)
            if self.facts.type_kind(level.parent_type) in ("INTERFACE", "UNION"):
                return self._plan_abstract(level)
            return self._plan_object(level)
        finally:
            self.depth -= 1

    def _plan_abstract(self, level: Level) -> set[FetchGroup]:
        group, parent_type = level.group, level.parent_type
        graph = group.graph
        level.selection.field("__typename")
        runtime = sorted(self.supergraph.possible_types(parent_type, graph))
        if not runtime:
            self._check_no_runtime_fields(level)
        scope = self.scopes.get((group.id, level.path))
        if scope is not None:
            runtime = [name for name in runtime if name in scope]
        shared: list[NField] = []
        through_interface: list[NField] = []
        per_type: dict[str, list[NSelection]] = {name: [] for name in runtime}
        for item in level.selections:
            if isinstance(item, NField):
                if item.name == "__typename":
                    continue
                if self.facts.uniform(parent_type, item, runtime, graph, level.provided):
                    shared.append(item)
                elif self.facts.interface_entity_graphs(parent_type, item.name, graph):
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
            producers |= self._plan_remote(level, through_interface, self._level_keys(level))
        if shared:
            producers |= self._plan_object(replace(level, selections=tuple(shared)))
        for name, items in per_type.items():
            if items:
                fragment = level.selection.fragment(name)
                producers |= self.plan_level(
                    replace(
                        level,
                        selection=fragment.children,
                        parent_type=name,
                        selections=tuple(items),
                    )
                )
        return producers

    def _check_no_runtime_fields(self, level: Level) -> None:
        """An abstract type with no object type in this subgraph: a field asked on it must at
        least exist there, or no path can ever answer it."""
        for item in level.selections:
            if not isinstance(item, NField) or item.name == "__typename":
                continue
            if self.paths.options(level.group.graph, level.parent_type, item, guard=level.guard):
                continue
            raise PlanningError(
                f"Cannot plan field {level.parent_type}.{item.name}: no subgraph can resolve it "
                "from here",
                [*level.path, item.response_key],
            )

    def _plan_interface_object(self, level: Level) -> set[FetchGroup]:
        """An interface seen from a subgraph where it is an `@interfaceObject`.

        That subgraph only knows the interface's name, so `__typename` and fragments on concrete
        types need a type-lookup fetch to a subgraph where the interface is real.
        """
        plain: list[NSelection] = []
        lookups: list[NSelection] = []
        for item in level.selections:
            if isinstance(item, NField):
                (lookups if item.name == "__typename" else plain).append(item)
            elif item.type_condition in (None, level.parent_type):
                plain.append(NFragment(None, item.selections))
            else:
                lookups.append(item)
        plain_level = replace(level, selections=tuple(plain))
        producers = self._plan_object(plain_level)
        if lookups:
            owner = self.facts.interface_owner(level.parent_type)
            if owner is None:
                raise PlanningError(
                    f"No subgraph can tell the concrete type of {level.parent_type}",
                    list(level.path),
                )
            producers |= self._jump(
                level, owner, lookups, level.group.conditions, self._level_keys(plain_level),
                requires_field=None,
            )  # fmt: skip
        return producers

    def _plan_via_interface(
        self, level: Level, field: NField, level_keys: Mapping[str, NField]
    ) -> set[FetchGroup]:
        """A field an `@interfaceObject` adds, asked on a concrete type: fetch it on the
        interface, with the key read from the concrete object."""
        group, object_type = level.group, level.parent_type
        interface = self.facts.interface_with(object_type, field.name, group.graph)
        if interface is None:
            raise PlanningError(
                f"No subgraph resolves {object_type}.{field.name}", list(level.path)
            )
        graph = self.facts.first(
            frozenset(
                g
                for g in self.facts.resolvable_in(interface, field.name)
                if g != group.graph and self.facts.entry_key(interface, g) is not None
            )
        )
        requires = self.facts.requires(interface, field.name, graph) is not None
        return self._jump(
            replace(level, parent_type=interface), graph, [field],
            (*group.conditions, *field.conditions), level_keys,
            requires_field=field if requires else None, key_type=object_type,
        )  # fmt: skip

    def _plan_object(self, level: Level) -> set[FetchGroup]:
        group, parent_type = level.group, level.parent_type
        graph = group.graph
        fields = self.facts.flatten(level.selections, parent_type)
        level_keys = self._level_keys(level)
        producers = {group}
        remote: list[NField] = []
        local: list[NField] = []
        for field in fields:
            if field.name == "__typename":
                continue  # shaping answers it from the data or the static type
            in_group = self._plan_context_in_group(level, field)
            if in_group is not None:
                producers |= in_group
                continue
            if (
                self.facts.local(parent_type, field.name, graph, level.provided)
                and not self.facts.requires(parent_type, field.name, graph)
                and not self.facts.context_arguments(parent_type, field.name, graph)
            ):
                here, elsewhere = self.chooser.local_parts(position(level), field)
                if here is not None:
                    local.append(here)
                if elsewhere is not None:
                    remote.append(elsewhere)
            else:
                remote.append(field)
        hops = self._hop_targets(parent_type, remote, graph, level.exclude)
        for field in local:
            # A subtree this subgraph cannot finish, which a subgraph we hop to anyway can
            # answer whole: fetch it there, in the same request, instead of hopping twice.
            if (
                field.selections
                and hops
                and not self.facts.covers(graph, parent_type, field)
                and any(self.facts.covers(target, parent_type, field) for target in hops)
            ):
                remote.append(field)
                continue
            producers |= self._add_local(level, field, level_keys)
        for field in [f for f in remote if f not in local]:
            if not self.facts.resolvable_in(parent_type, field.name) and self.facts.interface_with(
                parent_type, field.name, graph
            ):
                producers |= self._plan_via_interface(level, field, level_keys)
                remote.remove(field)
        if remote:
            producers |= self._plan_remote(level, remote, level_keys)
        return producers

    def _entity_graphs(self, type_name: str) -> frozenset[str]:
        """The subgraphs an object of `type_name` can be entered in through a key: an entity
        is never pinned to the subgraph it was found in."""
        return frozenset(edge.head.graph for edge in self.paths.graph.entries(type_name))

    def _level_keys(self, level: Level) -> dict[str, NField]:
        """The client's fields at this level by response key (internal fields see the level's
        client fields, passed down to them as `user_keys`)."""
        fields = self.facts.flatten(level.selections, level.parent_type)
        return client_fields_by_key(fields) or dict(level.user_keys)

    def _hop_targets(
        self, parent_type: str, fields: list[NField], graph: str, exclude: frozenset[str]
    ) -> set[str]:
        """Subgraphs the walk will enter anyway from here, for fields only they resolve."""
        targets: set[str] = set()
        for field in fields:
            candidates = {
                g
                for g in self.facts.resolvable_in(parent_type, field.name) - exclude - {graph}
                if self.facts.entry_key(parent_type, g) is not None
            }
            if len(candidates) == 1:
                targets |= candidates
        return targets

    def _add_local(
        self, level: Level, field: NField, level_keys: Mapping[str, NField]
    ) -> set[FetchGroup]:
        group, parent_type, provided = level.group, level.parent_type, level.provided
        alias = field.alias
        if field.internal:
            alias = internal_alias(field, level_keys)
        directives = field.directives + field.forwarded
        sub = level.selection.field(field.name, alias, field.arguments, directives)
        if not field.selections:
            return {group}
        child_type, lists = self.facts.field_type(parent_type, field.name)
        child_path = (*level.path, alias or field.name, *(["@"] * lists))
        provided = self.facts.provided_on(provided, parent_type)
        child_provided = provided.get(field.name) if provided is not None else None
        meta = self.supergraph.types[parent_type].fields.get(field.name)
        in_graph = meta.in_graphs.get(group.graph) if meta is not None else None
        if in_graph is not None and in_graph.provides is not None:
            child_provided = provided_tree(in_graph.provides)
        graphs = self.facts.resolvable_in(parent_type, field.name)
        if level.candidates is not None:
            graphs &= level.candidates
        if group.graph not in graphs:  # provided here, or a key field only this graph returns
            graphs = frozenset((group.graph,))
        if self.facts.type_kind(child_type) in ("INTERFACE", "UNION") and len(graphs) > 1:
            # A shareable path whose abstract type has other members elsewhere: only the
            # members every candidate subgraph knows are asked for (as the peers do). A path
            # pinned to one subgraph (a field only it has, an entity jump) keeps all of that
            # subgraph's members.
            common = frozenset.intersection(
                *(self.supergraph.possible_types(child_type, g) for g in graphs)
            )
            self.scopes[(group.id, child_path)] = common
        producers = self.plan_level(
            replace(
                level,
                selection=sub.children,
                path=child_path,
                parent_type=child_type,
                selections=field.selections,
                candidates=graphs | self._entity_graphs(child_type),
                provided=child_provided,
                user_keys=nested_user_keys(field, level_keys),
                ancestors=(*level.ancestors, level),
            )
        )
        if not sub.children.items:
            # Everything under it was `__typename` (answered from the static type) or went to
            # other fetches: a composite field still needs a selection.
            sub.children.field("__typename")
        return producers

    # -- jumps --------------------------------------------------------------------------------

    def _plan_remote(
        self, level: Level, fields: list[NField], level_keys: Mapping[str, NField]
    ) -> set[FetchGroup]:
        group, parent_type = level.group, level.parent_type
        producers: set[FetchGroup] = set()
        assignments: dict[tuple[str, tuple[Condition, ...], bool], list[NField]] = {}
        for field, best in self.chooser.remote_targets(position(level), fields).items():
            with_requires = self.facts.requires(parent_type, field.name, best) is not None or bool(
                self.facts.context_arguments(parent_type, field.name, best)
            )
            key = (best, field.conditions, with_requires)
            assignments.setdefault(key, []).append(field)
        for (graph, conditions, with_requires), graph_fields in assignments.items():
            all_conditions = (*group.conditions, *conditions)
            if with_requires:
                for field in graph_fields:
                    producers |= self._jump(
                        level, graph, [field], all_conditions, level_keys, requires_field=field
                    )
            else:
                producers |= self._jump(
                    level, graph, graph_fields, all_conditions, level_keys, requires_field=None
                )
        return producers

    def _jump(
        self,
        level: Level,
        graph: str,
        fields: Sequence[NSelection],
        conditions: tuple[Condition, ...],
        level_keys: Mapping[str, NField],
        *,
        requires_field: NField | None,
        key_type: str | None = None,
    ) -> set[FetchGroup]:
        """Move `fields` to an entity fetch in `graph`, entered through one of its keys.

        Key (and required) fields are planned on `key_type` (default: `level.parent_type`) in
        the current group, where the data is; the fetch itself asks for `level.parent_type`.
        """
        group, path, parent_type = level.group, level.path, level.parent_type
        source_type = key_type or parent_type
        key = self.facts.entry_key(parent_type, graph, group.graph)
        if key is None:  # _plan_remote only offers graphs with an entry key
            raise PlanningError(f"No resolvable key of {parent_type} in {graph}", list(path))
        # The key fields come from the current group (or further jumps, never from the target).
        # Inputs needed only under a variable condition are fetched under that condition too.
        own = [f for f in fields if isinstance(f, NField)]
        directives = (
            own[0].directives if own and all(f.directives == own[0].directives for f in own) else ()
        )
        key_fields = fields_from_selection_set(key.selections, directives)
        inputs: list[InputField] = [InputField("__typename", "__typename")]
        level.selection.field("__typename")
        # Key and required fields come from this object, a @provides view of it included.
        source = replace(level, parent_type=source_type, user_keys=level_keys)
        producers = self.plan_level(
            replace(source, selections=key_fields, exclude=level.exclude | {graph})
        )
        inputs += input_fields(key_fields, level_keys)
        requires = None
        contexts: tuple[ContextArgument, ...] = ()
        if requires_field is not None:
            requires = self.facts.requires(parent_type, requires_field.name, graph)
            contexts = self.facts.context_arguments(parent_type, requires_field.name, graph)
        if requires is not None:
            required = fields_from_selection_set(requires, directives)
            # Required fields may come from anywhere, the target included (when it can resolve
            # them without the field being planned); cycles end at the depth guard.
            producers |= self.plan_level(replace(source, selections=required, exclude=frozenset()))
            inputs += input_fields(required, level_keys)
            child = self.new_group(graph, path, is_entity=True, conditions=conditions)
        else:
            lookup = (group.id, graph, path, conditions, bool(contexts))
            existing = self.children.get(lookup)
            if existing is None:
                existing = self.new_group(graph, path, is_entity=True, conditions=conditions)
                self.children[lookup] = existing
            child = existing
        if requires_field is not None and contexts:
            arguments, found = self._plan_contexts(level, child, contexts, requires_field)
            producers |= found
            requires_field = replace(
                requires_field, arguments=(*requires_field.arguments, *arguments)
            )
        child.parents |= {p.id for p in producers}
        # Representations are made only for objects of the type the data is known to be.
        child.add_input(source_type, inputs)
        if self.facts.is_interface_object(parent_type, graph):
            # That subgraph knows only the interface: send its name, not the concrete type's.
            child.input_rewrites[source_type] = parent_type
        fragment = child.selection.fragment(parent_type)
        target = Level(
            child,
            fragment.children,
            path,
            parent_type,
            tuple(fields),
            None,
            level_keys,
            candidates=frozenset((graph,)) | self._entity_graphs(parent_type),
            ancestors=level.ancestors,
            via=level,
        )
        # The groups that fetch data below the jumped-to fields produce this level's data too:
        # a step that needs it (a requires or key consumer) must wait for all of them.
        if requires_field is not None:
            # The post-requires step resolves the field itself, with its requirements in hand.
            return {child} | self._add_local(target, requires_field, level_keys)
        return {child} | self.plan_level(target)
