"""Demo subgraphs: a backend outage is one access-log line per request, not a traceback per
field; a bug keeps its traceback, a few at a time."""

from __future__ import annotations

import logging

import pytest
from graphql import GraphQLError
from starlette.responses import JSONResponse

from schema.errorlog import EXECUTION_LOGGER, FieldErrorFilter
from tests.schema.harness import backend_app, misbehave_on, serve_subgraph
from tests.schema.test_faults import fault_app


async def test_errorlog_backend_outage_logs_no_traceback_per_field(
    caplog: pytest.LogCaptureFixture,
) -> None:
    path = "/ratings/batch"
    broken = fault_app(path, JSONResponse({"error": "down"}, status_code=503))
    representations = [{"__typename": "Title", "id": f"t{i}"} for i in range(1, 41)]
    caplog.set_level(logging.INFO)
    async with serve_subgraph(
        "ratings", backend=misbehave_on(path, backend_app("ratings"), broken)
    ) as ratings:
        body = await ratings.entities(representations, "... on Title { averageRating }")
    assert len(body["errors"]) == 40
    assert not [r for r in caplog.records if r.name == EXECUTION_LOGGER]


def test_errorlog_unexpected_errors_keep_a_few_tracebacks() -> None:
    now = [0.0]
    kept = FieldErrorFilter(burst=2, window=10, clock=lambda: now[0])

    def record(error: GraphQLError) -> logging.LogRecord:
        return logging.LogRecord(EXECUTION_LOGGER, logging.ERROR, __file__, 1, error, (), None)

    bug = GraphQLError("KeyError: 'x'", original_error=KeyError("x"))
    coded = GraphQLError("backend down", extensions={"code": "BACKEND_UNAVAILABLE"})
    assert not kept.filter(record(coded))
    assert [kept.filter(record(bug)) for _ in range(5)] == [True, True, False, False, False]
    now[0] = 10
    later = record(bug)
    assert kept.filter(later)
    assert "(3 similar errors not logged)" in later.getMessage()
