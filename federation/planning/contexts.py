"""`@fromContext` arguments: what the planner asks an ancestor for, and where execution reads it.

A field argument marked `@fromContext(field: "$shop { currency }")` is not in the API schema; a
subgraph receives it from the gateway, which reads `currency` on the nearest ancestor (in the
client's query) whose type sets `@context(name: "shop")`. The supergraph records it as a join
`contextArguments` entry: the context (prefixed with the subgraph's name), the argument's name
and type, and the selection. The planner fetches the selection at that ancestor like a
`@requires` condition, and the fetch that resolves the field gets one `ContextRewrite` per leaf
of the selection, per type condition.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from dataclasses import dataclass, replace

from graphql import ArgumentNode, GraphQLSyntaxError, NameNode, VariableNode, parse
from graphql.language import OperationDefinitionNode

from federation.errors import PlanningError
from federation.planning.facts import SchemaFacts
from federation.planning.fetch_group import FetchGroup
from federation.planning.internal_fields import fields_from_selection_set, input_fields
from federation.planning.level import Level
from federation.planning.normalize import NField, NFragment, NSelection
from federation.planning.plan import ContextRewrite, InputField, InputFragment, InputSelection
from federation.supergraph.model import ContextArgument, Supergraph

__all__ = [
    "ContextPlanning",
    "ContextSource",
    "context_selections",
    "context_setters",
    "sources_for",
]


@dataclass(frozen=True, slots=True)
class ContextSource:
    """A `ContextRewrite` before its variable is named: `levels` fields up from the entity,
    on an ancestor of `type_condition` (None: any), then down `path`."""

    levels: int
    type_condition: str | None
    path: tuple[str, ...]


@functools.lru_cache(maxsize=512)
def context_selections(selection: str) -> tuple[NSelection, ...]:
    """A `contextArguments` selection as planner fields: Apollo writes `" { currency }"`, or
    type conditions at the top (`"... on A { x } ... on B { x }"`)."""
    text = selection.strip()
    if text.startswith("{") and text.endswith("}"):
        text = text[1:-1]
    try:
        document = parse("{" + text + "}", no_location=True)
    except GraphQLSyntaxError as error:
        raise PlanningError(f"Bad @fromContext selection {selection!r}: {error.message}") from None
    operation = document.definitions[0]
    if not isinstance(operation, OperationDefinitionNode):
        raise PlanningError(f"Bad @fromContext selection {selection!r}")
    return fields_from_selection_set(operation.selection_set)


def context_setters(supergraph: Supergraph, context: str) -> frozenset[str]:
    """The object types that set `context`: those carrying `@context(name:)`, and the possible
    types of an interface or union that carries it."""
    found: set[str] = set()
    for name, meta in supergraph.types.items():
        if context in meta.contexts:
            found |= supergraph.possible_types(name)
    return frozenset(found)


def sources_for(
    levels: int,
    selections: tuple[NSelection, ...],
    keys: Mapping[str, NField],
    condition: str,
) -> list[ContextSource]:
    """Where each leaf of `selections`, planned at an ancestor `levels` up of type `condition`
    whose client fields are `keys`, sits in the data: internal aliases are the ones the planner
    gave them."""
    sources: list[ContextSource] = []
    for item in selections:
        if isinstance(item, NFragment):
            # The caller kept only fragments that apply to `condition`'s type.
            sources += sources_for(levels, item.selections, keys, condition)
            continue
        for field in input_fields((item,), keys):
            for path in _leaf_paths(field):
                sources.append(ContextSource(levels, condition, path))
    return sources


def _leaf_paths(field: InputSelection) -> list[tuple[str, ...]]:
    if isinstance(field, InputFragment):
        # A nested type condition: the value is in the data only where it applied.
        return [path for child in field.selections for path in _leaf_paths(child)]
    children = [c for c in field.selections if not _is_typename(c)]
    if not children:
        return [(field.response_key,)]
    return [(field.response_key, *rest) for child in children for rest in _leaf_paths(child)]


def _is_typename(selection: InputSelection) -> bool:
    return isinstance(selection, InputField) and selection.name == "__typename"


class ContextPlanning:
    """The planner's `@fromContext` steps, mixed into its run (planner.py's `_PlanRun`): what
    they need of the run is declared here, and the run provides it."""

    supergraph: Supergraph
    facts: SchemaFacts
    groups: list[FetchGroup]
    #: variable names taken: the client's, then each `@fromContext` value's
    variables: set[str]
    #: (type, field, argument) -> the variable that carries its `@fromContext` value
    context_names: dict[tuple[str, str, str], str]

    def plan_level(self, level: Level) -> set[FetchGroup]:
        raise NotImplementedError

    def _level_keys(self, level: Level) -> dict[str, NField]:
        raise NotImplementedError

    def _add_local(
        self, level: Level, field: NField, level_keys: Mapping[str, NField]
    ) -> set[FetchGroup]:
        raise NotImplementedError

    def _plan_contexts(
        self,
        level: Level,
        child: FetchGroup,
        contexts: tuple[ContextArgument, ...],
        field: NField,
    ) -> tuple[list[ArgumentNode], set[FetchGroup]]:
        """Plan each context selection at its ancestor and have `child` send the values as
        variables of the field's context arguments.

        One variable per field argument for the whole plan: branches that reach the field
        under different ancestors add their rewrites to it, each rewrite conditioned on the
        ancestor's type, so fetches that share a request or get merged never disagree.
        """
        arguments: list[ArgumentNode] = []
        producers: set[FetchGroup] = set()
        for argument in contexts:
            nearest = self._context_ancestor(level, argument, field)
            sources, found = self._plan_context_source(argument, nearest)
            producers |= found
            arguments.append(self._fill(child, level.parent_type, field, argument, sources))
        return arguments, producers

    def _context_ancestor(
        self, level: Level, argument: ContextArgument, field: NField
    ) -> tuple[int, Level]:
        """The nearest ancestor that may set the argument's context, and how many fields up."""
        setters = context_setters(self.supergraph, argument.context)
        for up, ancestor in enumerate(reversed(level.ancestors), start=1):
            if self.supergraph.possible_types(ancestor.parent_type) & setters:
                return up, ancestor
        raise PlanningError(
            f"Cannot plan field {level.parent_type}.{field.name}: no ancestor in the query sets "
            f"the context {argument.context!r} its argument {argument.name!r} is read from",
            [*level.path, field.response_key],
        )

    def _plan_context_source(
        self, argument: ContextArgument, nearest: tuple[int, Level]
    ) -> tuple[list[ContextSource], set[FetchGroup]]:
        """The nearest ancestor that sets the context (`_context_ancestor`, its levels counted
        from the fetch's own entity) gets the selection planned into its own fetch; an abstract
        ancestor only where its runtime type sets it. Each source names the object type it
        applies to, as Apollo's rewrites do."""
        setters = context_setters(self.supergraph, argument.context)
        selections = context_selections(argument.selection)
        up, ancestor = nearest
        runtime = self.supergraph.possible_types(ancestor.parent_type)
        matching = sorted(runtime & setters)
        # Planned where the walk first met that object: the values then come from the fetch
        # that found it (or its own jumps), as early as the data allows.
        while ancestor.via is not None:
            ancestor = ancestor.via
        keys = {**ancestor.user_keys, **self._level_keys(ancestor)}
        sources: list[ContextSource] = []
        planned: list[NSelection] = []
        for name in matching:
            # Type conditions of the selection this type never meets are left out.
            own = tuple(
                item
                for item in selections
                if not isinstance(item, NFragment)
                or item.type_condition is None
                or self.facts.applies(item.type_condition, name)
            )
            sources += sources_for(up, own, keys, name)
            planned.append(NFragment(name, own))
        found = self.plan_level(
            replace(ancestor, selections=tuple(planned), user_keys=keys, exclude=frozenset())
        )
        # Execution checks the ancestor's type before it reads the value.
        ancestor.selection.field("__typename")
        return sources, found

    def _plan_context_in_group(self, level: Level, field: NField) -> set[FetchGroup] | None:
        """A contextual field resolved in the entity fetch the walk is in, as Apollo plans it,
        when every context value comes from an ancestor at or above that fetch's entities and
        from fetches that run before it: each entity then takes its own values. None when it
        cannot (the field gets an entity fetch of its own)."""
        group, parent_type = level.group, level.parent_type
        contexts = self.facts.context_arguments(parent_type, field.name, group.graph)
        if not contexts or not group.is_entity:
            return None
        if not self.facts.local(parent_type, field.name, group.graph, level.provided):
            return None
        if self.facts.requires(parent_type, field.name, group.graph) is not None:
            return None
        # Levels count from the fetch's entity, `offset` fields above the field's object; an
        # ancestor below that entity (fewer levels up than the offset) is not in its data.
        offset = _field_depth(level.path) - _field_depth(group.merge_at)
        nearest = [
            (argument, self._context_ancestor(level, argument, field)) for argument in contexts
        ]
        if any(up < offset for _argument, (up, _ancestor) in nearest):
            return None
        arguments: list[ArgumentNode] = []
        producers: set[FetchGroup] = set()
        planned: list[tuple[ContextArgument, list[ContextSource]]] = []
        for argument, (up, ancestor) in nearest:
            sources, found = self._plan_context_source(argument, (up - offset, ancestor))
            producers |= found
            planned.append((argument, sources))
        if group in producers or any(self._depends_on(p, group) for p in producers):
            return None  # the values would come from this fetch or after it
        for argument, sources in planned:
            arguments.append(self._fill(group, parent_type, field, argument, sources))
        group.parents |= {p.id for p in producers}
        with_values = replace(field, arguments=(*field.arguments, *arguments))
        return {group} | self._add_local(level, with_values, self._level_keys(level))

    def _depends_on(self, group: FetchGroup, other: FetchGroup) -> bool:
        """Whether `group` waits, directly or not, for `other`."""
        by_id = {g.id: g for g in self.groups}
        seen: set[int] = set()
        stack = list(group.parents)
        while stack:
            current = stack.pop()
            if current == other.id:
                return True
            if current in seen or current not in by_id:
                continue
            seen.add(current)
            stack += by_id[current].parents
        return False

    def _fill(
        self,
        group: FetchGroup,
        parent_type: str,
        field: NField,
        argument: ContextArgument,
        sources: list[ContextSource],
    ) -> ArgumentNode:
        """Have `group` fill the argument's variable from `sources`; the argument to send."""
        variable = self._context_variable((parent_type, field.name, argument.name))
        rewrites = [ContextRewrite(variable, s.levels, s.type_condition, s.path) for s in sources]
        group.add_context(variable, argument.type, rewrites)
        return ArgumentNode(
            name=NameNode(value=argument.name), value=VariableNode(name=NameNode(value=variable))
        )

    def _context_variable(self, key: tuple[str, str, str]) -> str:
        name = self.context_names.get(key)
        if name is None:
            # Apollo's naming, numbered past any variable the client already uses.
            number = len(self.variables)
            while f"contextualArgument_{number}" in self.variables:
                number += 1
            name = self.context_names[key] = f"contextualArgument_{number}"
            self.variables.add(name)
        return name


def _field_depth(path: tuple[str, ...]) -> int:
    """Fields on a response path: list levels (`@`) do not count."""
    return sum(1 for segment in path if segment != "@")
