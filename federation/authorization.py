"""Access rules of a supergraph: `@authenticated`, `@requiresScopes` and `@policy`, as Apollo
defines them (specs.apollo.dev/authenticated/v0.1, requiresScopes/v0.1, policy/v0.1).

Each rule sits on a field, or on an object, interface, scalar or enum (then it guards every
field that returns the type, and every field of it). `@requiresScopes(scopes: [[...]])` and
`@policy(policies: [[...]])` are an OR of ANDs: the caller needs every name of at least one
inner list. Rules on one element add up (all must hold), and so do a field's, its parent
type's and its return type's; a field of an interface also carries its implementations' rules.

`restrict` rewrites an operation for one caller so that no subgraph fetch asks for what the
caller may not see: each denied field becomes `key: __typename` (its response key stays in
place, its subgraph fetch reads nothing), and `deny` then answers it `null` with an
`UNAUTHORIZED_FIELD_OR_TYPE` error at its path (`@` for each list element), the null going up
to the nearest nullable parent, as for any field error. The rest of the operation is answered.
"""

from __future__ import annotations

import copy
import dataclasses
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from graphql import (
    DirectiveNode,
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLInterfaceType,
    GraphQLObjectType,
    GraphQLSchema,
    GraphQLUnionType,
    InlineFragmentNode,
    NameNode,
    OperationDefinitionNode,
    SelectionSetNode,
    VariableNode,
    Visitor,
    get_named_type,
    value_from_ast_untyped,
    visit,
)

from federation.supergraph.model import Supergraph

__all__ = [
    "UNAUTHORIZED",
    "AccessRules",
    "Caller",
    "Denied",
    "Requirement",
    "Restriction",
    "deny",
    "restrict",
]

UNAUTHORIZED = "UNAUTHORIZED_FIELD_OR_TYPE"

_SPECS = ("authenticated", "requiresScopes", "policy")
_ABSTRACT = (GraphQLInterfaceType, GraphQLUnionType)

Alternatives = tuple[frozenset[str], ...]


def _and(a: Alternatives | None, b: Alternatives | None) -> Alternatives | None:
    """Both OR-of-AND rules at once: every pairing of an alternative of each."""
    if a is None:
        return b
    if b is None:
        return a
    merged = {x | y for x in a for y in b}
    return tuple(sorted(merged, key=sorted))


@dataclass(frozen=True, slots=True)
class Requirement:
    """What a caller needs to see one element; the empty requirement lets everyone."""

    authenticated: bool = False
    scopes: Alternatives | None = None
    policies: Alternatives | None = None

    def __and__(self, other: Requirement) -> Requirement:
        return Requirement(
            authenticated=self.authenticated or other.authenticated,
            scopes=_and(self.scopes, other.scopes),
            policies=_and(self.policies, other.policies),
        )


NONE = Requirement()


@dataclass(frozen=True, slots=True)
class Caller:
    """What a request proves: a verified token or not, its scopes, the policies granted."""

    authenticated: bool = False
    scopes: frozenset[str] = frozenset()
    policies: frozenset[str] = frozenset()

    def may(self, requirement: Requirement) -> bool:
        """Whether this caller meets `requirement`."""
        if requirement.authenticated and not self.authenticated:
            return False
        if requirement.scopes is not None and not any(
            needed <= self.scopes for needed in requirement.scopes
        ):
            return False
        return requirement.policies is None or any(
            needed <= self.policies for needed in requirement.policies
        )


@dataclass(frozen=True, slots=True)
class AccessRules:
    """The rules of one supergraph, read once when it loads."""

    fields: Mapping[tuple[str, str], Requirement] = field(default_factory=dict)
    types: Mapping[str, Requirement] = field(default_factory=dict)

    @property
    def empty(self) -> bool:
        """True when the supergraph protects nothing (then nothing needs rewriting)."""
        return not self.fields and not self.types

    @property
    def policies(self) -> frozenset[str]:
        """Every policy name the supergraph mentions: what a policy hook decides on."""
        found: set[str] = set()
        for requirement in (*self.fields.values(), *self.types.values()):
            for alternative in requirement.policies or ():
                found |= alternative
        return frozenset(found)

    @classmethod
    def from_supergraph(cls, supergraph: Supergraph) -> AccessRules:
        """The rules applied in `supergraph`'s SDL, under the names its `@link`s give them."""
        names = {
            link.directive(link.name): link.name for link in supergraph.links if link.name in _SPECS
        }
        if not names:
            return cls()
        fields: dict[tuple[str, str], Requirement] = {}
        types: dict[str, Requirement] = {}
        for type_name, named in supergraph.schema.type_map.items():
            nodes = [named.ast_node, *getattr(named, "extension_ast_nodes", ())]
            own = _requirement(names, (d for n in nodes if n for d in n.directives or ()))
            if own != NONE:
                types[type_name] = own
            for field_name, definition in getattr(named, "fields", {}).items():
                node = definition.ast_node
                rule = _requirement(names, node.directives or () if node else ())
                if rule != NONE:
                    fields[(type_name, field_name)] = rule
        return cls(fields=fields, types=types)

    def requirement(self, schema: GraphQLSchema, parent: str, field_name: str) -> Requirement:
        """What the caller needs for `parent.field_name` in `schema` (the API schema)."""
        parent_type = schema.get_type(parent)
        if parent_type is None or field_name.startswith("__"):
            return NONE
        needed = self.types.get(parent, NONE) & self.fields.get((parent, field_name), NONE)
        definition = getattr(parent_type, "fields", {}).get(field_name)
        if definition is not None:
            needed &= self.types.get(get_named_type(definition.type).name, NONE)
        if isinstance(parent_type, _ABSTRACT):
            for possible in schema.get_possible_types(parent_type):
                needed &= self.types.get(possible.name, NONE)
                needed &= self.fields.get((possible.name, field_name), NONE)
        return needed


def _requirement(names: Mapping[str, str], directives: Iterable[DirectiveNode]) -> Requirement:
    needed = NONE
    for directive in directives:
        spec = names.get(directive.name.value)
        if spec == "authenticated":
            needed &= Requirement(authenticated=True)
        elif spec in ("requiresScopes", "policy"):
            argument = "scopes" if spec == "requiresScopes" else "policies"
            raw: Any = next(
                (value_from_ast_untyped(a.value) for a in directive.arguments or ()
                 if a.name.value == argument),
                [],
            )  # fmt: skip
            alternatives = tuple(frozenset(str(n) for n in group) for group in raw or ())
            if spec == "requiresScopes":
                needed &= Requirement(scopes=alternatives)
            else:
                needed &= Requirement(policies=alternatives)
    return needed


@dataclass(frozen=True, slots=True)
class Denied:
    """One denied response position: response keys with their field types, `@` for lists."""

    segments: tuple[tuple[str, str], ...]

    @property
    def path(self) -> list[str]:
        """The error path: response keys, with `@` for each list level in between."""
        out: list[str] = []
        for index, (key, type_) in enumerate(self.segments):
            out.append(key)
            if index < len(self.segments) - 1:
                out.extend("@" for _ in range(type_.count("[")))
        return out


@dataclass(frozen=True, slots=True)
class Restriction:
    """An operation rewritten for one caller, and what it denied."""

    document: DocumentNode
    denied: tuple[Denied, ...]


def restrict(
    document: DocumentNode,
    operation: OperationDefinitionNode,
    schema: GraphQLSchema,
    rules: AccessRules,
    caller: Caller,
) -> Restriction | None:
    """`operation` (with the fragments of `document`) rewritten for `caller`; None when the
    caller may see all of it. `schema` is the API schema the operation was validated against."""
    if rules.empty:
        return None
    fragments = {
        d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)
    }
    walker = _Walker(schema, rules, caller, fragments)
    root = schema.get_root_type(operation.operation)
    if root is None:
        return None
    walker.collect(operation.selection_set, root.name, ())
    if not walker.denied:
        return None
    rewritten = _with_selection(operation, walker.rewrite(operation.selection_set, root.name))
    fragments = {name: walker.rewrite_definition(f) for name, f in fragments.items()}
    # A denied field's fragments and variables may be used nowhere else now; validation
    # refuses unused ones, so they go too (extra variable values are ignored).
    used_fragments, used_variables = _uses(rewritten, fragments)
    rewritten = _replace(
        rewritten,
        variable_definitions=tuple(
            v
            for v in operation.variable_definitions or ()
            if v.variable.name.value in used_variables
        ),
    )
    kept = [fragments[name] for name in fragments if name in used_fragments]
    return Restriction(DocumentNode(definitions=(rewritten, *kept)), tuple(walker.denied))


def _uses(
    operation: OperationDefinitionNode, fragments: Mapping[str, FragmentDefinitionNode]
) -> tuple[set[str], set[str]]:
    """The fragments `operation` spreads (transitively) and the variables they all use."""
    used_fragments: set[str] = set()
    used_variables: set[str] = set()

    class Uses(Visitor):
        def enter_fragment_spread(self, node: FragmentSpreadNode, *_args: object) -> None:
            name = node.name.value
            if name not in used_fragments and name in fragments:
                used_fragments.add(name)
                visit(fragments[name], self)

        def enter_variable(self, node: VariableNode, *_args: object) -> None:
            used_variables.add(node.name.value)

    visit(operation.selection_set, Uses())
    return used_fragments, used_variables


def _with_selection(node: Any, selection_set: SelectionSetNode) -> Any:
    return _replace(node, selection_set=selection_set)


def _replace(node: Any, **changes: Any) -> Any:
    # graphql-core 3.3's nodes are frozen dataclasses; 3.2's are plain slotted objects.
    if dataclasses.is_dataclass(node) and not isinstance(node, type):
        return dataclasses.replace(node, **changes)
    new = copy.copy(node)
    for name, value in changes.items():
        setattr(new, name, value)
    return new


class _Walker:
    def __init__(
        self,
        schema: GraphQLSchema,
        rules: AccessRules,
        caller: Caller,
        fragments: Mapping[str, FragmentDefinitionNode],
    ) -> None:
        self.schema = schema
        self.rules = rules
        self.caller = caller
        self.fragments = fragments
        self.denied: list[Denied] = []
        self._seen: set[tuple[tuple[str, str], ...]] = set()
        self._allowed: dict[tuple[str, str], bool] = {}

    def allowed(self, parent: str, name: str) -> bool:
        key = (parent, name)
        if key not in self._allowed:
            needed = self.rules.requirement(self.schema, parent, name)
            self._allowed[key] = self.caller.may(needed)
        return self._allowed[key]

    def field_type(self, parent: str, name: str) -> str | None:
        """`parent.name`'s type as SDL (`[Review!]!`); None for meta and unknown fields."""
        definition = getattr(self.schema.get_type(parent), "fields", {}).get(name)
        return str(definition.type) if definition is not None else None

    def collect(
        self,
        selection_set: SelectionSetNode,
        parent: str,
        path: tuple[tuple[str, str], ...],
        visiting: frozenset[str] = frozenset(),
    ) -> None:
        """Record the response positions of denied fields (fragments expanded)."""
        for selection in selection_set.selections:
            if isinstance(selection, FieldNode):
                name = selection.name.value
                type_ = self.field_type(parent, name)
                if type_ is None:
                    continue  # __typename and introspection: never protected here
                key = selection.alias.value if selection.alias else name
                here = (*path, (key, type_))
                if not self.allowed(parent, name):
                    if here not in self._seen:
                        self._seen.add(here)
                        self.denied.append(Denied(here))
                elif selection.selection_set is not None:
                    self.collect(selection.selection_set, _named(type_), here, visiting)
            elif isinstance(selection, InlineFragmentNode):
                condition = selection.type_condition
                inner = condition.name.value if condition else parent
                self.collect(selection.selection_set, inner, path, visiting)
            elif isinstance(selection, FragmentSpreadNode):
                name = selection.name.value
                fragment = self.fragments.get(name)
                if fragment is not None and name not in visiting:
                    inner = fragment.type_condition.name.value
                    self.collect(fragment.selection_set, inner, path, visiting | {name})

    def rewrite(self, selection_set: SelectionSetNode, parent: str) -> SelectionSetNode:
        """The selection set with each denied field replaced by `key: __typename`."""
        selections: list[Any] = []
        for selection in selection_set.selections:
            if isinstance(selection, FieldNode):
                name = selection.name.value
                type_ = self.field_type(parent, name)
                if type_ is not None and not self.allowed(parent, name):
                    selections.append(_placeholder(selection))
                elif type_ is not None and selection.selection_set is not None:
                    below = self.rewrite(selection.selection_set, _named(type_))
                    selections.append(_with_selection(selection, below))
                else:
                    selections.append(selection)
            elif isinstance(selection, InlineFragmentNode):
                condition = selection.type_condition
                inner = condition.name.value if condition else parent
                selections.append(
                    _with_selection(selection, self.rewrite(selection.selection_set, inner))
                )
            else:
                selections.append(selection)
        return SelectionSetNode(selections=tuple(selections))

    def rewrite_definition(self, fragment: FragmentDefinitionNode) -> FragmentDefinitionNode:
        inner = fragment.type_condition.name.value
        if not isinstance(self.schema.get_type(inner), (GraphQLObjectType, *_ABSTRACT)):
            return fragment
        rewritten: FragmentDefinitionNode = _with_selection(
            fragment, self.rewrite(fragment.selection_set, inner)
        )
        return rewritten


def _named(type_: str) -> str:
    return type_.strip("[]!")


def _placeholder(selection: FieldNode) -> FieldNode:
    # `key: __typename` keeps the response key where the client put it, and every subgraph
    # answers it without reading anything; only @skip/@include stay, so it is asked for exactly
    # when the denied field would have been.
    key = selection.alias.value if selection.alias else selection.name.value
    kept = tuple(d for d in selection.directives or () if d.name.value in ("skip", "include"))
    return FieldNode(
        alias=NameNode(value=key),
        name=NameNode(value="__typename"),
        arguments=(),
        directives=kept,
        selection_set=None,
    )


def deny(body: Mapping[str, Any], denied: Sequence[Denied]) -> dict[str, Any]:
    """`body` with each denied position null (placeholders replaced, nulls propagated to the
    nearest nullable parent) and one `UNAUTHORIZED_FIELD_OR_TYPE` error per denied path.

    `body` is not changed (an inbound-deduplicated answer is shared between requests)."""
    out = dict(body)
    data = copy.deepcopy(out.get("data"))
    if isinstance(data, dict):
        for entry in denied:
            if _null_in(data, entry.segments, 0):
                data = None
                break
    out["data"] = data
    errors = [
        {
            "message": "Unauthorized field or type",
            "path": entry.path,
            "extensions": {"code": UNAUTHORIZED},
        }
        for entry in denied
    ]
    out["errors"] = [*errors, *out.get("errors", [])]
    return out


def _null_in(obj: dict[str, Any], segments: tuple[tuple[str, str], ...], index: int) -> bool:
    """Null the denied position under `obj`; True when `obj` itself must become null."""
    key, type_ = segments[index]
    if key not in obj:
        return False
    value = obj[key]
    if index == len(segments) - 1:
        # Only the placeholder's answer (a type name) is replaced: the same key may hold an
        # allowed field of another type, through another fragment.
        if not isinstance(value, str):
            return False
        obj[key] = None
        return type_.endswith("!")
    if value is None or not _null_below(value, type_, segments, index + 1):
        return False
    obj[key] = None
    return type_.endswith("!")


def _null_below(value: Any, type_: str, segments: tuple[tuple[str, str], ...], index: int) -> bool:
    bare = type_.removesuffix("!")
    if bare.startswith("["):
        inner = bare[1:-1]
        if not isinstance(value, list):
            return False
        for position, item in enumerate(value):
            if item is not None and _null_below(item, inner, segments, index):
                if inner.endswith("!"):
                    return True
                value[position] = None
        return False
    return isinstance(value, dict) and _null_in(value, segments, index)
