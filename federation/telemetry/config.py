"""Telemetry configuration: `TelemetryConfig`, read from the `OTEL_*` variables, and the
tracer provider and span exporters (OTLP, console) it asks for.
"""

from __future__ import annotations

import importlib
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Literal, cast

from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import (
    BatchSpanProcessor,
    ConsoleSpanExporter,
    SimpleSpanProcessor,
    SpanExporter,
)

__all__ = ["TelemetryConfig", "TelemetryConfigError", "TraceExport", "build_tracer_provider"]

TraceExport = Literal["console", "otlp"]
_EXPORTS: Mapping[str, TraceExport] = {"console": "console", "otlp": "otlp"}
_TRUE = frozenset({"1", "true", "yes", "on"})


class TelemetryConfigError(ValueError):
    """The telemetry configuration cannot be honoured (unknown exporter, missing package)."""


@dataclass(frozen=True, slots=True)
class TelemetryConfig:
    """Where traces go and what request logs may contain.

    `trace_exports` empty means tracing is off (spans still get ids, for the logs, but go
    nowhere). `otlp_endpoint` None lets the OTLP exporter read the `OTEL_EXPORTER_OTLP_*`
    variables itself.
    """

    service_name: str = "edgegraph"
    trace_exports: tuple[TraceExport, ...] = ()
    otlp_endpoint: str | None = None
    log_query: bool = False
    log_variables: bool = False
    #: distinct operation or client names kept as metric labels; later ones count as "other"
    max_label_values: int = 200

    @classmethod
    def from_env(
        cls,
        *,
        service_name: str,
        dev: bool = False,
        environ: Mapping[str, str] | None = None,
    ) -> TelemetryConfig:
        """Read the standard `OTEL_*` variables: OTLP when an endpoint or exporter says so,
        the console in dev mode, off otherwise. `EDGEGRAPH_LOG_QUERY` and
        `EDGEGRAPH_LOG_VARIABLES` let request logs carry the query text and variables."""
        env = os.environ if environ is None else environ
        exports: tuple[TraceExport, ...] = ()
        named = env.get("OTEL_TRACES_EXPORTER", "").strip().lower()
        if env.get("OTEL_SDK_DISABLED", "").strip().lower() in _TRUE or named == "none":
            exports = ()
        elif named:
            unknown = [n.strip() for n in named.split(",") if n.strip() not in _EXPORTS]
            if unknown:
                raise TelemetryConfigError(
                    f"OTEL_TRACES_EXPORTER: unsupported exporter(s) {', '.join(unknown)}; "
                    "use otlp, console or none"
                )
            exports = tuple(dict.fromkeys(_EXPORTS[n.strip()] for n in named.split(",")))
        elif env.get("OTEL_EXPORTER_OTLP_ENDPOINT") or env.get(
            "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"
        ):
            exports = ("otlp",)
        elif dev:
            exports = ("console",)
        return cls(
            service_name=env.get("OTEL_SERVICE_NAME") or service_name,
            trace_exports=exports,
            log_query=env.get("EDGEGRAPH_LOG_QUERY", "").lower() in _TRUE,
            log_variables=env.get("EDGEGRAPH_LOG_VARIABLES", "").lower() in _TRUE,
        )


def build_tracer_provider(config: TelemetryConfig) -> TracerProvider:
    """A tracer provider exporting as `config` says. The caller shuts it down."""
    provider = TracerProvider(
        resource=Resource.create({"service.name": config.service_name}), shutdown_on_exit=False
    )
    for export in config.trace_exports:
        if export == "otlp":
            # Batched: exporting must never sit on the request path.
            provider.add_span_processor(BatchSpanProcessor(_otlp_exporter(config.otlp_endpoint)))
        else:
            provider.add_span_processor(
                SimpleSpanProcessor(ConsoleSpanExporter(formatter=_one_line))
            )
    return provider


def _otlp_exporter(endpoint: str | None) -> SpanExporter:
    # An optional dependency: only deployments that export over OTLP install it.
    try:
        module = importlib.import_module("opentelemetry.exporter.otlp.proto.http.trace_exporter")
    except ImportError as error:
        raise TelemetryConfigError(
            "OTLP trace export needs the opentelemetry-exporter-otlp-proto-http package"
        ) from error
    exporter_class = cast("Callable[..., SpanExporter]", module.OTLPSpanExporter)
    return exporter_class(endpoint=endpoint) if endpoint else exporter_class()


def _one_line(span: ReadableSpan) -> str:
    """A dev console line per span: trace, span, parent, duration, name."""
    context = span.get_span_context()
    parent = span.parent.span_id if span.parent else 0
    duration = ((span.end_time or 0) - (span.start_time or 0)) / 1e6
    trace_id = f"{context.trace_id:032x}" if context else "-"
    span_id = f"{context.span_id:016x}" if context else "-"
    return f"trace {trace_id} span {span_id} parent {parent:016x} {duration:8.2f} ms {span.name}\n"
