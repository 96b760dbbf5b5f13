"""Limits on client documents and variables, checked before graphql-core parses or validates.

graphql-core's parser recurses once per nesting level and its validation is quadratic on some
documents (thousands of fields under one response key, hundreds of fragments side by side), so
an unchecked document can raise RecursionError or keep a worker busy for seconds. The checks
here cost one pass over the tokens (`check_text`, before parsing) and one memoized pass over the
parsed selections (`check_document`, before validation), so a fragment bomb whose expansion
would hold billions of fields is measured, not expanded, and refused in milliseconds.

Every refusal is a `GraphQLError` that names the limit and its value in its message and in
`extensions` (`code`, `limit`, `max`). Every limit is configurable through `Limits`; `None`
switches one off.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, fields
from typing import Any, TypeAlias

from graphql import (
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLError,
    GraphQLList,
    GraphQLNamedType,
    GraphQLNonNull,
    GraphQLSchema,
    GraphQLSyntaxError,
    InlineFragmentNode,
    IntValueNode,
    OperationDefinitionNode,
    SelectionSetNode,
    Source,
    TokenKind,
    VariableNode,
    is_interface_type,
    is_object_type,
)
from graphql.language import Lexer

from federation.demand import CONNECTION_FIELDS, SIZE_ARGUMENTS, Demand, FieldDemand, ListSizes

__all__ = [
    "COST_LIMIT",
    "LIMIT_EXCEEDED",
    "Limits",
    "check_cost",
    "check_document",
    "check_text",
    "check_variables",
    "cost_error",
    "limit_error",
]

#: `extensions.code` of every limit refusal; `extensions.limit` says which limit.
LIMIT_EXCEEDED = "OPERATION_LIMIT_EXCEEDED"

_OPENING = frozenset({TokenKind.BRACE_L, TokenKind.PAREN_L, TokenKind.BRACKET_L})
_CLOSING = frozenset({TokenKind.BRACE_R, TokenKind.PAREN_R, TokenKind.BRACKET_R})
#: `extensions.code` of a refusal for the estimated cost; `extensions.estimate` says it.
COST_LIMIT = "COST_LIMIT"
#: what the fields below a connection field know of its size: (slicing size, sized fields)
_Sized: TypeAlias = tuple[int, tuple[str, ...]] | None


@dataclass(frozen=True, slots=True)
class Limits:
    """What a client document and its variables may contain. `None` switches a limit off.

    The defaults leave room for real device queries (a TV home screen is depth 7, ~60 fields)
    while keeping the slowest document that passes them under a few tens of milliseconds
    of parsing and validation; `tests/protection/test_worst_cases.py` keeps the measurements.
    """

    #: characters of document text
    max_length: int | None = 100_000
    #: lexical tokens (names, punctuation, values; comments do not count)
    max_tokens: int | None = 10_000
    #: open brackets `{ ( [` at once, counted on tokens before parsing
    max_nesting: int | None = 64
    #: fields inside fields, after expanding fragments
    max_depth: int | None = 15
    #: aliased fields in one operation, after expanding fragments
    max_aliases: int | None = 50
    #: fields at the root of one operation, after expanding fragments
    max_root_fields: int | None = 30
    #: directives anywhere in the document
    max_directives: int | None = 50
    #: fragment definitions in the document (validation compares them pairwise)
    max_fragments: int | None = 100
    #: fields under one response key in one selection set (validation compares them pairwise)
    max_duplicate_fields: int | None = 20
    #: fields of one operation once every fragment is expanded
    max_expanded_fields: int | None = 5_000
    #: estimated cost: each field 1 (or its @cost), times the size of every list above it
    #: (federation/demand.py says how sizes are known); a TV home screen costs about 2,700
    max_cost: int | None = 50_000
    #: list size assumed when nothing else gives it (federation/demand.py lists what does)
    default_list_size: int = 10
    #: bytes of JSON in one answer: past it, the edge sends a RESPONSE_TOO_LARGE error instead,
    #: measured on the body it encodes anyway (4 MiB; a TV home screen is about 100 KB)
    max_response_bytes: int | None = 4 * 1024 * 1024
    #: nesting of arrays and objects in the request's JSON variables
    max_variables_depth: int | None = 32
    #: values in the request's JSON variables (every array item and object entry): coercing
    #: them costs ~10 µs each, so 500,000 short IDs in a 2 MB body would take seconds
    max_variables_values: int | None = 5_000

    def __post_init__(self) -> None:
        for field in fields(self):
            value = getattr(self, field.name)
            if value is not None and (not isinstance(value, int) or value < 1):
                raise ValueError(f"{field.name} must be a positive integer or None")

    @classmethod
    def unlimited(cls) -> Limits:
        """Every limit off: for trusted callers and tests, never for a public edge."""
        off: dict[str, Any] = {f.name: None for f in fields(cls) if f.name != "default_list_size"}
        return cls(**off)


def limit_error(limit: str, value: int, message: str, measured: int | None = None) -> GraphQLError:
    """A refusal naming `limit` and its `value`, and what was `measured` when the check
    measured it whole (the lexer's counts stop at the first token past the limit)."""
    extensions: dict[str, Any] = {"code": LIMIT_EXCEEDED, "limit": limit, "max": value}
    text = f"{message} exceeds the {limit} limit of {value}"
    if measured is None:
        return GraphQLError(f"{text}.", extensions=extensions)
    extensions["measured"] = measured
    return GraphQLError(f"{text}: {measured} > {value}.", extensions=extensions)


def check_text(query: str, limits: Limits) -> GraphQLError | None:
    """Length, tokens, directives and bracket nesting, measured with the lexer before parsing.

    The lexer is iterative, so a document nested ten thousand levels deep is refused here
    instead of overflowing the parser's recursion. Syntax errors are left to the parser,
    which reports them with locations.
    """
    if limits.max_length is not None and len(query) > limits.max_length:
        return limit_error("max_length", limits.max_length, "The document's length", len(query))
    max_tokens = limits.max_tokens
    max_nesting = limits.max_nesting
    max_directives = limits.max_directives
    lexer = Lexer(Source(query))
    tokens = depth = directives = 0
    try:
        token = lexer.advance()
        while token.kind is not TokenKind.EOF:
            tokens += 1
            if max_tokens is not None and tokens > max_tokens:
                return limit_error("max_tokens", max_tokens, "The document's token count")
            kind = token.kind
            if kind in _OPENING:
                depth += 1
                if max_nesting is not None and depth > max_nesting:
                    return limit_error("max_nesting", max_nesting, "The document's nesting")
            elif kind in _CLOSING:
                depth = max(depth - 1, 0)
            elif kind is TokenKind.AT:
                directives += 1
                if max_directives is not None and directives > max_directives:
                    return limit_error(
                        "max_directives", max_directives, "The document's directive count"
                    )
            token = lexer.advance()
    except GraphQLSyntaxError:
        return None
    return None


def check_variables(variables: Any, limits: Limits) -> GraphQLError | None:
    """The nesting and number of values of JSON variables, walked without recursion and
    stopping as soon as either limit is passed."""
    max_depth = limits.max_variables_depth
    max_values = limits.max_variables_values
    if not isinstance(variables, (dict, list)):
        return None
    values = 0
    stack: list[tuple[Any, int]] = [(variables, 1)]
    while stack:
        value, depth = stack.pop()
        if max_depth is not None and depth > max_depth:
            return limit_error("max_variables_depth", max_depth, "The variables' nesting")
        values += len(value)
        if max_values is not None and values > max_values:
            return limit_error(
                "max_variables_values", max_values, "The number of values in the variables"
            )
        children = value.values() if isinstance(value, dict) else value
        stack.extend((child, depth + 1) for child in children if isinstance(child, (dict, list)))
    return None


@dataclass(slots=True)
class _Measure:
    """What a selection set adds up to once its fragments are expanded.

    Counts are exact (Python integers do not overflow), so a fragment bomb's size is known
    without building it.
    """

    fields: int = 0
    root_fields: int = 0
    aliases: int = 0
    depth: int = 0
    cost: int = 0


class _Measurer:
    """Measures selection sets; each named fragment is measured once and its measure reused."""

    def __init__(
        self,
        schema: GraphQLSchema | None,
        fragments: Mapping[str, FragmentDefinitionNode],
        limits: Limits,
        *,
        demand: Demand | None = None,
        list_sizes: ListSizes | None = None,
        variables: Mapping[str, Any] | None = None,
    ) -> None:
        self.schema = schema
        self.fragments = fragments
        self.limits = limits
        self.demand = demand
        self.list_sizes = list_sizes
        self.variables = variables
        self.memo: dict[tuple[str, _Sized], _Measure] = {}
        self.in_progress: set[str] = set()

    def selection_set(
        self,
        selection_set: SelectionSetNode,
        parent: GraphQLNamedType | None,
        sized: _Sized = None,
    ) -> _Measure:
        total = _Measure()
        spread: set[str] = set()
        for selection in selection_set.selections:
            if isinstance(selection, FieldNode):
                part = self.field(selection, parent, sized)
                total.fields += part.fields
                total.root_fields += 1
                total.aliases += part.aliases
                total.depth = max(total.depth, part.depth)
                total.cost += part.cost
                continue
            if isinstance(selection, InlineFragmentNode):
                condition = selection.type_condition
                inner = self._named(condition.name.value) if condition else parent
                part = self.selection_set(selection.selection_set, inner, sized)
            elif isinstance(selection, FragmentSpreadNode):
                # A fragment spread twice into one selection set selects its fields once.
                if selection.name.value in spread:
                    continue
                spread.add(selection.name.value)
                part = self.fragment(selection.name.value, sized)
            else:  # pragma: no cover - graphql-core has no other selection kinds
                continue
            total.fields += part.fields
            total.root_fields += part.root_fields
            total.aliases += part.aliases
            total.depth = max(total.depth, part.depth)
            total.cost += part.cost
        return total

    def field(
        self, field: FieldNode, parent: GraphQLNamedType | None, sized: _Sized = None
    ) -> _Measure:
        field_type, lists = self._field_type(field, parent)
        name = field.name.value
        coordinate = f"{parent.name}.{name}" if parent is not None else name
        demand = self.demand.get(coordinate) if self.demand is not None else None
        slicing = self._slicing_size(field, demand)
        # A connection's nodes/edges (or @listSize's sizedFields) hold what the field that
        # returned the connection sliced.
        child_sized: _Sized = None
        if slicing is not None and not lists:
            sized_fields = demand.sized_fields if demand is not None else ()
            child_sized = (slicing, sized_fields or CONNECTION_FIELDS)
        inner = (
            self.selection_set(field.selection_set, field_type, child_sized)
            if field.selection_set is not None
            else _Measure()
        )
        multiplier = 1
        if lists:
            size = slicing
            if size is None and sized is not None and name in sized[1]:
                size = sized[0]
            if size is None:
                size = self._assumed_size(coordinate, demand)
            multiplier = size**lists
        weight = demand.weight if demand is not None and demand.weight is not None else 1
        return _Measure(
            fields=1 + inner.fields,
            root_fields=1,
            aliases=inner.aliases + (1 if field.alias is not None else 0),
            depth=1 + inner.depth,
            cost=multiplier * (weight + inner.cost),
        )

    def fragment(self, name: str, sized: _Sized = None) -> _Measure:
        measure = self.memo.get((name, sized))
        if measure is not None:
            return measure
        definition = self.fragments.get(name)
        if definition is None or name in self.in_progress:
            # Unknown or cyclic: validation reports it; it adds nothing to measure here.
            return _Measure()
        self.in_progress.add(name)
        measure = self.selection_set(
            definition.selection_set, self._named(definition.type_condition.name.value), sized
        )
        self.in_progress.discard(name)
        self.memo[(name, sized)] = measure
        return measure

    def _named(self, name: str) -> GraphQLNamedType | None:
        return self.schema.get_type(name) if self.schema is not None else None

    def _field_type(
        self, field: FieldNode, parent: GraphQLNamedType | None
    ) -> tuple[GraphQLNamedType | None, int]:
        """The field's named type and how many list wrappers it has (unknown fields: none)."""
        if parent is None or not (is_object_type(parent) or is_interface_type(parent)):
            return None, 0
        definition = parent.fields.get(field.name.value)
        if definition is None:
            return None, 0
        wrapped: Any = definition.type
        lists = 0
        while isinstance(wrapped, (GraphQLNonNull, GraphQLList)):
            if isinstance(wrapped, GraphQLList):
                lists += 1
            wrapped = wrapped.of_type
        return wrapped, lists

    def _slicing_size(self, field: FieldNode, demand: FieldDemand | None) -> int | None:
        """The size the operation asks for through a slicing argument: a literal, or (when
        the variables are known) a variable's value."""
        names = demand.slicing_arguments if demand is not None and demand.slicing_arguments else ()
        for argument in field.arguments or ():
            if argument.name.value not in (names or SIZE_ARGUMENTS):
                continue
            value = argument.value
            if isinstance(value, IntValueNode):
                digits = value.value.lstrip("-")
                # A size with more digits than any limit cannot pass; skip converting it.
                if len(digits) > 12:
                    return 10**12
                return max(int(digits), 1)
            if isinstance(value, VariableNode) and self.variables is not None:
                given = self.variables.get(value.name.value)
                if isinstance(given, int) and not isinstance(given, bool):
                    return max(min(given, 10**12), 1)
        if demand is not None and demand.defaults:
            return max(max(demand.defaults.values()), 1)  # the argument's default applies
        return None

    def _assumed_size(self, coordinate: str, demand: FieldDemand | None) -> int:
        """A list's size when the operation does not say it (see federation/demand.py)."""
        if demand is not None:
            if demand.assumed_size is not None:
                return max(demand.assumed_size, 1)
            if demand.defaults:
                return max(max(demand.defaults.values()), 1)
        if self.list_sizes is not None:
            seen = self.list_sizes.size(coordinate)
            if seen is not None:
                return max(seen, 1)
        return self.limits.default_list_size


def check_document(
    document: DocumentNode, limits: Limits, schema: GraphQLSchema | None = None
) -> GraphQLError | None:
    """Fragments, duplicate fields, and each operation's depth, aliases, root fields, expanded
    size and cost; run after parsing and before validation. `schema` types the cost estimate
    (without it no field counts as a list)."""
    fragments = {
        definition.name.value: definition
        for definition in document.definitions
        if isinstance(definition, FragmentDefinitionNode)
    }
    if limits.max_fragments is not None and len(fragments) > limits.max_fragments:
        return limit_error(
            "max_fragments", limits.max_fragments, "The number of fragments", len(fragments)
        )
    measurer = _Measurer(schema, fragments, limits)
    for definition in document.definitions:
        if not isinstance(definition, OperationDefinitionNode):
            continue
        root = schema.get_root_type(definition.operation) if schema is not None else None
        measure = measurer.selection_set(definition.selection_set, root)
        error = _check_measure(measure, limits)
        if error is not None:
            return error
    # Runs after the size checks: its walk is as long as the expanded document.
    most = limits.max_duplicate_fields
    if most is not None and _has_duplicates_over(document, fragments, most):
        return limit_error(
            "max_duplicate_fields", most, "The number of fields under one response key"
        )
    return None


def check_cost(
    operation: OperationDefinitionNode,
    fragments: Mapping[str, FragmentDefinitionNode],
    schema: GraphQLSchema,
    limits: Limits,
    *,
    demand: Demand | None = None,
    list_sizes: ListSizes | None = None,
    variables: Mapping[str, Any] | None = None,
) -> GraphQLError | None:
    """The refusal of an operation whose estimated cost passes `max_cost`, or None: the
    estimate of `check_document` made with what is known once the request is valid (its
    variables, the supergraph's @cost/@listSize, the list sizes seen; federation/demand.py).
    Runs before any fetch."""
    most = limits.max_cost
    if most is None:
        return None
    measurer = _Measurer(
        schema, fragments, limits, demand=demand, list_sizes=list_sizes, variables=variables
    )
    estimate = measurer.selection_set(
        operation.selection_set, schema.get_root_type(operation.operation)
    ).cost
    return cost_error(estimate, most) if estimate > most else None


def _check_measure(measure: _Measure, limits: Limits) -> GraphQLError | None:
    checks = (
        ("max_depth", limits.max_depth, measure.depth, "The operation's depth"),
        ("max_root_fields", limits.max_root_fields, measure.root_fields,
         "The number of root fields"),
        ("max_aliases", limits.max_aliases, measure.aliases, "The number of aliases"),
        ("max_expanded_fields", limits.max_expanded_fields, measure.fields,
         "The operation's size with fragments expanded"),
        ("max_cost", limits.max_cost, measure.cost, "The operation's estimated cost"),
    )  # fmt: skip
    for name, value, actual, message in checks:
        if value is not None and actual > value:
            if name == "max_cost":
                return cost_error(actual, value)
            return limit_error(name, value, message, actual)
    return None


def cost_error(estimate: int, most: int) -> GraphQLError:
    """The COST_LIMIT refusal, showing the estimate."""
    return GraphQLError(
        f"The operation's estimated cost of {estimate} exceeds the max_cost limit of {most}: "
        "ask for fewer items (first:) or fewer copies of them.",
        extensions={"code": COST_LIMIT, "limit": "max_cost", "estimate": estimate, "max": most},
    )


def _has_duplicates_over(
    document: DocumentNode, fragments: Mapping[str, FragmentDefinitionNode], most: int
) -> bool:
    """Whether more than `most` fields share a response key in one merged field map.

    Fields under the same key merge, and so do their sub-selections: five sibling `a { a {
    ... } }` make twenty-five `a` one level down. Validation compares the fields of each
    merged map pairwise and recurses into each pair, so this count, not the one written in
    any single selection set, is what bounds its work. Inline fragments and named fragments
    (each once per map, as execution does) are looked through.
    """
    groups: list[list[SelectionSetNode]] = [
        [definition.selection_set]
        for definition in document.definitions
        if isinstance(definition, (OperationDefinitionNode, FragmentDefinitionNode))
    ]
    while groups:
        pending = groups.pop()
        counts: dict[str, int] = {}
        children: dict[str, list[SelectionSetNode]] = {}
        seen: set[str] = set()
        while pending:
            for selection in pending.pop().selections:
                if isinstance(selection, FieldNode):
                    key = (selection.alias or selection.name).value
                    counts[key] = counts.get(key, 0) + 1
                    if counts[key] > most:
                        return True
                    if selection.selection_set is not None:
                        children.setdefault(key, []).append(selection.selection_set)
                elif isinstance(selection, InlineFragmentNode):
                    pending.append(selection.selection_set)
                elif isinstance(selection, FragmentSpreadNode):
                    name = selection.name.value
                    if name not in seen and name in fragments:
                        seen.add(name)
                        pending.append(fragments[name].selection_set)
        groups.extend(children.values())
    return False
