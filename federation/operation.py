"""A client operation, parsed and validated once against the API schema, before any planning.

`OperationCache.prepare` turns (query text, operationName) into a `PreparedOperation` or an
`OperationError` and remembers either, so a repeated query costs a dictionary lookup and a
repeated bad query is rejected just as cheaply. `coerce_variables` applies the operation's
variable definitions; `execute_introspection` answers `__schema`/`__type`/`__typename` at the
gateway without calling any subgraph.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from typing import Any, Literal

from graphql import (
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLError,
    GraphQLSchema,
    GraphQLSyntaxError,
    InlineFragmentNode,
    OperationDefinitionNode,
    SelectionSetNode,
    execute_sync,
    get_variable_values,
    parse,
    validate,
)

from federation.limits import Limits, check_document, check_text
from federation.telemetry.tracing import SPAN_PARSE, SPAN_VALIDATE, span

__all__ = [
    "OperationCache",
    "OperationError",
    "PreparedOperation",
    "coerce_variables",
    "execute_introspection",
    "prepare_operation",
]

OperationType = Literal["query", "mutation", "subscription"]

#: `extensions.code` of each client-facing failure, as Apollo Server names them
PARSE_FAILED = "GRAPHQL_PARSE_FAILED"
VALIDATION_FAILED = "GRAPHQL_VALIDATION_FAILED"
OPERATION_RESOLUTION_FAILURE = "OPERATION_RESOLUTION_FAILURE"
BAD_USER_INPUT = "BAD_USER_INPUT"

_INTROSPECTION_FIELDS = frozenset({"__schema", "__type", "__typename"})
_OPERATION_TYPES: Mapping[str, OperationType] = {
    "query": "query",
    "mutation": "mutation",
    "subscription": "subscription",
}


@dataclass(frozen=True, slots=True)
class PreparedOperation:
    """A parsed, validated operation with the one operation to run already selected."""

    document: DocumentNode
    operation: OperationDefinitionNode
    fragments: Mapping[str, FragmentDefinitionNode]
    operation_type: OperationType
    name: str | None
    #: every root field is `__schema`, `__type` or `__typename`: the gateway answers alone
    is_introspection_only: bool
    #: (query text, operation name): what plans and in-flight sharing are keyed by
    key: tuple[str, str | None] = ("", None)


class OperationError(Exception):
    """A client-facing failure before planning: syntax, validation, operation choice, variables.

    `errors` are GraphQLErrors with locations and an `extensions.code`. What HTTP status that
    becomes is the edge's decision (edge/endpoint.py), made once, with the media type.
    """

    def __init__(self, errors: Iterable[GraphQLError]) -> None:
        self.errors = list(errors)
        super().__init__("; ".join(error.message for error in self.errors))

    @property
    def formatted(self) -> list[dict[str, Any]]:
        """The errors as they go into a response's `errors` list."""
        return [dict(error.formatted) for error in self.errors]


class OperationCache:
    """Prepared operations by (query text, operation name), least recently used evicted first.

    Failures are cached as well, except a document refused for its length alone: caching it
    would let long junk fill memory, and refusing it again costs nothing. `limits` (on by
    default) are checked before parsing and validation. Not thread-safe: one cache per loop.
    """

    def __init__(
        self,
        api_schema: GraphQLSchema,
        *,
        max_size: int = 1000,
        max_tokens: int | None = None,
        limits: Limits | None = None,
    ) -> None:
        if max_size < 1:
            raise ValueError("max_size must be at least 1")
        self.api_schema = api_schema
        self.max_size = max_size
        self.max_tokens = max_tokens
        self.limits = limits if limits is not None else Limits()
        self._entries: OrderedDict[tuple[str, str | None], PreparedOperation | OperationError] = (
            OrderedDict()
        )

    def __len__(self) -> int:
        return len(self._entries)

    def prepare(self, query: str, operation_name: str | None) -> PreparedOperation:
        """The prepared operation for this query and name; raises OperationError (cached too)."""
        key = (query, operation_name)
        entry = self._entries.get(key)
        if entry is None:
            max_length = self.limits.max_length
            try:
                entry = replace(
                    prepare_operation(
                        self.api_schema,
                        query,
                        operation_name,
                        max_tokens=self.max_tokens,
                        limits=self.limits,
                    ),
                    key=key,
                )
            except OperationError as error:
                if max_length is not None and len(query) > max_length:
                    raise
                entry = error
            self._entries[key] = entry
            if len(self._entries) > self.max_size:
                self._entries.popitem(last=False)
        else:
            self._entries.move_to_end(key)
        if isinstance(entry, OperationError):
            # Drop the previous raise's traceback so a cached error does not grow with each use.
            raise entry.with_traceback(None) from None
        return entry


def prepare_operation(
    api_schema: GraphQLSchema,
    query: str,
    operation_name: str | None,
    *,
    max_tokens: int | None = None,
    limits: Limits | None = None,
) -> PreparedOperation:
    """Parse, validate and select the operation to run; raises OperationError.

    With `limits`, the cheap checks run first: on tokens before parsing, then on the parsed
    selections before validation, whose cost grows faster than the document.
    """
    if limits is not None:
        refused = check_text(query, limits)
        if refused is not None:
            raise OperationError([refused])
    try:
        with span(SPAN_PARSE):
            document = parse(query, max_tokens=max_tokens)
    except GraphQLSyntaxError as error:
        raise OperationError([_with_code(error, PARSE_FAILED)]) from None
    except RecursionError:
        # Only reachable with max_nesting switched off: still a client error, not a crash.
        raise OperationError(
            [GraphQLError("The document is nested too deeply.", extensions=_code(PARSE_FAILED))]
        ) from None
    if limits is not None:
        refused = check_document(document, limits, api_schema)
        if refused is not None:
            raise OperationError([refused])
    with span(SPAN_VALIDATE):
        errors = validate(api_schema, document)
    if errors:
        raise OperationError([_with_code(error, VALIDATION_FAILED) for error in errors])
    operation = _select_operation(document, operation_name)
    fragments = {
        definition.name.value: definition
        for definition in document.definitions
        if isinstance(definition, FragmentDefinitionNode)
    }
    operation_type = _OPERATION_TYPES[operation.operation.value]
    return PreparedOperation(
        document=document,
        operation=operation,
        fragments=fragments,
        operation_type=operation_type,
        name=operation.name.value if operation.name else None,
        is_introspection_only=all(
            name in _INTROSPECTION_FIELDS
            for name in _root_field_names(operation.selection_set, fragments, set())
        ),
    )


def coerce_variables(
    schema: GraphQLSchema, operation: OperationDefinitionNode, raw: Mapping[str, Any] | None
) -> dict[str, Any]:
    """Coerce the request's variables for `operation`, applying defaults; raises OperationError."""
    if raw is not None and not isinstance(raw, Mapping):
        raise OperationError(
            [
                GraphQLError(
                    "Variables must be provided as an object.", extensions=_code(BAD_USER_INPUT)
                )
            ]
        )
    result = get_variable_values(
        schema, operation.variable_definitions or (), dict(raw or {}), max_errors=50
    )
    if isinstance(result, list):
        raise OperationError([_with_code(error, BAD_USER_INPUT) for error in result])
    return dict(result.coerced)


def execute_introspection(
    schema: GraphQLSchema, prepared: PreparedOperation, variables: Mapping[str, Any] | None
) -> dict[str, Any]:
    """Answer the operation with graphql-core alone, as `{"data": ..., "errors": [...]}`.

    Meant for `is_introspection_only` operations; any other field has no resolver here and
    comes back null. `variables` may be raw or already coerced (coercion is idempotent for a
    schema built from SDL).
    """
    result = execute_sync(
        schema,
        prepared.document,
        variable_values=dict(variables or {}),
        operation_name=prepared.name,
    )
    return dict(result.formatted)


def _select_operation(
    document: DocumentNode, operation_name: str | None
) -> OperationDefinitionNode:
    operations = [
        definition
        for definition in document.definitions
        if isinstance(definition, OperationDefinitionNode)
    ]
    if operation_name is not None:
        for operation in operations:
            if operation.name is not None and operation.name.value == operation_name:
                return operation
        raise _resolution_error(f"Unknown operation named '{operation_name}'.")
    if not operations:
        raise _resolution_error("Must provide an operation.")
    if len(operations) > 1:
        raise _resolution_error(
            "Must provide operation name if query contains multiple operations."
        )
    return operations[0]


def _root_field_names(
    selection_set: SelectionSetNode,
    fragments: Mapping[str, FragmentDefinitionNode],
    visited: set[str],
) -> Iterable[str]:
    """Names of the root fields, looking through fragments (validation ruled out cycles)."""
    for selection in selection_set.selections:
        if isinstance(selection, FieldNode):
            yield selection.name.value
        elif isinstance(selection, InlineFragmentNode):
            yield from _root_field_names(selection.selection_set, fragments, visited)
        elif isinstance(selection, FragmentSpreadNode) and selection.name.value not in visited:
            visited.add(selection.name.value)
            fragment = fragments[selection.name.value]
            yield from _root_field_names(fragment.selection_set, fragments, visited)


def _resolution_error(message: str) -> OperationError:
    return OperationError([GraphQLError(message, extensions=_code(OPERATION_RESOLUTION_FAILURE))])


def _code(code: str) -> dict[str, Any]:
    return {"code": code}


def _with_code(error: GraphQLError, code: str) -> GraphQLError:
    return GraphQLError(
        error.message,
        nodes=error.nodes,
        source=error.source,
        positions=error.positions,
        path=error.path,
        original_error=error.original_error,
        extensions={**(error.extensions or {}), "code": code},
    )
