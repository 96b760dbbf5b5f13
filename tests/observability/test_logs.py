"""One JSON access-log line per request, without query text or variables unless configured."""

from __future__ import annotations

import logging
from typing import Any

import orjson
import pytest

from edge.observability import ACCESS_LOG
from federation.telemetry.tracing import TelemetryConfig
from tests.observability.support import CLIENT_TRACE_ID, TRACEPARENT, TV_HOME, observed_demo


def _gateway_lines(caplog: pytest.LogCaptureFixture) -> list[dict[str, Any]]:
    records = [orjson.loads(r.getMessage()) for r in caplog.records if r.name == ACCESS_LOG.name]
    return [record for record in records if record["service"] == "gateway"]


async def test_access_log_one_line_per_request(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger=ACCESS_LOG.name)
    async with observed_demo() as demo:
        headers = {"traceparent": TRACEPARENT, "apollographql-client-name": "tv"}
        await demo.query(headers=headers, variables={"rows": 2})
    [line] = _gateway_lines(caplog)
    assert line["trace_id"] == CLIENT_TRACE_ID
    assert line["operation"] == "TvHome" and line["client"] == "tv"
    assert line["status"] == 200 and line["outcome"] == "ok" and line["errors"] == 0
    assert line["subgraphs"] == ["artwork", "catalog", "members", "ratings"]
    assert line["duration_ms"] > 0 and line["plan_cache_hit"] is False
    text = orjson.dumps(line).decode()
    assert "query" not in line and "variables" not in line and "genres" not in text
    # each subgraph logs its side of the same trace
    subgraph_lines = [orjson.loads(r.getMessage()) for r in caplog.records]
    assert {entry["trace_id"] for entry in subgraph_lines} == {CLIENT_TRACE_ID}
    services = [entry["service"] for entry in subgraph_lines]
    assert set(services) >= {"artwork", "catalog", "members", "ratings"}
    # The plan's ten fetches; entity batching (federation/batching.py) merges the ones that
    # start together, so the subgraphs see between six and ten requests.
    assert 6 <= len(subgraph_lines) - 1 <= 10, services


async def test_access_log_names_failed_subgraphs(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger=ACCESS_LOG.name)
    async with observed_demo(down="ratings") as demo:
        await demo.query()
    [line] = _gateway_lines(caplog)
    # Ratings' fields are nullable: the page degrades (partial), it does not fail.
    assert line["outcome"] == "partial" and line["errors"] > 0
    assert "SUBGRAPH_UNAVAILABLE" in line["error_codes"]
    assert {"code": "SUBGRAPH_UNAVAILABLE", "service": "ratings"}.items() <= (
        line["error_details"][0].items()
    )


async def test_access_log_query_and_variables_only_when_configured(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO, logger=ACCESS_LOG.name)
    config = TelemetryConfig(service_name="gateway", log_query=True, log_variables=True)
    async with observed_demo(config=config) as demo:
        await demo.query(variables={"rows": 2})
    [line] = _gateway_lines(caplog)
    assert line["query"] == TV_HOME and line["variables"] == {"rows": 2}


async def test_access_log_hides_messages_that_quote_the_document(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO, logger=ACCESS_LOG.name)
    async with observed_demo() as demo:
        await demo.query("{ secretFieldName }")
    [line] = _gateway_lines(caplog)
    assert line["error_codes"] == ["GRAPHQL_VALIDATION_FAILED"]
    assert "secretFieldName" not in orjson.dumps(line).decode()
