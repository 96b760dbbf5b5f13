"""Metrics move as requests are made, at the gateway's and each subgraph's `/metrics`."""

from __future__ import annotations

import re

import httpx
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader

from edge.prometheus import render_prometheus
from federation.telemetry.tracing import LabelLimiter
from tests.observability.support import observed_demo

TV = {"apollographql-client-name": "tv"}


def _value(text: str, name: str, **labels: str) -> float:
    """The sample `name{labels}` in Prometheus text (labels in any order), 0 when absent."""
    for line in text.splitlines():
        match = re.fullmatch(r"([a-zA-Z_:][\w:]*)(?:\{(.*)\})? (\S+)", line)
        if match is None or match.group(1) != name:
            continue
        found = dict(re.findall(r'(\w+)="((?:[^"\\]|\\.)*)"', match.group(2) or ""))
        if found == labels:
            return float(match.group(3))
    return 0.0


async def _metrics(client: httpx.AsyncClient) -> str:
    response = await client.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain; version=0.0.4")
    return response.text


async def test_metrics_move_as_requests_are_made() -> None:
    async with observed_demo() as demo:
        before = await _metrics(demo.client)
        labels = {"operation": "TvHome", "client": "tv", "outcome": "ok"}
        assert _value(before, "edgegraph_requests_total", **labels) == 0
        await demo.query(headers=TV)
        once = await _metrics(demo.client)
        await demo.query(headers=TV)
        twice = await _metrics(demo.client)
    assert _value(once, "edgegraph_requests_total", **labels) == 1
    assert _value(twice, "edgegraph_requests_total", **labels) == 2
    assert _value(twice, "edgegraph_request_duration_seconds_count", **labels) == 2
    assert _value(twice, "edgegraph_request_duration_seconds_sum", **labels) > 0
    # Three ratings fetches in the plan; those that start together go as one request
    # (federation/batching.py), and the metrics count requests.
    fetched = {"subgraph": "ratings", "outcome": "ok"}
    first = _value(once, "edgegraph_subgraph_fetches_total", **fetched)
    both = _value(twice, "edgegraph_subgraph_fetches_total", **fetched)
    assert 1 <= first <= 3 and 1 <= both - first <= 3
    assert _value(twice, "edgegraph_subgraph_fetch_duration_seconds_count", **fetched) == both
    assert _value(once, "edgegraph_plan_cache_misses_total") == 1
    assert _value(once, "edgegraph_plan_cache_hits_total") == 0
    assert _value(twice, "edgegraph_plan_cache_hits_total") == 1
    assert (
        _value(twice, "edgegraph_subgraph_breaker_state", subgraph="ratings", state="closed") == 1
    )


async def test_metrics_count_subgraph_errors_and_open_breakers() -> None:
    # Ten queries: at least one failed ratings request each, enough to open the breaker
    # (ten failures in its window) even when batching sends one ratings request per query.
    async with observed_demo(down="ratings") as demo:
        for _ in range(10):
            await demo.query(headers=TV)
        text = await _metrics(demo.client)
    failed = {"subgraph": "ratings", "code": "SUBGRAPH_UNAVAILABLE"}
    assert _value(text, "edgegraph_subgraph_fetch_errors_total", **failed) >= 10
    # three catalog fetches per query, two of which start together and may share a request
    catalog = _value(text, "edgegraph_subgraph_fetches_total", subgraph="catalog", outcome="ok")
    assert 20 <= catalog <= 30
    assert _value(text, "edgegraph_subgraph_breaker_state", subgraph="ratings", state="open") == 1
    # Ratings' fields are nullable: each answer is partial, not an error.
    outcomes = {"operation": "TvHome", "client": "tv"}
    assert _value(text, "edgegraph_requests_total", **outcomes, outcome="partial") == 10
    codes = {"operation": "TvHome", "code": "SUBGRAPH_UNAVAILABLE"}
    assert _value(text, "edgegraph_graphql_errors_total", **codes) > 0


async def test_metrics_each_subgraph_serves_its_own() -> None:
    async with observed_demo() as demo:
        await demo.query(headers=TV)
        texts = {name: await _metrics(client) for name, client in demo.subgraph_clients.items()}
    for name, text in texts.items():
        assert _value(text, "edgegraph_requests_total", operation="anonymous", client="tv",
                      outcome="ok") >= 1, name  # fmt: skip
        assert "edgegraph_backend_call_duration_seconds_count" in text, name
        assert "edgegraph_dataloader_batch_size_count" in text, name
    assert _value(texts["catalog"], "edgegraph_backend_call_duration_seconds_count",
                  backend="catalog", outcome="ok") >= 1  # fmt: skip


def test_render_prometheus_counters_gauges_histograms_and_escaping() -> None:
    reader = InMemoryMetricReader()
    provider = MeterProvider(metric_readers=[reader], shutdown_on_exit=False)
    meter = provider.get_meter("test")
    meter.create_counter("jobs.done").add(2, {"queue": 'a"b\\c\nd'})
    meter.create_up_down_counter("jobs.queued").add(-1)
    meter.create_histogram(
        "job.duration", unit="s", explicit_bucket_boundaries_advisory=[0.1, 1.0]
    ).record(0.5)
    text = render_prometheus(reader.get_metrics_data())
    provider.shutdown()
    assert "# TYPE jobs_done_total counter" in text
    assert 'jobs_done_total{queue="a\\"b\\\\c\\nd"} 2' in text
    assert "# TYPE jobs_queued gauge" in text and "jobs_queued -1" in text
    assert "# TYPE job_duration_seconds histogram" in text
    assert 'job_duration_seconds_bucket{le="0.1"} 0' in text
    assert 'job_duration_seconds_bucket{le="1.0"} 1' in text
    assert 'job_duration_seconds_bucket{le="+Inf"} 1' in text
    assert "job_duration_seconds_count 1" in text and "job_duration_seconds_sum 0.5" in text


def test_label_limiter_caps_client_controlled_values() -> None:
    limit = LabelLimiter(2)
    assert [limit(name) for name in ("a", "b", "c", "a", None)] == [
        "a", "b", "other", "a", "unknown",
    ]  # fmt: skip
