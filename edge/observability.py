"""The Starlette side of observability: request spans continued from W3C `traceparent`, one
JSON access-log line per request, and `GET /metrics` in the Prometheus text format.

The same middleware serves the gateway and the demo subgraphs; only the gateway's engine adds
operation names, plan-cache hits and the subgraphs a request reached.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Collection
from datetime import UTC, datetime
from typing import Any, TextIO

import orjson
from opentelemetry.context import Context
from opentelemetry.trace import SpanKind, Status, StatusCode
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator
from opentelemetry.util.types import AttributeValue
from starlette.datastructures import Headers
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from edge.logs import truncated
from edge.prometheus import CONTENT_TYPE, render_prometheus
from federation.telemetry.instrument import query_plan_timings
from federation.telemetry.tracing import (
    ATTR_CLIENT_NAME,
    ATTR_CLIENT_VERSION,
    ATTR_ERROR_COUNT,
    ATTR_HTTP_STATUS,
    ATTR_SUBGRAPH,
    CLIENT_NAME_HEADER,
    CLIENT_VERSION_HEADER,
    RequestObservation,
    Telemetry,
    current_observation,
    observing,
)

__all__ = [
    "ACCESS_LOG",
    "ObservabilityMiddleware",
    "access_record",
    "bounded_line",
    "configure_access_log",
    "metrics_route",
    "query_plan_timings_extension",
]

#: One JSON line per request. Configure with `configure_access_log` (the CLIs do).
ACCESS_LOG = logging.getLogger("edgegraph.access")

_PROPAGATOR = TraceContextTextMapPropagator()
#: Error codes whose messages quote the client's document or variable values.
_QUOTES_QUERY = frozenset({"GRAPHQL_PARSE_FAILED", "GRAPHQL_VALIDATION_FAILED"})
_QUOTES_VARIABLES = frozenset({"BAD_USER_INPUT"})
_MAX_QUERY_CHARS = 10_000
#: the longest access-log line, and the longest operation name and error message in it
MAX_LINE_CHARS = 16_384
_MAX_NAME_CHARS = 200
_MAX_MESSAGE_CHARS = 1_000


def configure_access_log(stream: TextIO | None = None) -> None:
    """Write access-log lines, bare, to `stream` (stdout by default)."""
    handler = logging.StreamHandler(stream or sys.stdout)
    handler.setFormatter(logging.Formatter("%(message)s"))
    ACCESS_LOG.handlers[:] = [handler]
    ACCESS_LOG.setLevel(logging.INFO)
    ACCESS_LOG.propagate = False


class ObservabilityMiddleware:
    """Serves each request of `paths` inside a server span, then records and logs it.

    The span's parent comes only from the request's `traceparent`, never from whatever context
    happens to be current: an in-process caller's span must not leak into this request's trace.
    """

    def __init__(
        self,
        app: ASGIApp,
        *,
        telemetry: Telemetry,
        paths: Collection[str] = ("/graphql",),
        subgraph: str | None = None,
    ) -> None:
        self.app = app
        self.telemetry = telemetry
        self.paths = frozenset(paths)
        self.subgraph = subgraph

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] not in self.paths:
            await self.app(scope, receive, send)
            return
        headers = Headers(scope=scope)
        parent = _PROPAGATOR.extract(headers, context=Context())
        method, path = scope["method"], scope["path"]
        attributes: dict[str, AttributeValue] = {"http.request.method": method, "url.path": path}
        client_name = headers.get(CLIENT_NAME_HEADER) or None
        client_version = headers.get(CLIENT_VERSION_HEADER) or None
        if client_name:
            attributes[ATTR_CLIENT_NAME] = client_name
        if client_version:
            attributes[ATTR_CLIENT_VERSION] = client_version
        if self.subgraph:
            attributes[ATTR_SUBGRAPH] = self.subgraph
        telemetry = self.telemetry
        started = telemetry.clock()
        with telemetry.tracer.start_as_current_span(
            f"{method} {path}", context=parent, kind=SpanKind.SERVER, attributes=attributes
        ) as root:
            observation = RequestObservation(
                telemetry=telemetry,
                span=root,
                started=started,
                client_name=client_name,
                client_version=client_version,
            )

            async def send_observed(message: Message) -> None:
                if message["type"] == "http.response.start":
                    observation.status = int(message["status"])
                await send(message)

            with observing(observation):
                try:
                    await self.app(scope, receive, send_observed)
                except Exception:
                    observation.status = 500
                    raise
                finally:
                    self._finish(observation, method, path)

    def _finish(self, observation: RequestObservation, method: str, path: str) -> None:
        duration = self.telemetry.clock() - observation.started
        root = observation.span
        root.set_attribute(ATTR_HTTP_STATUS, observation.status)
        root.set_attribute(ATTR_ERROR_COUNT, observation.error_count)
        root.set_attribute("graphql.outcome", observation.outcome)
        if observation.status >= 500:
            root.set_status(Status(StatusCode.ERROR, f"HTTP {observation.status}"))
        self.telemetry.record_request(observation, duration)
        if ACCESS_LOG.isEnabledFor(logging.INFO):
            record = access_record(observation, duration, method=method, path=path)
            ACCESS_LOG.info(bounded_line(record))


def access_record(
    observation: RequestObservation, duration: float, *, method: str, path: str
) -> dict[str, Any]:
    """The access-log line of one request; query text and variables only when configured."""
    config = observation.telemetry.config
    context = observation.span.get_span_context()
    record: dict[str, Any] = {
        "ts": datetime.now(UTC).isoformat(timespec="milliseconds"),
        "service": config.service_name,
        "trace_id": f"{context.trace_id:032x}",
        "span_id": f"{context.span_id:016x}",
        "method": method,
        "path": path,
        "status": observation.status,
        "operation": observation.operation_name,
        "operation_type": observation.operation_type,
        "client": observation.client_name,
        "client_version": observation.client_version,
        "duration_ms": round(duration * 1000, 3),
        "outcome": observation.outcome,
        "plan_cache_hit": observation.plan_cache_hit,
        "subgraphs": sorted(observation.subgraphs),
        "errors": observation.error_count,
        "error_codes": observation.error_codes,
        "error_details": [_detail(error, config.log_query, config.log_variables)
                          for error in observation.errors],
    }  # fmt: skip
    if observation.override_labels:
        record["override_labels"] = list(observation.override_labels)
    if config.log_query and observation.query is not None:
        record["query"] = observation.query[:_MAX_QUERY_CHARS]
    if config.log_variables and observation.variables is not None:
        record["variables"] = observation.variables
    return record


def bounded_line(record: dict[str, Any]) -> str:
    """The record as one JSON line of at most about MAX_LINE_CHARS: a client chooses its
    operation name, variables and (through subgraphs) error messages, and one megabyte-long
    line stalls a log pipeline. Long values are cut with a marker saying how much."""
    operation = record.get("operation")
    if isinstance(operation, str):
        record["operation"] = truncated(operation, _MAX_NAME_CHARS)
    for detail in record.get("error_details", ()):
        message = detail.get("message")
        if isinstance(message, str):
            detail["message"] = truncated(message, _MAX_MESSAGE_CHARS)
    line = orjson.dumps(record, default=str).decode()
    if len(line) <= MAX_LINE_CHARS:
        return line
    # Still too long (logged variables, many long paths): the bulky parts go, marked.
    for key in ("variables", "query", "error_details"):
        if key in record:
            record[key] = truncated(orjson.dumps(record[key], default=str).decode(), 1000)
    record["truncated"] = True
    return orjson.dumps(record, default=str).decode()


def _detail(error: dict[str, Any], log_query: bool, log_variables: bool) -> dict[str, Any]:
    code = error.get("code")
    quotes = (code in _QUOTES_QUERY and not log_query) or (
        code in _QUOTES_VARIABLES and not log_variables
    )
    return {k: v for k, v in error.items() if k != "message"} if quotes else error


def query_plan_timings_extension() -> dict[str, Any]:
    """`{"queryPlanTimings": [...]}`: each fetch of the current request with its start (from
    the request's start) and duration in ms, its outcome, its subgraph and flatten path; or
    nothing when the request is not observed."""
    observation = current_observation()
    if observation is None:
        return {}
    total = observation.telemetry.clock() - observation.started
    return {
        "queryPlanTimings": {
            "elapsedMs": round(total * 1000, 3),
            "fetches": query_plan_timings(observation.plan_root, observation.fetches),
        }
    }


def metrics_route(telemetry: Telemetry, path: str = "/metrics") -> Route:
    """`GET /metrics`: every metric of `telemetry` as Prometheus text."""

    async def metrics(_request: Request) -> Response:
        return Response(render_prometheus(telemetry.collect()), media_type=CONTENT_TYPE)

    return Route(path, metrics, methods=["GET"])
