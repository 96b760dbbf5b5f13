"""The engine: one request goes parse → validate → plan → fetch → merge → shape.

Parsed operations and plans are cached per (operation text, operation name); neither key depends
on variable values, because variable `@skip`/`@include` become Condition nodes in the plan. A
supergraph with progressive overrides (`percent(N)` labels) draws the labels per request, and
plans are cached per set of enabled labels too (supergraph/override.py).
"""

from __future__ import annotations

import random
from collections import OrderedDict
from collections.abc import Callable, Hashable, Mapping
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

from federation.demand import CostCache, ListSizes, read_demand
from federation.errors import PlanningError
from federation.execution.executor import execute_plan
from federation.execution.shaping import shape_response
from federation.limits import Limits, check_cost, check_variables
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
from federation.supergraph.override import LabelDraw, with_override_labels
from federation.supergraph.override import override_labels as labels_in
from federation.telemetry.tracing import (
    SPAN_PLAN,
    note_operation,
    note_override_labels,
    note_plan_cache,
    note_request,
    span,
)

__all__ = ["Engine", "EngineResult"]


@dataclass(frozen=True, slots=True)
class EngineResult:
    """A GraphQL response body, unmasked. `rejected`: the request could not run at all (its
    variables or operation were refused), so there is no `data`; the edge turns that into
    the HTTP status the GraphQL-over-HTTP spec gives it, and masks the body."""

    body: dict[str, Any]
    plan: QueryPlan | None = None
    rejected: bool = False


class PlanCache:
    """A bounded LRU of plans keyed by (operation text, operation name[, enabled labels])."""

    def __init__(self, max_size: int = 1000) -> None:
        self.max_size = max_size
        self.entries: OrderedDict[tuple[Hashable, ...], QueryPlan] = OrderedDict()
        self.hits = 0
        self.misses = 0

    def get(self, key: tuple[Hashable, ...]) -> QueryPlan | None:
        plan = self.entries.get(key)
        if plan is None:
            self.misses += 1
            return None
        self.hits += 1
        self.entries.move_to_end(key)
        return plan

    def put(self, key: tuple[Hashable, ...], plan: QueryPlan) -> None:
        self.entries[key] = plan
        self.entries.move_to_end(key)
        while len(self.entries) > self.max_size:
            self.entries.popitem(last=False)


class Engine:
    """Serves operations against one supergraph through one fetcher.

    `limits` bound what a client document and its variables may hold (on by default). The
    contract with the edge: `prepare` once per request, then `execute`; the engine answers with
    its own and the subgraphs' errors unmasked, and the edge alone masks and picks the status.
    """

    def __init__(
        self,
        supergraph: Supergraph,
        fetcher: Fetcher,
        *,
        operation_cache_size: int = 1000,
        plan_cache_size: int = 1000,
        limits: Limits | None = None,
        dedupe_inbound: bool = False,
        batch_entities: bool | AbstractSet[str] = True,
        list_sizes: ListSizes | None = None,
        override_labels: AbstractSet[str] = frozenset(),
        draw: Callable[[], float] = random.random,
    ) -> None:
        """`override_labels`: progressive-override labels on for every request; `draw` gives
        the number in [0, 1) each `percent(N)` label is drawn with."""
        self.supergraph = supergraph
        self._fetcher = fetcher
        self.limits = limits if limits is not None else Limits()
        self.operations = OperationCache(
            supergraph.api_schema, max_size=operation_cache_size, limits=self.limits
        )
        self.plans = PlanCache(plan_cache_size)
        #: entity fetches to one subgraph that start together share one request (for every
        #: subgraph, or for the named ones)
        self.batch_entities = batch_entities
        self.planner = QueryPlanner(supergraph)
        #: progressive overrides: the labels drawn per request, and a planner per set met
        self.draw_labels = LabelDraw(labels_in(supergraph), draw, frozenset(override_labels))
        self._planners: dict[frozenset[str], QueryPlanner] = {frozenset(): self.planner}
        self.possible_types: dict[str, frozenset[str]] = {
            name: frozenset(t.name for t in supergraph.schema.get_possible_types(named))
            for name, named in supergraph.schema.type_map.items()
            if is_abstract_type(named)
        }
        #: With `dedupe_inbound`, identical queries in flight at once share one execution.
        self.inflight = InflightDeduper() if dedupe_inbound else None
        #: what the supergraph says fields cost, and the list sizes answers had (demand.py)
        self.demand = read_demand(supergraph.schema)
        self.list_sizes = list_sizes if list_sizes is not None else ListSizes()
        self._costs = CostCache()

    @property
    def fetcher(self) -> Fetcher:
        """The fetch pipeline the engine was built with; it is never swapped afterwards."""
        return self._fetcher

    def prepare(self, query: str, operation_name: str | None = None) -> PreparedOperation:
        """Parse, validate and select the operation, once per request (cached per text and
        name). Raises OperationError, whose GraphQLErrors the edge answers with."""
        return self.operations.prepare(query, operation_name)

    async def run(
        self,
        query: str,
        operation_name: str | None = None,
        variables: Mapping[str, Any] | None = None,
        *,
        headers: Mapping[str, str] | None = None,
    ) -> EngineResult:
        """`prepare` then `execute`, for callers without an edge (tests, tools)."""
        try:
            prepared = self.prepare(query, operation_name)
        except OperationError as error:
            note_request(query, operation_name, variables)
            return EngineResult({"errors": error.formatted}, rejected=True)
        return await self.execute(prepared, variables, headers=headers)

    async def execute(
        self,
        prepared: PreparedOperation,
        variables: Mapping[str, Any] | None = None,
        *,
        headers: Mapping[str, str] | None = None,
    ) -> EngineResult:
        """Run one prepared client operation and return its unmasked response: errors are the
        engine's and the subgraphs' own; the edge decides what clients see and the status.

        With inbound dedupe on, a query identical to one in flight (text, operation name,
        variables, forwarded headers) waits for that one's answer instead of running again; the
        shared body is then the same object for every caller, to be treated as read-only.
        """
        key = self._inflight_key(prepared, variables, headers)
        if key is None or self.inflight is None:
            return await self._execute(prepared, variables, headers=headers)
        result, _shared = await self.inflight.run(
            key, lambda: self._execute(prepared, variables, headers=headers)
        )
        return result

    def _inflight_key(
        self,
        prepared: PreparedOperation,
        variables: Mapping[str, Any] | None,
        headers: Mapping[str, str] | None,
    ) -> tuple[Any, ...] | None:
        """The sharing key of a query, or None for what must run on its own (mutations)."""
        if self.inflight is None or prepared.operation_type != "query":
            return None
        try:
            encoded = orjson.dumps(variables, option=orjson.OPT_SORT_KEYS) if variables else b""
        except TypeError:
            return None
        forwarded = tuple(sorted((headers or {}).items()))
        return (*prepared.key, encoded, forwarded)

    async def _execute(
        self,
        prepared: PreparedOperation,
        variables: Mapping[str, Any] | None,
        *,
        headers: Mapping[str, str] | None,
    ) -> EngineResult:
        query, operation_name = prepared.key
        note_request(query, operation_name, variables)
        refused = check_variables(variables, self.limits)
        if refused is not None:
            return EngineResult({"errors": [refused.formatted]}, rejected=True)
        note_operation(prepared.name, prepared.operation_type)
        try:
            coerced = coerce_variables(self.supergraph.api_schema, prepared.operation, variables)
        except OperationError as error:
            return EngineResult({"errors": [e.formatted for e in error.errors]}, rejected=True)
        if prepared.operation_type == "subscription":
            return _request_error("Subscriptions are not supported over this transport")
        if prepared.is_introspection_only:
            body = execute_introspection(self.supergraph.api_schema, prepared, coerced)
            return EngineResult(body)
        refused = self._check_cost(prepared, coerced)
        if refused is not None:  # before any fetch
            return EngineResult({"errors": [refused.formatted]}, rejected=True)
        labels = self.draw_labels()
        note_override_labels(labels)
        key: tuple[Hashable, ...] = (*prepared.key, labels) if labels else prepared.key
        plan = self.plans.get(key)
        note_plan_cache(hit=plan is not None)
        if plan is None:
            try:
                with span(SPAN_PLAN):
                    plan = self._planner(labels).plan(prepared.operation, prepared.fragments)
            except PlanningError as error:
                located = {
                    "message": str(error),
                    "extensions": {"code": "QUERY_PLANNING_FAILED"},
                }
                if error.path:
                    located["path"] = error.path
                return EngineResult({"data": None, "errors": [located]})
            self.plans.put(key, plan)
        data, errors = await execute_plan(
            plan,
            fetcher=self.fetcher,
            variables=coerced,
            possible_types=self.possible_types,
            headers=headers,
            batch_entities=self.batch_entities,
        )
        introspection = _introspection_fields(prepared.operation)
        body = shape_response(
            schema=self.supergraph.api_schema,
            operation=prepared.operation,
            fragments=prepared.fragments,
            variables=coerced,
            data=data,
            errors=errors,
            observe_list=self.list_sizes.observe,
        )
        if introspection and isinstance(body.get("data"), dict):
            # Introspection next to data fields: the gateway answers that part itself.
            answered = self._introspect(prepared.operation, introspection, prepared, coerced)
            body["data"].update(answered)
        return EngineResult(body, plan)

    def _planner(self, labels: frozenset[str]) -> QueryPlanner:
        planner = self._planners.get(labels)
        if planner is None:
            view = with_override_labels(self.supergraph, labels)
            planner = self._planners[labels] = QueryPlanner(view)
        return planner

    def _check_cost(
        self, prepared: PreparedOperation, variables: Mapping[str, Any]
    ) -> GraphQLError | None:
        """The cost refusal for this operation with these variables (cached a little while:
        the list sizes seen move slowly)."""
        if self.limits.max_cost is None:
            return None
        return self._costs.get(
            prepared,
            variables,
            lambda: check_cost(
                prepared.operation,
                prepared.fragments,
                self.supergraph.api_schema,
                self.limits,
                demand=self.demand,
                list_sizes=self.list_sizes,
                variables=variables,
            ),
        )

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


def _request_error(message: str) -> EngineResult:
    error = GraphQLError(message, extensions={"code": "BAD_REQUEST"})
    return EngineResult({"errors": [error.formatted]}, rejected=True)
