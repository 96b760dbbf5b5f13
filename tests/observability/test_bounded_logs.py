"""Bounded logs: a client cannot make the gateway write a megabyte-long log line."""

from __future__ import annotations

import logging

import orjson
import pytest

from edge.observability import ACCESS_LOG, MAX_LINE_CHARS, bounded_line
from tests.observability.support import observed_demo


async def test_bounded_logs_a_megabyte_operation_name_is_cut_with_a_marker(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO, logger=ACCESS_LOG.name)
    name = "Q" * 1_000_000
    async with observed_demo() as demo:
        await demo.query(operationName=name)
    [line] = [
        r.getMessage()
        for r in caplog.records
        if r.name == ACCESS_LOG.name and '"service":"gateway"' in r.getMessage()
    ]
    assert len(line) <= MAX_LINE_CHARS
    # The name comes back in the error message, which is cut and says by how much.
    (detail,) = orjson.loads(line)["error_details"]
    assert detail["code"] == "OPERATION_RESOLUTION_FAILURE"
    assert detail["message"].startswith("Unknown operation named 'QQQ")
    assert detail["message"].endswith("more characters)")


def test_bounded_logs_bulky_fields_go_and_the_line_stays_json() -> None:
    record = {
        "operation": "Home",
        "variables": {"ids": ["t" * 10] * 100_000},
        "error_details": [{"code": "X", "message": "m" * 50_000}] * 10,
    }
    line = bounded_line(record)
    assert len(line) <= MAX_LINE_CHARS
    parsed = orjson.loads(line)
    assert parsed["truncated"] is True and parsed["operation"] == "Home"
    named = orjson.loads(bounded_line({"operation": "Q" * 1000}))
    assert named["operation"] == "Q" * 200 + "… (800 more characters)"
