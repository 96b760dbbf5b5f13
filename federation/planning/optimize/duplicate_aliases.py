"""Identical aliased fields of one subgraph query are sent once.

Thirty aliases of one list (`a0: genres { ... } a1: genres { ... }`, each the same field with
the same arguments, directives and selections) are thirty copies of one piece of work for the
subgraph and thirty copies of its answer on the wire. When a fetch is frozen (emit.py), each of
them but the first is dropped from its operation, and the fetch carries an `AliasCopy` for
each dropped one: execution copies the first one's value and errors to it
(federation/execution/alias_copies.py), so nothing reads the text again to find them.

Two places are looked at, where a field's response key sits at a known spot of each path:
the root selection set, and the selections of `_entities` (inside their type conditions, each
fragment on its own: a twin is only looked for beside it). Only queries are touched: each
alias of a mutation field is its own side effect. `owed` is left as planned, so a failed
fetch still reports every key the client asked for.
"""

from __future__ import annotations

from dataclasses import replace

from graphql import (
    DocumentNode,
    FieldNode,
    InlineFragmentNode,
    OperationDefinitionNode,
    SelectionNode,
    SelectionSetNode,
    print_ast,
)

from federation.planning.plan import AliasCopy, FetchNode

__all__ = ["drop_duplicate_aliases"]


def drop_duplicate_aliases(fetch: FetchNode) -> FetchNode:
    """`fetch` without the repeats of its aliased fields, and the copies that restore them
    (the same fetch when it has none to drop)."""
    if fetch.operation_kind != "query" or fetch.alias_copies:
        return fetch
    operation, *others = fetch.document.definitions
    if not isinstance(operation, OperationDefinitionNode):
        return fetch
    copies: list[AliasCopy] = []
    if fetch.is_entity:
        selections: list[SelectionNode] = []
        for selection in operation.selection_set.selections:
            if (
                isinstance(selection, FieldNode)
                and selection.name.value == "_entities"
                and selection.selection_set is not None
            ):
                inner = _dedupe(selection.selection_set, None, copies, conditioned=True)
                selection = FieldNode(
                    alias=selection.alias,
                    name=selection.name,
                    arguments=selection.arguments,
                    directives=selection.directives,
                    selection_set=inner,
                )
            selections.append(selection)
        body = SelectionSetNode(selections=tuple(selections))
    else:
        body = _dedupe(operation.selection_set, None, copies, conditioned=False)
    if not copies:
        return fetch
    deduped = OperationDefinitionNode(
        operation=operation.operation,
        name=operation.name,
        variable_definitions=operation.variable_definitions,
        directives=operation.directives,
        selection_set=body,
    )
    document = DocumentNode(definitions=(deduped, *others))
    return replace(
        fetch, operation=print_ast(document), document=document, alias_copies=tuple(copies)
    )


def _dedupe(
    selection_set: SelectionSetNode,
    condition: str | None,
    copies: list[AliasCopy],
    *,
    conditioned: bool,
) -> SelectionSetNode:
    """The selection set without repeats of an aliased field, each recorded in `copies` with
    the type condition it sits under (when `conditioned`: in `_entities`)."""
    seen: dict[str, str] = {}
    found = len(copies)
    kept: list[SelectionNode] = []
    for selection in selection_set.selections:
        if isinstance(selection, InlineFragmentNode):
            inner_condition = condition
            if conditioned and selection.type_condition is not None:
                inner_condition = selection.type_condition.name.value
            inner = _dedupe(
                selection.selection_set, inner_condition, copies, conditioned=conditioned
            )
            if inner is not selection.selection_set:
                selection = InlineFragmentNode(
                    type_condition=selection.type_condition,
                    directives=selection.directives,
                    selection_set=inner,
                )
        elif isinstance(selection, FieldNode) and selection.alias is not None:
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
                copies.append(AliasCopy(kept=twin, dropped=key, type_condition=condition))
                continue
            seen[shape] = key
        kept.append(selection)
    if len(copies) == found and len(kept) == len(selection_set.selections):
        return selection_set
    return SelectionSetNode(selections=tuple(kept))
