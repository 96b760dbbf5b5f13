"""`@context` and `@fromContext` (federation 2.8) in one subgraph, checked as Apollo checks them.

A type sets a context (`type Shop @context(name: "shop")`) and an argument reads it
(`price(currency: String @fromContext(field: "$shop { currency }"))`): the planner fills the
argument from the nearest ancestor in the query that sets the context, and clients never see it.
What each subgraph must respect, with Apollo's codes:

- a context name is alphanumeric without underscores (`CONTEXT_NAME_INVALID`);
- `@fromContext` sits on an argument of an object type's field that implements no interface field,
  with no default value (`CONTEXT_NOT_SET`), names a context (`NO_CONTEXT_IN_SELECTION`) that some
  type of the subgraph sets (`CONTEXT_NOT_SET`), and its type has a resolvable key
  (`CONTEXT_NO_RESOLVABLE_KEY`): the planner comes back to it by an entity fetch;
- the selection picks one value on every type that sets the context: one field, or one inline
  fragment per object type that sets it, without aliases or directives, whose type matches the
  argument's (`CONTEXT_INVALID_SELECTION`).
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence

from graphql import (
    FieldNode,
    FragmentSpreadNode,
    GraphQLSyntaxError,
    InlineFragmentNode,
    ListTypeNode,
    NonNullTypeNode,
    OperationDefinitionNode,
    SelectionSetNode,
    TypeNode,
    parse,
    print_ast,
)

from .errors import CompositionError, CompositionHint
from .fieldset import field_set_paths
from .merged import ContextArgument
from .model import BUILTIN_SCALARS, ArgDef, FieldDef, Subgraph, TypeDef, named_type

__all__ = [
    "check_contexts",
    "context_directive",
    "context_selection_fields",
    "contextual_argument",
    "join_context_arguments",
    "parse_context",
    "possible_types",
    "selection_body",
    "setters",
    "type_contexts",
]

# As Apollo reads `@fromContext(field:)`: ignored tokens, `$`, the context name, then the rest.
_IGNORED = r"(?:[\n\r\t ,]|#[^\n\r]*)*"
_CONTEXT_FIELD = re.compile(rf"^{_IGNORED}\$(?:{_IGNORED})([A-Za-z_]\w*)(?!\w)([\s\S]*)$")


def parse_context(field: str) -> tuple[str | None, str | None]:
    """`"$shop { currency }"` -> `("shop", " { currency }")`; `(None, None)` without a context."""
    found = _CONTEXT_FIELD.match(field)
    return (found.group(1), found.group(2)) if found else (None, None)


def selection_body(selection: str) -> str:
    """A selection as a FieldSet: `{ currency }` and `currency` both give `currency`."""
    text = selection.strip()
    return text[1:-1] if text.startswith("{") and text.endswith("}") else text


def setters(subgraph: Subgraph) -> dict[str, list[str]]:
    """context name -> the types of the subgraph that set it, in order."""
    out: dict[str, list[str]] = {}
    for tdef in subgraph.types.values():
        for name in dict.fromkeys(tdef.contexts):
            out.setdefault(name, []).append(tdef.name)
    return out


def context_selection_fields(subgraph: Subgraph) -> set[tuple[str, str]]:
    """(type, field) pairs some `@fromContext` selection reads on a type setting its context."""
    used: set[tuple[str, str]] = set()
    by_context = setters(subgraph)
    for _tdef, _fdef, arg in _from_context_args(subgraph):
        context, selection = parse_context(arg.from_context or "")
        for location in by_context.get(context or "", ()):
            if selection:
                used |= field_set_paths(
                    subgraph, location, selection_body(selection), implementations_too=True
                )
    return used


def possible_types(subgraph: Subgraph, type_name: str) -> list[str]:
    """The object types a value of `type_name` can be in the subgraph."""
    tdef = subgraph.types.get(type_name)
    if tdef is None:
        return []
    if tdef.kind == "UNION":
        return list(tdef.members)
    if tdef.kind == "INTERFACE":
        return [t.name for t in subgraph.types.values() if type_name in t.interfaces]
    return [type_name] if tdef.kind == "OBJECT" else []


def _from_context_args(subgraph: Subgraph) -> Iterator[tuple[TypeDef, FieldDef, ArgDef]]:
    for tdef in subgraph.types.values():
        for fdef in tdef.fields.values():
            for arg in fdef.args:
                if arg.from_context is not None:
                    yield tdef, fdef, arg


class _Invalid(Exception):
    """A selection that does not apply to a type (Apollo's parse error for it)."""


class _Checker:
    def __init__(self, subgraph: Subgraph) -> None:
        self.subgraph = subgraph
        self.errors: list[CompositionError] = []

    def error(self, code: str, coordinate: str, message: str) -> None:
        self.errors.append(
            CompositionError(
                code, f"[{self.subgraph.name}] {message}", (self.subgraph.name,), coordinate
            )
        )

    def run(self) -> list[CompositionError]:
        for tdef in self.subgraph.types.values():
            for name in tdef.contexts:
                if "_" in name:
                    self.error(
                        "CONTEXT_NAME_INVALID",
                        tdef.name,
                        f'Context name "{name}" may not contain an underscore.',
                    )
                elif not re.fullmatch(r"[A-Za-z]\w*", name):
                    self.error(
                        "CONTEXT_NAME_INVALID",
                        tdef.name,
                        f'Context name "{name}" is invalid. It should have only '
                        "alphanumeric characters.",
                    )
        by_context = setters(self.subgraph)
        for tdef, fdef, arg in _from_context_args(self.subgraph):
            self.check_argument(tdef, fdef, arg, by_context)
        return self.errors

    def check_argument(
        self, tdef: TypeDef, fdef: FieldDef, arg: ArgDef, by_context: dict[str, list[str]]
    ) -> None:
        field_name, arg_name, value = fdef.name, arg.name, arg.from_context or ""
        coordinate = f"{tdef.name}.{field_name}({arg_name}:)"
        if tdef.kind != "OBJECT":
            self.error(
                "CONTEXT_NOT_SET",
                coordinate,
                "@fromContext argument cannot be used on a "
                f'field that exists on an abstract type "{coordinate}".',
            )
            return
        for iface in tdef.interfaces:
            idef = self.subgraph.types.get(iface)
            if idef is not None and field_name in idef.fields:
                self.error(
                    "CONTEXT_NOT_SET",
                    coordinate,
                    "@fromContext argument cannot be used "
                    f'on a field implementing an interface field "{iface}.{field_name}".',
                )
        if arg.default is not None:
            self.error(
                "CONTEXT_NOT_SET",
                coordinate,
                f'@fromContext arguments may not have a default value: "{coordinate}".',
            )
        context, selection = parse_context(value)
        if not context or not selection:
            self.error(
                "NO_CONTEXT_IN_SELECTION",
                coordinate,
                f'@fromContext argument does not reference a context "{value}".',
            )
            return
        locations = by_context.get(context)
        if locations is None:
            self.error(
                "CONTEXT_NOT_SET",
                coordinate,
                f'Context "{context}" is used at location "{coordinate}" but is never set.',
            )
        else:
            _Selection(self, context, coordinate, arg.type).check(selection, locations)
        if not any(k.resolvable for k in tdef.keys):
            self.error(
                "CONTEXT_NO_RESOLVABLE_KEY",
                tdef.name,
                f'Object "{tdef.name}" has no '
                "resolvable key but has a field with a contextual argument.",
            )


class _Selection:
    """One `@fromContext` selection checked against every type that sets its context."""

    def __init__(self, checker: _Checker, context: str, coordinate: str, expected: TypeNode):
        self.checker = checker
        self.subgraph = checker.subgraph
        self.context = context
        self.coordinate = coordinate
        self.expected = expected

    def invalid(self, why: str) -> None:
        self.checker.error(
            "CONTEXT_INVALID_SELECTION",
            self.coordinate,
            f'Context "{self.context}" is used in "{self.coordinate}" but the selection is '
            f"invalid{why}",
        )

    def shape(self, selection: str) -> tuple[SelectionSetNode, str, list[str]] | None:
        """The parsed selection, its kind (`field` or `fragments`) and its type conditions."""
        text = selection if selection.strip().startswith("{") else "{" + selection + "}"
        try:
            document = parse(text, no_location=True)
        except GraphQLSyntaxError as error:
            self.invalid(f": {error.message}")
            return None
        operation = document.definitions[0]
        if len(document.definitions) != 1 or not isinstance(operation, OperationDefinitionNode):
            self.invalid(": the selection does not parse")
            return None
        nodes = operation.selection_set.selections
        if isinstance(nodes[0], FieldNode):
            if len(nodes) != 1:
                self.invalid(": multiple selections are made")
                return None
            return operation.selection_set, "field", []
        if isinstance(nodes[0], FragmentSpreadNode):
            self.invalid(": fragment spread is not allowed")
            return None
        if not all(isinstance(n, InlineFragmentNode) for n in nodes):
            self.invalid(": multiple fields could be selected")
            return None
        conditions = [
            n.type_condition.name.value
            for n in nodes
            if isinstance(n, InlineFragmentNode) and n.type_condition is not None
        ]
        if len(set(conditions)) != len(nodes):
            self.invalid(": type conditions have same name")
            return None
        return operation.selection_set, "fragments", list(dict.fromkeys(conditions))

    def check(self, selection: str, locations: list[str]) -> None:
        shaped = self.shape(selection)
        if shaped is None:
            return
        parsed, kind, conditions = shaped
        used: set[str] = set()
        for location in locations:
            try:
                self.validate(location, parsed)
            except _Invalid as error:
                self.invalid(f" for type {location}. Error: {error}")
                return
            if _has(parsed, lambda n: bool(n.directives)):
                self.invalid(": directives are not allowed in the selection")
            if _has(parsed, lambda n: isinstance(n, FieldNode) and n.alias is not None):
                self.invalid(": aliases are not allowed in the selection")
            if kind == "field":
                resolved = self.resolved_type(location, parsed)
                if resolved is None or not _fits(resolved, self.expected):
                    self.invalid(
                        f': the type of the selection "{_printed(resolved)}" does not '
                        f'match the expected type "{print_ast(self.expected)}"'
                    )
                    return
                continue
            if not self.check_fragments(location, parsed, used):
                return
        for condition in conditions:
            if condition not in used:
                self.invalid(f': type condition "{condition}" is never used.')

    def check_fragments(self, location: str, parsed: SelectionSetNode, used: set[str]) -> bool:
        kept: list[InlineFragmentNode] = []
        for node in parsed.selections:
            if not isinstance(node, InlineFragmentNode):
                self.invalid(
                    ": selection should only contain a single field or at least one "
                    'inline fragment}"'
                )
                continue
            if node.type_condition is None:
                self.invalid(': inline fragments must have type conditions"')
                continue
            condition = node.type_condition.name.value
            cdef = self.subgraph.types.get(condition)
            if cdef is None or cdef.kind != "OBJECT":
                self.invalid(': type conditions must be an object type"')
            elif condition in possible_types(self.subgraph, location):
                kept.append(node)
                used.add(condition)
        if not kept:
            self.invalid(f': no type condition matches the location "{location}"')
            return False
        for node in kept:
            condition = node.type_condition.name.value  # type: ignore[union-attr]
            resolved = self.resolved_type(condition, node.selection_set)
            if resolved is None:
                self.invalid(
                    ": the type of the selection does not match the expected type "
                    f'"{print_ast(self.expected)}"'
                )
                return False
            if not _fits(resolved, self.expected):
                self.invalid(
                    f': the type of the selection "{_printed(resolved)}" does not match '
                    f'the expected type "{print_ast(self.expected)}"'
                )
                return False
        return True

    def validate(self, type_name: str, selection: SelectionSetNode) -> None:
        """Raise `_Invalid` as parsing the selection on `type_name` would fail."""
        tdef = self.subgraph.types.get(type_name)
        for node in selection.selections:
            if isinstance(node, InlineFragmentNode):
                condition = node.type_condition.name.value if node.type_condition else type_name
                if condition not in self.subgraph.types:
                    raise _Invalid(f'Unknown type "{condition}".')
                self.validate(condition, node.selection_set)
                continue
            if not isinstance(node, FieldNode) or node.name.value == "__typename":
                continue
            fdef = tdef.fields.get(node.name.value) if tdef is not None else None
            if fdef is None:
                raise _Invalid(f'Cannot query field "{node.name.value}" on type "{type_name}".')
            target = named_type(fdef.type)
            leaf = target in BUILTIN_SCALARS or self.subgraph.types[target].kind in (
                "SCALAR",
                "ENUM",
            )
            if leaf and node.selection_set is not None:
                raise _Invalid(
                    f'Field "{node.name.value}" must not have a selection since type '
                    f'"{print_ast(fdef.type)}" has no subfields.'
                )
            if not leaf and node.selection_set is None:
                raise _Invalid(
                    f'Field "{node.name.value}" of type "{print_ast(fdef.type)}" must '
                    "have a selection of subfields."
                )
            if node.selection_set is not None:
                self.validate(target, node.selection_set)

    def resolved_type(self, type_name: str, selection: SelectionSetNode) -> str | None:
        """The type the selection yields, as Apollo computes it: lists kept, non-null dropped;
        None when its fields disagree or it selects a fragment."""
        tdef = self.subgraph.types.get(type_name)
        if tdef is not None and tdef.interface_object:
            self.checker.error(
                "CONTEXT_INVALID_SELECTION",
                self.coordinate,
                f'Context "is used in "{self.coordinate}" but the selection is '
                f"invalid: One of the types in the selection is an "
                f'interfaceObject: "{type_name}"',
            )
        found: list[str | None] = []
        for node in selection.selections:
            if not isinstance(node, FieldNode) or tdef is None:
                found.append(None)
                continue
            fdef = tdef.fields.get(node.name.value)
            if fdef is None:
                found.append(None)
                continue
            inner: str | None = named_type(fdef.type)
            if node.selection_set is not None:
                inner = self.resolved_type(named_type(fdef.type), node.selection_set)
            found.append(None if inner is None else _lists(fdef.type, inner))
        first = found[0] if found else None
        return first if all(f == first for f in found) else None


def _lists(type_node: TypeNode, inner: str) -> str:
    """`[String!]!` around `T` gives `[T]`: the lists of the field's type, without non-nulls."""
    if isinstance(type_node, NonNullTypeNode):
        return _lists(type_node.type, inner)
    if isinstance(type_node, ListTypeNode):
        return "[" + _lists(type_node.type, inner) + "]"
    return inner


def _printed(resolved: str | None) -> str:
    return "undefined" if resolved is None else resolved


def _fits(resolved: str, expected: TypeNode) -> bool:
    """Whether a selection of (nullable) type `resolved` can fill an argument of `expected`."""
    if isinstance(expected, NonNullTypeNode):
        return False  # the selection's type is never non-null, as Apollo computes it
    if isinstance(expected, ListTypeNode):
        return resolved.startswith("[") and _fits(resolved[1:-1], expected.type)
    return not resolved.startswith("[") and resolved == print_ast(expected)


def _has(selection: SelectionSetNode, test: object) -> bool:
    for node in selection.selections:
        if test(node):  # type: ignore[operator]
            return True
        inner = getattr(node, "selection_set", None)
        if inner is not None and _has(inner, test):
            return True
    return False


def check_contexts(subgraph: Subgraph) -> list[CompositionError]:
    """Every problem with the subgraph's `@context` and `@fromContext` (see module doc)."""
    return _Checker(subgraph).run()


# -- merging ---------------------------------------------------------------------------------------


def type_contexts(sources: Sequence[tuple[str, TypeDef]]) -> tuple[str, ...]:
    """The supergraph's `@context(name:)` of a type: each subgraph's names, `<subgraph>__<name>`
    (a context belongs to its subgraph: two subgraphs' `shop` are two contexts)."""
    return tuple(dict.fromkeys(f"{graph}__{name}" for graph, t in sources for name in t.contexts))


def join_context_arguments(graph: str, fdef: FieldDef) -> tuple[ContextArgument, ...]:
    """The `contextArguments` of the field's `@join__field` for `graph`."""
    out: list[ContextArgument] = []
    for arg in fdef.args:
        context, selection = parse_context(arg.from_context or "")
        if context and selection:
            out.append(
                ContextArgument(f"{graph}__{context}", arg.name, print_ast(arg.type), selection)
            )
    return tuple(out)


def context_directive(subgraphs: Sequence[Subgraph]) -> str:
    """The supergraph's name for `@context`: the first subgraph setting a context names it."""
    setting = [s for s in subgraphs if any(t.contexts for t in s.types.values())]
    return setting[0].context_directive if setting else "context"


def contextual_argument(
    coordinate: str,
    with_graph: Sequence[tuple[str, ArgDef]],
    errors: list[CompositionError],
    hints: list[CompositionHint],
) -> bool:
    """Whether an argument is contextual in some subgraph (then the supergraph drops it); what
    the subgraphs where it is a plain argument make of that goes to `errors` (the client would
    have to pass it) or `hints` (it is optional)."""
    if all(a.from_context is None for _g, a in with_graph):
        return False
    for graph, arg in with_graph:
        if arg.from_context is not None:
            continue
        if isinstance(arg.type, NonNullTypeNode) and arg.default is None:
            errors.append(
                CompositionError(
                    "CONTEXTUAL_ARGUMENT_NOT_CONTEXTUAL_IN_ALL_SUBGRAPHS",
                    f'Argument "{coordinate}" is contextual in at least one subgraph but in '
                    f'"{coordinate}" it does not have @fromContext, is not nullable and has no '
                    "default value.",
                    (graph,),
                    coordinate,
                )
            )
        else:
            hints.append(
                CompositionHint(
                    "CONTEXTUAL_ARGUMENT_NOT_CONTEXTUAL_IN_ALL_SUBGRAPHS",
                    f'Contextual argument "{coordinate}" will not be included in the supergraph '
                    "since it is contextual in at least one subgraph",
                    coordinate,
                )
            )
    return True
