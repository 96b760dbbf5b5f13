"""Where traces go: OTLP when configured, the console in dev mode, nowhere by default."""

from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler, HTTPServer

import pytest

from federation.telemetry.tracing import (
    TelemetryConfig,
    TelemetryConfigError,
    build_tracer_provider,
)
from federation.telemetry.traffic import Traffic


def test_telemetry_config_is_off_by_default_and_console_in_dev() -> None:
    assert TelemetryConfig.from_env(service_name="gw", environ={}).trace_exports == ()
    dev = TelemetryConfig.from_env(service_name="gw", dev=True, environ={})
    assert dev.trace_exports == ("console",) and dev.service_name == "gw"


def test_telemetry_config_reads_the_standard_otel_variables() -> None:
    env = {"OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:4318", "OTEL_SERVICE_NAME": "edge-1"}
    config = TelemetryConfig.from_env(service_name="gw", environ=env)
    assert config.trace_exports == ("otlp",) and config.service_name == "edge-1"
    named = TelemetryConfig.from_env(
        service_name="gw", environ={"OTEL_TRACES_EXPORTER": "otlp,console"}
    )
    assert named.trace_exports == ("otlp", "console")
    off = {"OTEL_TRACES_EXPORTER": "none", "OTEL_EXPORTER_OTLP_ENDPOINT": "http://x"}
    assert TelemetryConfig.from_env(service_name="gw", dev=True, environ=off).trace_exports == ()
    disabled = {"OTEL_SDK_DISABLED": "true"}
    assert (
        TelemetryConfig.from_env(service_name="gw", dev=True, environ=disabled).trace_exports == ()
    )
    logging = {"EDGEGRAPH_LOG_QUERY": "1"}
    assert TelemetryConfig.from_env(service_name="gw", environ=logging).log_query


def test_telemetry_config_rejects_unknown_exporters() -> None:
    with pytest.raises(TelemetryConfigError, match="zipkin"):
        TelemetryConfig.from_env(service_name="gw", environ={"OTEL_TRACES_EXPORTER": "zipkin"})


def test_build_tracer_provider_exports_over_otlp_to_a_collector() -> None:
    received: list[tuple[str, str, bytes]] = []

    class Collector(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers["content-length"]))
            received.append((self.path, self.headers["content-type"], body))
            self.send_response(200)
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    server = HTTPServer(("127.0.0.1", 0), Collector)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        endpoint = f"http://127.0.0.1:{server.server_port}/v1/traces"
        config = TelemetryConfig(service_name="gw", trace_exports=("otlp",), otlp_endpoint=endpoint)
        provider = build_tracer_provider(config)
        with provider.get_tracer("test").start_as_current_span("edgegraph.request"):
            pass
        assert provider.force_flush(10_000)
        provider.shutdown()
    finally:
        server.shutdown()
        server.server_close()
    [(path, content_type, body)] = received
    assert path == "/v1/traces"
    assert content_type == "application/x-protobuf"
    assert b"edgegraph.request" in body and b"gw" in body


def test_traffic_rates_error_rates_and_p95_over_the_window() -> None:
    now = [1000.0]
    traffic = Traffic(clock=lambda: now[0], bucket_seconds=10, buckets=6)
    for index in range(100):
        traffic.record(0.004 if index < 90 else 0.4, error=index % 10 == 0)
    now[0] = 1005.0
    point = traffic.summary(10)
    assert point.requests == 100 and point.errors == 10 and point.error_rate == 0.1
    assert point.p95_ms is not None and 250 <= point.p95_ms <= 500
    series = traffic.series()
    assert len(series) == 6 and series[-1].requests == 100
    now[0] = 1100.0  # past the window: the old bucket no longer counts
    assert traffic.summary(60).requests == 0
    assert all(p.requests == 0 for p in traffic.series())
