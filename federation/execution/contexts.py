"""`@fromContext` values at execution: each entity's arguments, read from its ancestors.

An entity fetch with context rewrites (planning/contexts.py) cannot send one set of variables
for all of its targets: two products under two stores take two currencies. The targets are
walked with the objects above them, each gets its values from the rewrites, and targets with
equal values form one group. Groups still go out in one request, as Apollo Router sends them:
one aliased `_entities` per group, each with its own numbered variables.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping, Sequence
from collections.abc import Set as AbstractSet
from typing import Any

import orjson
from graphql import (
    DocumentNode,
    FieldNode,
    NameNode,
    OperationDefinitionNode,
    OperationType,
    SelectionSetNode,
    VariableDefinitionNode,
    VariableNode,
    Visitor,
    print_ast,
    visit,
)

from federation.execution.batching import REPRESENTATIONS, entities_operation
from federation.execution.merge import IsSubtype
from federation.planning.plan import ContextRewrite, FetchNode
from federation.types import JSONObject, Representation

__all__ = [
    "context_operation",
    "context_partitions",
    "context_variables",
    "split_context_answer",
]


#: a value under the objects that hold it, nearest last
_Located = tuple[Any, tuple[JSONObject, ...]]


def context_partitions(
    data: JSONObject,
    path: tuple[str, ...],
    rewrites: Sequence[ContextRewrite],
    is_subtype: IsSubtype,
) -> list[tuple[JSONObject, list[JSONObject]]]:
    """The targets at a flatten `path`, grouped by their context variables, in the order the
    groups are first met. A variable no rewrite finds a value for is left out of its group's
    variables (the subgraph sees the argument as not given)."""
    groups: dict[bytes, tuple[JSONObject, list[JSONObject]]] = {}
    for target, owners in _targets_with_owners(data, path, is_subtype):
        values = _values((*owners, target), rewrites, is_subtype)
        key = orjson.dumps(values, option=orjson.OPT_SORT_KEYS)
        groups.setdefault(key, (values, []))[1].append(target)
    return list(groups.values())


def _targets_with_owners(
    data: JSONObject, path: tuple[str, ...], is_subtype: IsSubtype
) -> list[tuple[JSONObject, tuple[JSONObject, ...]]]:
    # The same walk as merge.collect_objects, keeping the object each field was read from.
    frontier: list[_Located] = [(data, ())]
    for segment in path:
        found: list[_Located] = []
        if segment == "@":
            for value, owners in frontier:
                if isinstance(value, list):
                    found.extend((item, owners) for item in value)
        elif segment.startswith("... on "):
            condition = segment[7:].strip()
            for value, owners in frontier:
                if isinstance(value, dict):
                    typename = value.get("__typename")
                    if isinstance(typename, str) and is_subtype(typename, condition):
                        found.append((value, owners))
        else:
            for value, owners in frontier:
                if isinstance(value, dict) and segment in value:
                    found.append((value[segment], (*owners, value)))
        frontier = found
    return [(value, owners) for value, owners in frontier if isinstance(value, dict)]


def _values(
    chain: tuple[JSONObject, ...], rewrites: Sequence[ContextRewrite], is_subtype: IsSubtype
) -> JSONObject:
    """`chain` is the target's owners and the target itself, last: `levels` 0 is the target
    (a field resolved inside the fetch of an entity that holds the context)."""
    values: JSONObject = {}
    for rewrite in rewrites:
        if rewrite.variable in values or rewrite.levels >= len(chain):
            continue
        ancestor = chain[-1 - rewrite.levels]
        if rewrite.type_condition is not None:
            typename = ancestor.get("__typename")
            if not isinstance(typename, str) or not is_subtype(typename, rewrite.type_condition):
                continue
        value: Any = ancestor
        for key in rewrite.path:
            if not isinstance(value, dict) or key not in value:
                break
            value = value[key]
        else:
            values[rewrite.variable] = value
    return values


@functools.lru_cache(maxsize=256)
def context_operation(node: FetchNode, count: int) -> tuple[str, tuple[str, ...]] | None:
    """One operation for `count` groups of a context fetch: the fetch's `_entities` under an
    alias per group (`_0`, `_1`, ...), each with its own representations and context variables
    (`representations_0`, `contextualArgument_1_0`, ...). Built from the fetch's document, never
    its text; None when the fetch is not a plain entity query or a new name would collide."""
    parsed = entities_operation(node.document)
    if parsed is None:
        return None
    entities, variables = parsed
    own = {rewrite.variable for rewrite in node.context_rewrites} | {REPRESENTATIONS}
    definitions = {d.variable.name.value: d for d in variables}
    renamed = [f"{name}_{index}" for name in own for index in range(count)]
    if set(renamed) & set(definitions):
        return None
    shared = [d for name, d in definitions.items() if name not in own]
    copies: list[VariableDefinitionNode] = []
    selections: list[FieldNode] = []
    aliases: list[str] = []
    for index in range(count):
        renamer = _Renamer(own, index)
        copies += [
            VariableDefinitionNode(
                variable=VariableNode(name=NameNode(value=f"{name}_{index}")),
                type=definitions[name].type,
                directives=(),
            )
            for name in definitions
            if name in own
        ]
        aliases.append(f"_{index}")
        field = visit(entities, renamer)
        selections.append(
            FieldNode(
                alias=NameNode(value=aliases[-1]),
                name=field.name,
                arguments=field.arguments,
                directives=field.directives,
                selection_set=field.selection_set,
            )
        )
    document = DocumentNode(
        definitions=(
            OperationDefinitionNode(
                operation=OperationType.QUERY,
                variable_definitions=(*shared, *copies),
                directives=(),
                selection_set=SelectionSetNode(selections=tuple(selections)),
            ),
        )
    )
    return print_ast(document), tuple(aliases)


class _Renamer(Visitor):
    """Gives the variables of one group their numbered names."""

    def __init__(self, names: AbstractSet[str], index: int) -> None:
        super().__init__()
        self.names = names
        self.index = index

    def enter_variable(self, node: VariableNode, *_args: object) -> VariableNode | None:
        name = node.name.value
        if name not in self.names:
            return None
        return VariableNode(name=NameNode(value=f"{name}_{self.index}"))


def context_variables(
    client: Mapping[str, Any],
    groups: Sequence[tuple[JSONObject, list[Representation]]],
) -> JSONObject:
    """The variables of `context_operation`'s request: the client's, then each group's."""
    variables: JSONObject = dict(client)
    for index, (values, representations) in enumerate(groups):
        variables[f"{REPRESENTATIONS}_{index}"] = representations
        for name, value in values.items():
            variables[f"{name}_{index}"] = value
    return variables


def split_context_answer(response: JSONObject, aliases: tuple[str, ...]) -> list[JSONObject]:
    """Each group's own answer, as if it had been sent alone: its `_entities` and the errors
    at its alias, their paths moved under `_entities`. Errors that name no group go to every
    group left without entities, or else to the first."""
    data = response.get("data")
    errors = response.get("errors")
    errors = errors if isinstance(errors, list) else []
    answers: list[JSONObject] = []
    placed: set[int] = set()
    for alias in aliases:
        own: list[Any] = []
        for position, error in enumerate(errors):
            path = error.get("path") if isinstance(error, dict) else None
            if isinstance(path, list) and path and path[0] == alias:
                own.append({**error, "path": ["_entities", *path[1:]]})
                placed.add(position)
        entities = data.get(alias) if isinstance(data, dict) else None
        answers.append({"data": {"_entities": entities}, "errors": own})
    unplaced = [error for position, error in enumerate(errors) if position not in placed]
    if unplaced:
        missing = [a for a in answers if a["data"]["_entities"] is None]
        for answer in missing or answers[:1]:
            answer["errors"] += unplaced
    return answers
