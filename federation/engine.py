"""The engine: one request goes parse → validate → plan → fetch → merge → shape.

Parsed operations and plans are cached per (operation text, operation name); neither key depends
on variable values, because variable `@skip`/`@include` become Condition nodes in the plan.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Mapping
from collections.abc import Set as AbstractSet
from dataclasses import dataclass
from typing import Any

import orjson
from graphql import (
    DocumentNode,
    FieldNode,
    GraphQLError,
    OperationDefinitionNode,
    SelectionSetNode,
    execute_sync,
    is_abstract_type,
)

from federation.errors import PlanningError
from federation.execution.executor import execute_plan
from federation.execution.shaping import shape_response
from federation.limits import Limits, check_variables
from federation.operation import (
    OperationCache,
    OperationError,
    PreparedOperation,
    coerce_variables,
    execute_introspection,
)
from federation.planning.plan import QueryPlan
from federation.planning.planner import QueryPlanner
from federation.subgraphs.fetcher import Fetcher
from federation.subgraphs.resilience import InflightDeduper
from federation.supergraph.model import Supergraph
from federation.telemetry.tracing import (
    SPAN_PLAN,
    note_operation,
    note_plan_cache,
    note_request,
    span,
)

__all__ = ["MASKED_MESSAGE", "Engine", "EngineResult"]

#: What a client sees instead of a subgraph's own error message when errors are masked.
MASKED_MESSAGE = "Subgraph error redacted"
# Errors the gateway writes itself about a failed fetch; their messages hold nothing internal.
_GATEWAY_CODES = frozenset(
    {
        "SUBGRAPH_UNREACHABLE",
        "SUBGRAPH_TIMEOUT",
        "SUBGRAPH_HTTP_ERROR",
        "SUBGRAPH_BAD_RESPONSE",
        "SUBGRAPH_CIRCUIT_OPEN",
        "SUBGRAPH_RESPONSE_TOO_LARGE",
    }
)


@dataclass(frozen=True, slots=True)
class EngineResult:
    """A GraphQL response body and the HTTP status the GraphQL-over-HTTP spec gives it."""

    status: int
    body: dict[str, Any]
    plan: QueryPlan | None = None


class PlanCache:
    """A bounded LRU of plans keyed by (operation text, operation name)."""

    def __init__(self, max_size: int = 1000) -> None:
        self.max_size = max_size
        self.entries: OrderedDict[tuple[str, str | None], QueryPlan] = OrderedDict()
        self.hits = 0
        self.misses = 0

    def get(self, key: tuple[str, str | None]) -> QueryPlan | None:
        plan = self.entries.get(key)
        if plan is None:
            self.misses += 1
            return None
        self.hits += 1
        self.entries.move_to_end(key)
        return plan

    def put(self, key: tuple[str, str | None], plan: QueryPlan) -> None:
        self.entries[key] = plan
        self.entries.move_to_end(key)
        while len(self.entries) > self.max_size:
            self.entries.popitem(last=False)


class Engine:
    """Serves operations against one supergraph through one fetcher.

    `limits` bound what a client document and its variables may hold (on by default).
    `mask_subgraph_errors` replaces the message of every error a subgraph returned, keeping
    its path and `extensions.code`, so stack traces and internals stay inside; the gateway
    masks unless it runs in dev mode.
    """

    def __init__(
        self,
        supergraph: Supergraph,
        fetcher: Fetcher,
        *,
        operation_cache_size: int = 1000,
        plan_cache_size: int = 1000,
        limits: Limits | None = None,
        mask_subgraph_errors: bool = False,
        dedupe_inbound: bool = False,
        batch_entities: bool | AbstractSet[str] = True,
    ) -> None:
        self.supergraph = supergraph
        self.fetcher = fetcher
        self.limits = limits if limits is not None else Limits()
        self.mask_subgraph_errors = mask_subgraph_errors
        self.operations = OperationCache(
            supergraph.api_schema, max_size=operation_cache_size, limits=self.limits
        )
        self.plans = PlanCache(plan_cache_size)
        #: entity fetches to one subgraph that start together share one request (for every
        #: subgraph, or for the named ones)
        self.batch_entities = batch_entities
        self.planner = QueryPlanner(supergraph)
        self.possible_types: dict[str, frozenset[str]] = {
            name: frozenset(t.name for t in supergraph.schema.get_possible_types(named))
            for name, named in supergraph.schema.type_map.items()
            if is_abstract_type(named)
        }
        #: With `dedupe_inbound`, identical queries in flight at once share one execution.
        self.inflight = InflightDeduper() if dedupe_inbound else None

    async def execute(
        self,
        query: str,
        operation_name: str | None = None,
        variables: Mapping[str, Any] | None = None,
        *,
        headers: Mapping[str, str] | None = None,
    ) -> EngineResult:
        """Run one client operation and return its response.

        With inbound dedupe on, a query identical to one in flight (text, operation name,
        variables, forwarded headers) waits for that one's answer instead of running again; the
        shared body is then the same object for every caller, to be treated as read-only.
        """
        key = self._inflight_key(query, operation_name, variables, headers)
        if key is None or self.inflight is None:
            return await self._execute(query, operation_name, variables, headers=headers)
        result, _shared = await self.inflight.run(
            key, lambda: self._execute(query, operation_name, variables, headers=headers)
        )
        return result

    def _inflight_key(
        self,
        query: str,
        operation_name: str | None,
        variables: Mapping[str, Any] | None,
        headers: Mapping[str, str] | None,
    ) -> tuple[Any, ...] | None:
        """The sharing key of a query, or None for what must run on its own (mutations, and
        anything that does not prepare: the execution reports it)."""
        if self.inflight is None:
            return None
        try:
            if self.operations.prepare(query, operation_name).operation_type != "query":
                return None
            encoded = orjson.dumps(variables, option=orjson.OPT_SORT_KEYS) if variables else b""
        except (OperationError, TypeError):
            return None
        forwarded = tuple(sorted((headers or {}).items()))
        return (query, operation_name, encoded, forwarded)

    async def _execute(
        self,
        query: str,
        operation_name: str | None,
        variables: Mapping[str, Any] | None,
        *,
        headers: Mapping[str, str] | None,
    ) -> EngineResult:
        note_request(query, operation_name, variables)
        refused = check_variables(variables, self.limits)
        if refused is not None:
            return EngineResult(400, {"errors": [refused.formatted]})
        try:
            prepared = self.operations.prepare(query, operation_name)
            note_operation(prepared.name, prepared.operation_type)
            coerced = coerce_variables(self.supergraph.api_schema, prepared.operation, variables)
        except OperationError as error:
            return EngineResult(error.status, {"errors": [e.formatted for e in error.errors]})
        if prepared.operation_type == "subscription":
            return _request_error("Subscriptions are not supported over this transport", 400)
        if prepared.is_introspection_only:
            body = execute_introspection(self.supergraph.api_schema, prepared, coerced)
            return EngineResult(200, body)
        key = (query, operation_name)
        plan = self.plans.get(key)
        note_plan_cache(hit=plan is not None)
        if plan is None:
            try:
                with span(SPAN_PLAN):
                    plan = self.planner.plan(prepared.operation, prepared.fragments)
            except PlanningError as error:
                located = {
                    "message": str(error),
                    "extensions": {"code": "QUERY_PLANNING_FAILED"},
                }
                if error.path:
                    located["path"] = error.path
                return EngineResult(200, {"data": None, "errors": [located]})
            self.plans.put(key, plan)
        data, errors = await execute_plan(
            plan,
            fetcher=self.fetcher,
            variables=coerced,
            possible_types=self.possible_types,
            headers=headers,
            batch_entities=self.batch_entities,
        )
        if self.mask_subgraph_errors:
            errors = [_masked(error) for error in errors]
        introspection = _introspection_fields(prepared.operation)
        body = shape_response(
            schema=self.supergraph.api_schema,
            operation=prepared.operation,
            fragments=prepared.fragments,
            variables=coerced,
            data=data,
            errors=errors,
        )
        if introspection and isinstance(body.get("data"), dict):
            # Introspection next to data fields: the gateway answers that part itself.
            answered = self._introspect(prepared.operation, introspection, prepared, coerced)
            body["data"].update(answered)
        return EngineResult(200, body, plan)

    def _introspect(
        self,
        operation: OperationDefinitionNode,
        fields: list[FieldNode],
        prepared: PreparedOperation,
        variables: Mapping[str, Any],
    ) -> dict[str, Any]:
        only = OperationDefinitionNode(
            operation=operation.operation,
            name=operation.name,
            variable_definitions=operation.variable_definitions,
            directives=(),
            selection_set=SelectionSetNode(selections=tuple(fields)),
        )
        document = DocumentNode(definitions=(only, *prepared.fragments.values()))
        result = execute_sync(self.supergraph.api_schema, document, variable_values=dict(variables))
        return dict(result.data or {})


def _introspection_fields(operation: OperationDefinitionNode) -> list[FieldNode]:
    return [
        selection
        for selection in operation.selection_set.selections
        if isinstance(selection, FieldNode) and selection.name.value in ("__schema", "__type")
    ]


def _masked(error: dict[str, Any]) -> dict[str, Any]:
    """A subgraph's error reduced to its path and code; the gateway's own errors pass as is."""
    extensions = error.get("extensions")
    if not isinstance(extensions, dict) or "serviceName" not in extensions:
        return error
    code = extensions.get("code")
    if code in _GATEWAY_CODES:
        return error
    masked: dict[str, Any] = {"message": MASKED_MESSAGE}
    if "path" in error:
        masked["path"] = error["path"]
    masked["extensions"] = {"code": code if isinstance(code, str) else "SUBGRAPH_ERROR"}
    return masked


def _request_error(message: str, status: int) -> EngineResult:
    error = GraphQLError(message, extensions={"code": "BAD_REQUEST"})
    return EngineResult(status, {"errors": [error.formatted]})
