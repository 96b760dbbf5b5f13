"""Traces, metrics and the per-request record shared by the gateway and the demo subgraphs.

This module holds the span and attribute names, `Telemetry` (tracer, meters, traffic windows),
the current request's `RequestObservation` with the `span()` and `note_*()` hooks, and trace
context propagation. The configuration and the tracer provider it builds live in
`federation.telemetry.config`, whose names are re-exported here.

One `Telemetry` per process part (the gateway, each subgraph) owns a tracer and a meter built
from explicit providers, never the OpenTelemetry globals, so tests can run many apps side by
side. The request being served travels in a context variable, like the OpenTelemetry context
itself: the engine's stages call `span()` and `note_*()` without new parameters, and those are
no-ops when nothing observes the request (the engine used directly, in tests or tools).
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any, Protocol

from opentelemetry import trace
from opentelemetry.metrics import CallbackOptions, Observation
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader, MetricsData
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.trace import Span, Tracer
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator
from opentelemetry.util.types import AttributeValue

from federation.planning.plan import ConditionNode, FetchNode, FlattenNode, ParallelNode, PlanNode
from federation.telemetry.config import (
    TelemetryConfig,
    TelemetryConfigError,
    TraceExport,
    build_tracer_provider,
)
from federation.telemetry.traffic import Traffic

__all__ = [
    "ATTR_BACKEND",
    "ATTR_BATCH_SIZE",
    "ATTR_CLIENT_NAME",
    "ATTR_CLIENT_VERSION",
    "ATTR_ERROR_COUNT",
    "ATTR_HTTP_STATUS",
    "ATTR_LOADER",
    "ATTR_OPERATION_NAME",
    "ATTR_OPERATION_TYPE",
    "ATTR_PLAN_CACHE_HIT",
    "ATTR_PLAN_FETCHES",
    "ATTR_PLAN_PATH",
    "ATTR_SUBGRAPH",
    "CLIENT_NAME_HEADER",
    "CLIENT_VERSION_HEADER",
    "GATEWAY",
    "SPAN_BACKEND",
    "SPAN_DATALOADER_BATCH",
    "SPAN_FETCH",
    "SPAN_PARSE",
    "SPAN_PLAN",
    "SPAN_VALIDATE",
    "FetchTiming",
    "LabelLimiter",
    "RequestObservation",
    "Telemetry",
    "TelemetryConfig",
    "TelemetryConfigError",
    "TraceExport",
    "build_tracer_provider",
    "current_observation",
    "inject_trace_context",
    "note_error",
    "note_operation",
    "note_override_labels",
    "note_plan_cache",
    "note_request",
    "note_result",
    "note_subgraph_status",
    "observing",
    "plan_node_span",
    "span",
]

# -- names ----------------------------------------------------------------------------------------

SPAN_PARSE = "graphql.parse"
SPAN_VALIDATE = "graphql.validate"
SPAN_PLAN = "graphql.plan"
#: Plan node spans are `plan.<kind>`: plan.sequence, plan.parallel, plan.fetch, ...
SPAN_PLAN_NODE = "plan.{kind}"
SPAN_FETCH = "subgraph.fetch"
SPAN_DATALOADER_BATCH = "dataloader.batch"
SPAN_BACKEND = "backend.call"

ATTR_OPERATION_NAME = "graphql.operation.name"
ATTR_OPERATION_TYPE = "graphql.operation.type"
ATTR_SUBGRAPH = "graphql.subgraph.name"
ATTR_CLIENT_NAME = "graphql.client.name"
ATTR_CLIENT_VERSION = "graphql.client.version"
ATTR_HTTP_STATUS = "http.response.status_code"
ATTR_ERROR_COUNT = "graphql.error.count"
ATTR_PLAN_CACHE_HIT = "graphql.plan.cache_hit"
ATTR_OVERRIDE_LABELS = "edgegraph.override_labels"
ATTR_PLAN_PATH = "graphql.plan.path"
#: On a subgraph fetch span: how many plan fetches the one request carries (entity batching).
ATTR_PLAN_FETCHES = "graphql.plan.fetches"
ATTR_BACKEND = "backend.name"
ATTR_LOADER = "dataloader.name"
ATTR_BATCH_SIZE = "dataloader.batch_size"

#: The headers Apollo clients send to name themselves.
CLIENT_NAME_HEADER = "apollographql-client-name"
CLIENT_VERSION_HEADER = "apollographql-client-version"

#: The traffic window of the gateway as a whole, next to one per subgraph.
GATEWAY = "(gateway)"

#: Seconds, Prometheus style: 1 ms up to 10 s.
DURATION_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
BATCH_SIZE_BUCKETS = (1, 2, 5, 10, 20, 50, 100, 200, 500)

_TRACE_HEADERS = frozenset({"traceparent", "tracestate"})
_MAX_ERROR_DETAILS = 10
_PROPAGATOR = TraceContextTextMapPropagator()


# -- metrics --------------------------------------------------------------------------------------


class LabelLimiter:
    """Caps the distinct values of a client-controlled label (operation or client names), so a
    client inventing names cannot grow the metrics without bound."""

    def __init__(self, max_values: int) -> None:
        self.max_values = max_values
        self._seen: set[str] = set()

    def __call__(self, value: str | None, *, missing: str = "unknown") -> str:
        if not value:
            return missing
        if value in self._seen:
            return value
        if len(self._seen) >= self.max_values:
            return "other"
        self._seen.add(value)
        return value


class PlanCacheStats(Protocol):
    """What the metrics read from a plan cache."""

    hits: int
    misses: int


class Telemetry:
    """The tracer, the meters and the traffic windows of one gateway or subgraph.

    Pass `tracer_provider` to share one (tests pass one with an in-memory exporter); otherwise
    one is built from `config` and `shutdown()` closes it. Metrics always go to an in-memory
    reader, which `/metrics` renders as Prometheus text on each scrape.
    """

    def __init__(
        self,
        *,
        config: TelemetryConfig | None = None,
        tracer_provider: TracerProvider | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.config = config or TelemetryConfig()
        self._owns_tracer_provider = tracer_provider is None
        #: Whether spans below the request's own are worth making: they go somewhere (an
        #: exporter, or a provider passed in). Otherwise only the request span is made, for
        #: the ids in logs and `traceparent`, and plan nodes and fetches cost no span.
        self.records_spans = tracer_provider is not None or bool(self.config.trace_exports)
        self.tracer_provider = tracer_provider or build_tracer_provider(self.config)
        self.tracer: Tracer = self.tracer_provider.get_tracer("edgegraph")
        self.clock = clock
        self.metric_reader = InMemoryMetricReader()
        self.meter_provider = MeterProvider(
            metric_readers=[self.metric_reader],
            resource=Resource.create({"service.name": self.config.service_name}),
            shutdown_on_exit=False,
        )
        self.operation_label = LabelLimiter(self.config.max_label_values)
        self.client_label = LabelLimiter(self.config.max_label_values)
        #: per-name windows for the status page: GATEWAY and each subgraph
        self.traffic: dict[str, Traffic] = {}
        #: set by the resilience layer: subgraph name -> "closed" | "open" | "half_open"
        self.breaker_states: Callable[[], Mapping[str, str]] | None = None
        self._plan_caches: list[PlanCacheStats] = []
        self._build_instruments()

    def _build_instruments(self) -> None:
        meter = self.meter_provider.get_meter("edgegraph")
        self.request_duration = meter.create_histogram(
            "edgegraph.request.duration", unit="s",
            description="GraphQL requests served, by operation, client and outcome.",
            explicit_bucket_boundaries_advisory=DURATION_BUCKETS,
        )  # fmt: skip
        self.requests = meter.create_counter(
            "edgegraph.requests", description="GraphQL requests, by operation, client and outcome."
        )
        self.graphql_errors = meter.create_counter(
            "edgegraph.graphql.errors", description="GraphQL errors in responses, by code."
        )
        self.fetch_duration = meter.create_histogram(
            "edgegraph.subgraph.fetch.duration", unit="s",
            description="Subgraph fetches, by subgraph and outcome.",
            explicit_bucket_boundaries_advisory=DURATION_BUCKETS,
        )  # fmt: skip
        self.fetches = meter.create_counter(
            "edgegraph.subgraph.fetches", description="Subgraph fetches, by subgraph and outcome."
        )
        self.fetch_errors = meter.create_counter(
            "edgegraph.subgraph.fetch.errors",
            description="Failed subgraph fetches and subgraph GraphQL errors, by code.",
        )
        self.backend_duration = meter.create_histogram(
            "edgegraph.backend.call.duration", unit="s",
            description="Backend calls from a subgraph, by backend and outcome.",
            explicit_bucket_boundaries_advisory=DURATION_BUCKETS,
        )  # fmt: skip
        self.backend_errors = meter.create_counter(
            "edgegraph.backend.call.errors",
            description="Failed backend calls, by backend and code.",
        )
        self.batch_size = meter.create_histogram(
            "edgegraph.dataloader.batch.size", unit="{key}",
            description="Keys per dataloader batch, by loader.",
            explicit_bucket_boundaries_advisory=BATCH_SIZE_BUCKETS,
        )  # fmt: skip
        meter.create_observable_counter(
            "edgegraph.plan_cache.hits", [self._plan_cache_hits],
            description="Query plans served from the plan cache.",
        )  # fmt: skip
        meter.create_observable_counter(
            "edgegraph.plan_cache.misses", [self._plan_cache_misses],
            description="Query plans computed because the cache did not have them.",
        )  # fmt: skip
        meter.create_observable_gauge(
            "edgegraph.subgraph.breaker.state", [self._breaker_observations],
            description="1 for each subgraph's current circuit-breaker state, 0 for the others.",
        )  # fmt: skip

    # -- observation sources --------------------------------------------------------------------

    def watch_plan_cache(self, cache: PlanCacheStats) -> None:
        """Report `cache.hits` and `cache.misses` as counters."""
        self._plan_caches.append(cache)

    def _plan_cache_hits(self, _options: CallbackOptions) -> list[Observation]:
        return [Observation(sum(cache.hits for cache in self._plan_caches))]

    def _plan_cache_misses(self, _options: CallbackOptions) -> list[Observation]:
        return [Observation(sum(cache.misses for cache in self._plan_caches))]

    def _breaker_observations(self, _options: CallbackOptions) -> list[Observation]:
        observations = []
        for subgraph, state in sorted(self.breaker_states_now().items()):
            for candidate in ("closed", "open", "half_open"):
                attributes = {"subgraph": subgraph, "state": candidate}
                observations.append(Observation(int(state == candidate), attributes))
        return observations

    def breaker_states_now(self) -> Mapping[str, str]:
        """Each subgraph's breaker state, or nothing without a resilience layer."""
        return self.breaker_states() if self.breaker_states is not None else {}

    # -- recording ------------------------------------------------------------------------------

    def traffic_of(self, name: str) -> Traffic:
        """The status-page window of `name` (GATEWAY or a subgraph), created on first use."""
        window = self.traffic.get(name)
        if window is None:
            window = self.traffic[name] = Traffic(clock=self.clock)
        return window

    def record_request(self, observation: RequestObservation, duration: float) -> None:
        """Count one served request in the metrics and the gateway's traffic window."""
        labels = {
            "operation": self.operation_label(observation.operation_name, missing="anonymous"),
            "client": self.client_label(observation.client_name),
            "outcome": observation.outcome,
        }
        self.request_duration.record(duration, labels)
        self.requests.add(1, labels)
        for code in observation.error_codes:
            self.graphql_errors.add(1, {"operation": labels["operation"], "code": code})
        self.traffic_of(GATEWAY).record(duration, error=observation.outcome != "ok")

    def record_fetch(
        self, subgraph: str, duration: float, *, outcome: str, codes: Sequence[str] = ()
    ) -> None:
        """Count one subgraph fetch; `codes` are its failure or GraphQL error codes."""
        labels = {"subgraph": subgraph, "outcome": outcome}
        self.fetch_duration.record(duration, labels)
        self.fetches.add(1, labels)
        for code in codes:
            self.fetch_errors.add(1, {"subgraph": subgraph, "code": code})
        self.traffic_of(subgraph).record(duration, error=outcome != "ok")

    def record_backend_call(self, backend: str, duration: float, *, code: str | None) -> None:
        """Count one backend call from a subgraph; `code` is its failure code, if it failed."""
        outcome = "ok" if code is None else "failed"
        self.backend_duration.record(duration, {"backend": backend, "outcome": outcome})
        if code is not None:
            self.backend_errors.add(1, {"backend": backend, "code": code})

    def record_batch(self, loader: str, size: int) -> None:
        """Count one dataloader batch of `size` keys."""
        self.batch_size.record(size, {"loader": loader})

    def collect(self) -> MetricsData | None:
        """The current value of every metric (cumulative since start)."""
        return self.metric_reader.get_metrics_data()

    def shutdown(self) -> None:
        """Flush and close what this object built (not a tracer provider passed in)."""
        if self._owns_tracer_provider:
            self.tracer_provider.shutdown()
        self.meter_provider.shutdown()


# -- the request being served ---------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class FetchTiming:
    """One subgraph fetch of a request, for the plan-with-timings extension."""

    node: FetchNode | None
    path: tuple[str, ...] | None
    service: str
    start: float
    duration: float
    outcome: str
    codes: tuple[str, ...] = ()


@dataclass(slots=True)
class RequestObservation:
    """What is known about one request while it is served; the access log line and the
    request metrics are made from it at the end."""

    telemetry: Telemetry
    span: Span
    started: float
    client_name: str | None = None
    client_version: str | None = None
    operation_name: str | None = None
    operation_type: str | None = None
    query: str | None = None
    variables: Mapping[str, Any] | None = None
    plan_cache_hit: bool | None = None
    #: the progressive-override labels on for this request (drawn or configured)
    override_labels: tuple[str, ...] = ()
    has_data: bool = False
    error_count: int = 0
    error_codes: list[str] = field(default_factory=list)
    errors: list[dict[str, Any]] = field(default_factory=list)
    subgraphs: set[str] = field(default_factory=set)
    fetches: list[FetchTiming] = field(default_factory=list)
    #: the root node of the executed plan (the first plan node run), to number its fetches
    plan_root: PlanNode | None = None
    result_noted: bool = False
    status: int = 0

    @property
    def outcome(self) -> str:
        """ok, partial (data and errors), error (errors, no data) or rejected (HTTP 4xx/5xx
        before any GraphQL result)."""
        if self.status >= 500:
            return "failed"
        if self.error_count == 0 and self.status < 400:
            return "ok"
        if self.has_data:
            return "partial"
        return "error" if self.error_count else "rejected"


_current: ContextVar[RequestObservation | None] = ContextVar("edgegraph_request", default=None)


@contextlib.contextmanager
def observing(observation: RequestObservation) -> Iterator[RequestObservation]:
    """Make `observation` the current request's for the duration of the block."""
    token = _current.set(observation)
    try:
        yield observation
    finally:
        _current.reset(token)


def current_observation() -> RequestObservation | None:
    """The observed request this code runs for, if any."""
    return _current.get()


@contextlib.contextmanager
def span(name: str, attributes: Mapping[str, AttributeValue] | None = None) -> Iterator[None]:
    """A child span of the current one, when the request is observed; else nothing."""
    observation = _current.get()
    if observation is None or not observation.telemetry.records_spans:
        yield
        return
    with observation.telemetry.tracer.start_as_current_span(name, attributes=attributes):
        yield


@contextlib.contextmanager
def plan_node_span(node: PlanNode) -> Iterator[None]:
    """The span of one plan node (fetches carry their plan nodes in their requests)."""
    observation = _current.get()
    if observation is not None and observation.plan_root is None:
        observation.plan_root = node
    if observation is None or not observation.telemetry.records_spans:
        yield
        return
    kind = type(node).__name__.removesuffix("Node").lower()
    attributes: dict[str, AttributeValue] = {}
    if isinstance(node, FetchNode):
        attributes[ATTR_SUBGRAPH] = node.service_name
    elif isinstance(node, FlattenNode):
        attributes[ATTR_SUBGRAPH] = node.node.service_name
        attributes[ATTR_PLAN_PATH] = ".".join(node.path)
    elif isinstance(node, ConditionNode):
        attributes["graphql.plan.condition"] = node.condition
    elif isinstance(node, ParallelNode):
        attributes["graphql.plan.branches"] = len(node.nodes)
    with observation.telemetry.tracer.start_as_current_span(
        SPAN_PLAN_NODE.format(kind=kind), attributes=attributes
    ):
        yield


def note_request(
    query: str, operation_name: str | None, variables: Mapping[str, Any] | None
) -> None:
    """Remember the request's text and variables (logged only when configured)."""
    observation = _current.get()
    if observation is not None:
        observation.query = query
        observation.variables = variables
        observation.operation_name = operation_name


def note_operation(name: str | None, operation_type: str) -> None:
    """The operation chosen to run: named on the request span and in the metrics."""
    observation = _current.get()
    if observation is None:
        return
    observation.operation_name = name
    observation.operation_type = operation_type
    if name:
        observation.span.set_attribute(ATTR_OPERATION_NAME, name)
    observation.span.set_attribute(ATTR_OPERATION_TYPE, operation_type)


def note_override_labels(labels: frozenset[str]) -> None:
    """The progressive-override labels this request was planned with, when any: which side
    of a migration served it."""
    observation = _current.get()
    if observation is not None and labels:
        observation.override_labels = tuple(sorted(labels))
        observation.span.set_attribute(ATTR_OVERRIDE_LABELS, list(observation.override_labels))


def note_plan_cache(*, hit: bool) -> None:
    """Whether the plan came from the cache."""
    observation = _current.get()
    if observation is not None:
        observation.plan_cache_hit = hit
        observation.span.set_attribute(ATTR_PLAN_CACHE_HIT, hit)


def note_result(body: Mapping[str, Any]) -> None:
    """The response body: how many errors, their codes, and whether it has data.

    Errors a subgraph caused were already described, unmasked, by the fetch that got them;
    the gateway's own errors (validation, planning, ...) are described here.
    """
    observation = _current.get()
    if observation is None or observation.result_noted:
        return  # the first note sees the body before masking; later ones see the same errors
    observation.result_noted = True
    errors = body.get("errors")
    observation.has_data = body.get("data") is not None
    for error in errors if isinstance(errors, list) else ():
        if not isinstance(error, dict):
            continue
        extensions = error.get("extensions")
        extensions = extensions if isinstance(extensions, dict) else {}
        code = str(extensions.get("code") or "INTERNAL_SERVER_ERROR")
        observation.error_count += 1
        if code not in observation.error_codes:
            observation.error_codes.append(code)
        if "serviceName" not in extensions:
            note_error(code, error.get("message"), error.get("path"))


def note_error(code: str, message: Any, path: Any = None, *, service: str | None = None) -> None:
    """Describe one error in the request's log line (the first few; the count says the rest)."""
    observation = _current.get()
    if observation is None or len(observation.errors) >= _MAX_ERROR_DETAILS:
        return
    detail: dict[str, Any] = {"code": code}
    if service is not None:
        detail["service"] = service
    if isinstance(path, list):
        detail["path"] = path
    if isinstance(message, str):
        detail["message"] = message
    observation.errors.append(detail)


def inject_trace_context(headers: dict[str, str]) -> None:
    """Make `headers` carry the current span as W3C `traceparent` (and `tracestate`).

    A client's own trace headers are replaced, so the next hop's parent is our span, not the
    client's; with no current span they are left alone and the next hop joins the client's trace.
    """
    if not trace.get_current_span().get_span_context().is_valid:
        return
    for name in [n for n in headers if n.lower() in _TRACE_HEADERS]:
        del headers[name]
    _PROPAGATOR.inject(headers)


def note_subgraph_status(status: int) -> None:
    """The HTTP status a subgraph answered with, on the current (fetch) span."""
    current = trace.get_current_span()
    if current.is_recording():
        current.set_attribute(ATTR_HTTP_STATUS, status)
