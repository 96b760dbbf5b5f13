"""Observing subgraph fetches: traced fetches with W3C propagation, and health probes.

`ObservedFetcher` heads the engine's fetch pipeline (observe → propagate headers → resilience
→ HTTP), which the app assembles once when it builds the engine, so every fetch gets a client
span, a `traceparent` for the subgraph, metrics, a traffic-window entry and a timing for the
plan-on-request extension, whatever the stages below are. `HealthProbe` asks the stages below
it directly, as no client fetch.
"""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import dataclass
from typing import Any, Literal

from opentelemetry.trace import SpanKind, Status, StatusCode
from opentelemetry.util.types import AttributeValue

from federation.planning.plan import ConditionNode, FetchNode, FlattenNode, PlanNode
from federation.subgraphs.fetcher import Fetcher, SubgraphFetchError, SubgraphRequest
from federation.telemetry.tracing import (
    ATTR_CLIENT_NAME,
    ATTR_CLIENT_VERSION,
    ATTR_ERROR_COUNT,
    ATTR_OPERATION_NAME,
    ATTR_OPERATION_TYPE,
    ATTR_PLAN_FETCHES,
    ATTR_SUBGRAPH,
    SPAN_FETCH,
    FetchTiming,
    Telemetry,
    current_observation,
    note_error,
)

__all__ = [
    "HEALTH_QUERY",
    "Health",
    "HealthProbe",
    "ObservedFetcher",
    "query_plan_timings",
]

#: What a health probe asks: the cheapest query every GraphQL server answers.
HEALTH_QUERY = "query __EdgegraphHealthCheck { __typename }"


class ObservedFetcher:
    """A `Fetcher` that traces, meters and times every fetch of the fetcher it wraps."""

    def __init__(self, inner: Fetcher, telemetry: Telemetry) -> None:
        self.inner = inner
        self.telemetry = telemetry

    async def fetch(self, request: SubgraphRequest) -> dict[str, Any]:
        """Fetch through the wrapped fetcher inside a `subgraph.fetch` client span (when spans
        are recorded: see `Telemetry.records_spans`)."""
        service_name = request.service_name
        observation = current_observation()
        nodes = request.plan_nodes
        attributes: dict[str, AttributeValue] = {ATTR_SUBGRAPH: service_name}
        if observation is not None:
            observation.subgraphs.add(service_name)
        if observation is not None and self.telemetry.records_spans:
            for name, value in (
                (ATTR_OPERATION_NAME, observation.operation_name),
                (ATTR_OPERATION_TYPE, observation.operation_type),
                (ATTR_CLIENT_NAME, observation.client_name),
                (ATTR_CLIENT_VERSION, observation.client_version),
            ):
                if value:
                    attributes[name] = value
            attributes[ATTR_PLAN_FETCHES] = len(nodes)
        clock = self.telemetry.clock
        started = clock()
        outcome: str = "ok"
        codes: tuple[str, ...] = ()
        with (
            self.telemetry.tracer.start_as_current_span(
                SPAN_FETCH, kind=SpanKind.CLIENT, attributes=attributes
            )
            if self.telemetry.records_spans
            else contextlib.nullcontext()
        ) as fetch_span:
            try:
                # The transport (HttpFetcher) puts this span in the request's traceparent.
                response = await self.inner.fetch(request)
            except SubgraphFetchError as error:
                outcome, codes = "failed", (error.code,)
                note_error(error.code, error.message, service=service_name)
                if fetch_span is not None:
                    fetch_span.set_attribute("error.type", error.code)
                    fetch_span.set_status(Status(StatusCode.ERROR, error.message))
                raise
            else:
                errors = response.get("errors")
                count = len(errors) if isinstance(errors, list) else 0
                if fetch_span is not None:
                    fetch_span.set_attribute(ATTR_ERROR_COUNT, count)
                if count:
                    outcome, codes = "graphql_error", _codes(errors or [])
                    for raw, code in zip(errors or [], codes, strict=True):
                        detail = raw if isinstance(raw, dict) else {}
                        note_error(
                            code, detail.get("message"), detail.get("path"), service=service_name
                        )
                return response
            finally:
                duration = clock() - started
                self.telemetry.record_fetch(service_name, duration, outcome=outcome, codes=codes)
                # One timing per plan node served: a batched request times each of its fetches.
                for node in nodes:
                    if observation is None:
                        break
                    observation.fetches.append(
                        FetchTiming(
                            node=node.node if isinstance(node, FlattenNode) else node,
                            path=node.path if isinstance(node, FlattenNode) else None,
                            service=service_name,
                            start=started - observation.started,
                            duration=duration,
                            outcome=outcome,
                            codes=codes,
                        )
                    )


def _codes(errors: list[Any]) -> tuple[str, ...]:
    codes = []
    for error in errors:
        extensions = error.get("extensions") if isinstance(error, dict) else None
        code = extensions.get("code") if isinstance(extensions, dict) else None
        codes.append(code if isinstance(code, str) else "SUBGRAPH_GRAPHQL_ERROR")
    return tuple(codes)


@dataclass(frozen=True, slots=True)
class Health:
    """The outcome of one health probe of a subgraph."""

    status: Literal["up", "down"]
    detail: str
    checked_at: float
    latency_ms: float


class HealthProbe:
    """Asks each subgraph `{ __typename }` through the fetch pipeline below its observing head
    (untraced, unmetered), at most once per `ttl` seconds per subgraph, so a status page left
    open cannot load the subgraphs."""

    def __init__(
        self, fetcher: Fetcher, telemetry: Telemetry, *, timeout: float = 2.0, ttl: float = 5.0
    ) -> None:
        self.fetcher = fetcher
        self.telemetry = telemetry
        self.timeout = timeout
        self.ttl = ttl
        self._last: dict[str, Health] = {}

    async def check(self, subgraphs: list[str]) -> dict[str, Health]:
        """The health of each subgraph, probing those not checked within `ttl`, concurrently."""
        now = self.telemetry.clock()
        stale = [
            name
            for name in subgraphs
            if name not in self._last or now - self._last[name].checked_at > self.ttl
        ]
        results = await asyncio.gather(*(self._probe(s) for s in stale))
        self._last.update(zip(stale, results, strict=True))
        return {s: self._last[s] for s in subgraphs}

    async def _probe(self, subgraph: str) -> Health:
        clock = self.telemetry.clock
        started = clock()
        try:
            async with asyncio.timeout(self.timeout):
                probe = SubgraphRequest(subgraph, {"query": HEALTH_QUERY}, idempotent=True)
                response = await self.fetcher.fetch(probe)
        except SubgraphFetchError as error:
            return Health("down", error.code, clock(), (clock() - started) * 1000)
        except TimeoutError:
            return Health("down", "SUBGRAPH_TIMEOUT", clock(), (clock() - started) * 1000)
        data = response.get("data")
        if isinstance(data, dict) and data.get("__typename"):
            return Health("up", "ok", clock(), (clock() - started) * 1000)
        return Health("down", "SUBGRAPH_BAD_RESPONSE", clock(), (clock() - started) * 1000)


def query_plan_timings(root: PlanNode | None, fetches: list[FetchTiming]) -> list[dict[str, Any]]:
    """The request's fetches for the response's `extensions`, in start order. `fetch` numbers
    the plan's fetches (under `root`) in the order the plan text prints them, from 0."""
    numbers = {id(node): number for number, node in enumerate(_fetch_nodes(root))}
    timings = []
    for timing in sorted(fetches, key=lambda t: t.start):
        entry: dict[str, Any] = {
            "fetch": numbers.get(id(timing.node)),
            "service": timing.service,
            "startMs": round(timing.start * 1000, 3),
            "durationMs": round(timing.duration * 1000, 3),
            "outcome": timing.outcome,
        }
        if timing.path is not None:
            entry["path"] = ".".join(timing.path)
        if timing.codes:
            entry["codes"] = sorted(set(timing.codes))
        timings.append(entry)
    return timings


def _fetch_nodes(node: PlanNode | None) -> list[FetchNode]:
    if node is None:
        return []
    if isinstance(node, FetchNode):
        return [node]
    if isinstance(node, FlattenNode):
        return [node.node]
    if isinstance(node, ConditionNode):
        return _fetch_nodes(node.if_clause) + _fetch_nodes(node.else_clause)
    return [fetch for child in node.nodes for fetch in _fetch_nodes(child)]
