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
from dataclasses import dataclass

from graphql import GraphQLSyntaxError, parse
from graphql.language import OperationDefinitionNode

from federation.errors import PlanningError
from federation.planning.internal_fields import fields_from_selection_set, input_fields
from federation.planning.normalize import NField, NFragment, NSelection
from federation.planning.plan import InputField, InputFragment, InputSelection
from federation.supergraph.model import Supergraph

__all__ = ["ContextSource", "context_selections", "context_setters", "sources_for"]


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
