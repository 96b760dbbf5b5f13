"""Identical aliased selections in one subgraph query are sent once.

Thirty aliases of one list (`a0: genres { ... } a1: genres { ... }`, each the same field with
the same arguments and the same selections) are thirty copies of one piece of work for the
subgraph and thirty copies of its answer on the wire. Before a query goes out, each of them
but the first is dropped from the text; when the answer comes back, the first one's value
(and its errors) is copied to the others, so the executor sees the answer it asked for.

Two places are looked at, where a field's response key sits at a known spot of each path:
the root selection set, and the selections of `_entities` (inside their type conditions).
Mutations are never touched: each alias of a mutation field is its own side effect.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from graphql import (
    FieldNode,
    GraphQLSyntaxError,
    InlineFragmentNode,
    OperationDefinitionNode,
    OperationType,
    SelectionSetNode,
    parse,
    print_ast,
)

from federation.execution.merge import copy_json

__all__ = ["AliasDedupe", "dedupe_aliases"]

#: queries whose rewrite (or lack of one) is remembered
_CACHE_SIZE = 1000


@dataclass(frozen=True, slots=True)
class AliasDedupe:
    """How to restore an answer: the query sent, and for each dropped response key the key
    whose value it copies, at the root and in each `_entities` item."""

    query: str
    root: tuple[tuple[str, str], ...]  # (kept, dropped)
    entities: tuple[tuple[str, str], ...]

    def restore(self, response: dict[str, Any]) -> dict[str, Any]:
        """The answer as if every alias had been sent (mutates and returns `response`)."""
        data = response.get("data")
        if isinstance(data, dict):
            _copy(data, self.root)
            items = data.get("_entities")
            if self.entities and isinstance(items, list):
                for item in items:
                    if isinstance(item, dict):
                        _copy(item, self.entities)
        errors = response.get("errors")
        if isinstance(errors, list):
            response["errors"] = errors + [
                copied for error in errors for copied in self._copied_errors(error)
            ]
        return response

    def _copied_errors(self, error: Any) -> list[dict[str, Any]]:
        path = error.get("path") if isinstance(error, dict) else None
        if not isinstance(path, list) or not path:
            return []
        if path[0] == "_entities" and len(path) > 2:
            at, pairs = 2, self.entities
        else:
            at, pairs = 0, self.root
        return [
            {**error, "path": [*path[:at], dropped, *path[at + 1 :]]}
            for kept, dropped in pairs
            if path[at] == kept
        ]


def _copy(target: dict[str, Any], pairs: tuple[tuple[str, str], ...]) -> None:
    for kept, dropped in pairs:
        if kept in target:
            value = target[kept]
            target[dropped] = copy_json(value) if isinstance(value, (dict, list)) else value


_cache: OrderedDict[str, AliasDedupe | None] = OrderedDict()


def dedupe_aliases(body: Mapping[str, Any]) -> AliasDedupe | None:
    """The rewrite of this request's query, or None when it has nothing to drop."""
    query = body.get("query")
    if not isinstance(query, str) or query.count(":") < 2:
        return None  # no two aliases: nothing to do, and no parse
    if query in _cache:
        _cache.move_to_end(query)
        return _cache[query]
    found = _rewrite(query)
    _cache[query] = found
    if len(_cache) > _CACHE_SIZE:
        _cache.popitem(last=False)
    return found


def _rewrite(query: str) -> AliasDedupe | None:
    try:
        document = parse(query, no_location=True)
    except GraphQLSyntaxError:
        return None
    operations = [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]
    if len(operations) != 1 or operations[0].operation != OperationType.QUERY:
        return None
    operation = operations[0]
    root_set, root = _dedupe(operation.selection_set)
    entities: list[tuple[str, str]] = []
    selections = []
    for selection in root_set.selections:
        if (
            isinstance(selection, FieldNode)
            and selection.name.value == "_entities"
            and selection.selection_set is not None
        ):
            inner, pairs = _dedupe(selection.selection_set)
            entities += pairs
            selection = FieldNode(
                alias=selection.alias,
                name=selection.name,
                arguments=selection.arguments,
                directives=selection.directives,
                selection_set=inner,
            )
        selections.append(selection)
    if not root and not entities:
        return None
    rewritten = OperationDefinitionNode(
        operation=operation.operation,
        name=operation.name,
        variable_definitions=operation.variable_definitions,
        directives=operation.directives,
        selection_set=SelectionSetNode(selections=tuple(selections)),
    )
    definitions = [rewritten if d is operation else d for d in document.definitions]
    text = "\n\n".join(print_ast(d) for d in definitions)
    return AliasDedupe(text, tuple(root), tuple(entities))


def _dedupe(selection_set: SelectionSetNode) -> tuple[SelectionSetNode, list[tuple[str, str]]]:
    """The selection set without repeats of an aliased field (one pass per inline fragment:
    a repeat is only looked for beside its twin), and the (kept, dropped) keys."""
    seen: dict[str, str] = {}
    pairs: list[tuple[str, str]] = []
    kept: list[Any] = []
    for selection in selection_set.selections:
        if isinstance(selection, InlineFragmentNode):
            inner, inner_pairs = _dedupe(selection.selection_set)
            pairs += inner_pairs
            kept.append(
                InlineFragmentNode(
                    type_condition=selection.type_condition,
                    directives=selection.directives,
                    selection_set=inner,
                )
            )
            continue
        if isinstance(selection, FieldNode) and selection.alias is not None:
            key = selection.alias.value
            # The field without its alias: equal text, equal work and equal answer.
            shape = print_ast(
                FieldNode(
                    name=selection.name,
                    arguments=selection.arguments,
                    directives=selection.directives,
                    selection_set=selection.selection_set,
                )
            )
            twin = seen.get(shape)
            if twin is not None:
                pairs.append((twin, key))
                continue
            seen[shape] = key
        kept.append(selection)
    if not pairs:
        return selection_set, []
    return SelectionSetNode(selections=tuple(kept)), pairs
