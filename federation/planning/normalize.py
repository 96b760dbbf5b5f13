"""Normalize a client operation into a fragment-free selection tree for the planner.

Fragment spreads are inlined, `@skip`/`@include` with literal arguments are applied, and those
with variables are kept as conditions (and forwarded to subgraphs). Aliases are kept.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from graphql import (
    ArgumentNode,
    BooleanValueNode,
    DirectiveNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    InlineFragmentNode,
    OperationDefinitionNode,
    SelectionSetNode,
    VariableNode,
    print_ast,
)

__all__ = ["Condition", "NField", "NFragment", "NSelection", "normalize_operation"]

#: A variable condition: (variable name, the value for which the selection is kept).
Condition = tuple[str, bool]


@dataclass(frozen=True, slots=True)
class NField:
    """A client field. `directives` are the variable `@skip`/`@include` to forward."""

    response_key: str
    name: str
    alias: str | None
    arguments: tuple[ArgumentNode, ...]
    directives: tuple[DirectiveNode, ...]
    conditions: tuple[Condition, ...]
    selections: tuple[NSelection, ...]
    #: added by the planner (keys, requires): may be aliased to dodge a client response key
    internal: bool = False
    #: the client's other executable directives on this field (those the supergraph defines,
    #: which composition keeps only where every subgraph defines them): sent on as they are
    forwarded: tuple[DirectiveNode, ...] = ()

    @property
    def arguments_text(self) -> str:
        return " ".join(print_ast(argument) for argument in self.arguments)


@dataclass(frozen=True, slots=True)
class NFragment:
    """An inline fragment with its type condition (None: the enclosing type)."""

    type_condition: str | None
    selections: tuple[NSelection, ...]


NSelection = NField | NFragment


def normalize_operation(
    operation: OperationDefinitionNode, fragments: Mapping[str, FragmentDefinitionNode]
) -> tuple[NSelection, ...]:
    """The operation's root selections, with fragment spreads inlined."""
    return _normalize(operation.selection_set, fragments, (), ())


def _normalize(
    selection_set: SelectionSetNode,
    fragments: Mapping[str, FragmentDefinitionNode],
    inherited: tuple[DirectiveNode, ...],
    seen: tuple[str, ...],
) -> tuple[NSelection, ...]:
    out: list[NSelection] = []
    for selection in selection_set.selections:
        kept = _kept_directives(selection.directives or ())
        if kept is None:
            continue
        directives = inherited + kept
        if isinstance(selection, FieldNode):
            children: tuple[NSelection, ...] = ()
            if selection.selection_set is not None:
                children = _normalize(selection.selection_set, fragments, (), seen)
                if not _asks_anything(children):
                    # Every subfield was skipped by a literal condition: the client still gets
                    # an object, and a subgraph needs a selection set to send one.
                    children = (*children, _TYPENAME)
            out.append(
                NField(
                    response_key=(selection.alias or selection.name).value,
                    name=selection.name.value,
                    alias=selection.alias.value if selection.alias else None,
                    arguments=tuple(selection.arguments or ()),
                    directives=directives,
                    conditions=tuple(_condition(d) for d in directives),
                    selections=children,
                    forwarded=tuple(
                        d
                        for d in selection.directives or ()
                        if d.name.value not in ("skip", "include")
                    ),
                )
            )
        elif isinstance(selection, InlineFragmentNode):
            condition = selection.type_condition.name.value if selection.type_condition else None
            inner = _normalize(selection.selection_set, fragments, directives, seen)
            out.append(NFragment(condition, inner))
        elif isinstance(selection, FragmentSpreadNode):
            name = selection.name.value
            definition = fragments.get(name)
            if definition is None or name in seen:
                continue  # validation rejects both; never loop
            inner = _normalize(definition.selection_set, fragments, directives, (*seen, name))
            out.append(NFragment(definition.type_condition.name.value, inner))
    return tuple(out)


_TYPENAME = NField(
    response_key="__typename",
    name="__typename",
    alias=None,
    arguments=(),
    directives=(),
    conditions=(),
    selections=(),
)


def _asks_anything(selections: tuple[NSelection, ...]) -> bool:
    return any(
        isinstance(selection, NField) or _asks_anything(selection.selections)
        for selection in selections
    )


def _kept_directives(directives: tuple[DirectiveNode, ...]) -> tuple[DirectiveNode, ...] | None:
    """Variable skip/include directives to keep, or None when a literal one drops the selection."""
    kept: list[DirectiveNode] = []
    for directive in directives:
        name = directive.name.value
        if name not in ("skip", "include"):
            continue
        value = next((a.value for a in directive.arguments or () if a.name.value == "if"), None)
        if isinstance(value, BooleanValueNode):
            if value.value != (name == "include"):
                return None
        elif isinstance(value, VariableNode):
            kept.append(directive)
    return tuple(kept)


def _condition(directive: DirectiveNode) -> Condition:
    value = next(a.value for a in directive.arguments or () if a.name.value == "if")
    if not isinstance(value, VariableNode):
        raise TypeError("only variable conditions are kept")
    return (value.name.value, directive.name.value == "include")
