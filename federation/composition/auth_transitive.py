"""`MISSING_TRANSITIVE_AUTH_REQUIREMENTS`: a field that reads other data on the gateway's behalf
(`@requires`, `@fromContext`) must itself demand every access rule of what it reads.

Otherwise a client allowed to ask for the field would get, through it, data it may not see. As
Apollo's composition checks it: the rules of the field and of its type together (`@authenticated`,
and the `@requiresScopes`/`@policy` alternatives of both, each paired with each) must imply the
rules of every field read, of each read field's type, of each type condition, and for
`@fromContext` of every type that sets the context.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from graphql import (
    ConstDirectiveNode,
    FieldNode,
    InlineFragmentNode,
    ListValueNode,
    SelectionSetNode,
    StringValueNode,
)

from .context import selection_body
from .errors import CompositionError
from .fieldset import parse_field_set
from .merged import MergedSchema
from .model import named_type

__all__ = ["check_transitive_auth"]

_AUTH = frozenset({"authenticated", "requiresScopes", "policy"})
#: a disjunction of conjunctions: `[["a", "b"], ["c"]]` is (a and b) or c
Dnf = list[list[str]]


@dataclass(slots=True)
class _Rules:
    authenticated: bool = False
    scopes: Dnf = field(default_factory=lambda: [[]])
    policies: Dnf = field(default_factory=lambda: [[]])

    def implies(self, other: _Rules) -> bool:
        """Whether anyone meeting these rules also meets `other`."""
        return (
            (self.authenticated or not other.authenticated)
            and _implies(self.scopes, other.scopes)
            and _implies(self.policies, other.policies)
        )

    def both(self, other: _Rules) -> _Rules:
        return _Rules(
            self.authenticated or other.authenticated,
            [sorted(set(a) | set(b)) for a in self.scopes for b in other.scopes],
            [sorted(set(a) | set(b)) for a in self.policies for b in other.policies],
        )


def _implies(first: Dnf, second: Dnf) -> bool:
    return all(any(set(b) <= set(a) for b in second or [[]]) for a in first or [[]])


def _dnf(directive: ConstDirectiveNode) -> Dnf:
    value = directive.arguments[0].value if directive.arguments else None
    return [
        [v.value for v in group.values if isinstance(v, StringValueNode)]
        for group in (value.values if isinstance(value, ListValueNode) else ())
        if isinstance(group, ListValueNode)
    ]


class _Checker:
    def __init__(
        self, merged: MergedSchema, applied: Mapping[str, Sequence[ConstDirectiveNode]]
    ) -> None:
        self.merged = merged
        self.applied = applied

    def rules(self, coordinate: str) -> _Rules:
        out = _Rules()
        for directive in self.applied.get(coordinate, ()):
            name = directive.name.value
            if name == "authenticated":
                out.authenticated = True
            elif name == "requiresScopes":
                out.scopes = _dnf(directive)
            elif name == "policy":
                out.policies = _dnf(directive)
        return out

    def missing(
        self, rules: _Rules, type_name: str, selection: SelectionSetNode, what: str
    ) -> str | None:
        """What of the selection on `type_name` the rules do not cover (Apollo's words)."""
        mtype = self.merged.types.get(type_name)
        for node in selection.selections:
            if isinstance(node, InlineFragmentNode):
                condition = node.type_condition.name.value if node.type_condition else None
                if condition is not None and not rules.implies(self.rules(condition)):
                    return f'inline fragment type condition "{condition}" from {what}'
                inner = self.missing(rules, condition or type_name, node.selection_set, what)
                if inner is not None:
                    return inner
                continue
            if not isinstance(node, FieldNode) or mtype is None:
                continue
            fdef = mtype.fields.get(node.name.value)
            if fdef is None:
                continue
            target = named_type(fdef.type)
            coordinate = f"{type_name}.{fdef.name}"
            if not rules.implies(self.rules(coordinate)) or not rules.implies(self.rules(target)):
                return f'field "{coordinate}" data from {what}'
            if node.selection_set is not None:
                inner = self.missing(rules, target, node.selection_set, what)
                if inner is not None:
                    return inner
        return None

    def run(self) -> list[CompositionError]:
        requires: list[CompositionError] = []
        contexts: list[CompositionError] = []
        setters: dict[str, list[str]] = {}
        for mtype in self.merged.types.values():
            for context in mtype.contexts:
                setters.setdefault(context, []).append(mtype.name)
        for mtype in self.merged.types.values():
            for fdef in mtype.fields.values():
                coordinate = f"{mtype.name}.{fdef.name}"
                rules = self.rules(mtype.name).both(self.rules(coordinate))
                for graph, fields in fdef.requires.items():
                    selection = parse_field_set(fields)
                    gap = None if selection is None else self.missing(
                        rules, mtype.name, selection, "@requires selection set")  # fmt: skip
                    if gap is not None:
                        requires.append(_error(graph, coordinate, f"the transitive {gap}."))
                for join in fdef.joins or ():
                    for argument in join.context_arguments:
                        gap = self.context_gap(rules, argument.context, argument.selection,
                                               setters)  # fmt: skip
                        if gap is not None and join.graph is not None:
                            contexts.append(_error(join.graph, coordinate, gap))
        return requires + contexts

    def context_gap(
        self, rules: _Rules, context: str, selection: str, setters: Mapping[str, list[str]]
    ) -> str | None:
        for type_name in setters.get(context, ()):
            if not rules.implies(self.rules(type_name)):
                return f"the transitive data in context {context} from @fromContext selection set."
            parsed = parse_field_set(selection_body(selection))
            gap = None if parsed is None else self.missing(
                rules, type_name, parsed, "@fromContext selection set")  # fmt: skip
            if gap is not None:
                return f"the transitive {gap}."
        return None


def _error(graph: str, coordinate: str, what: str) -> CompositionError:
    return CompositionError(
        "MISSING_TRANSITIVE_AUTH_REQUIREMENTS",
        f'[{graph}] Field "{coordinate}" does not specify necessary @authenticated, '
        f"@requiresScopes and/or @policy auth requirements to access {what}",
        (graph,),
        coordinate,
    )


def check_transitive_auth(
    merged: MergedSchema, applied: Mapping[str, Sequence[ConstDirectiveNode]]
) -> list[CompositionError]:
    """Every `@requires`/`@fromContext` field that reads data with access rules it lacks;
    `applied` holds the merged directive applications by schema coordinate."""
    if not any(d.name.value in _AUTH for ds in applied.values() for d in ds):
        return []
    return _Checker(merged, applied).run()
