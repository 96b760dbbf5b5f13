"""One connected trace per request, from the client's traceparent down to the backends."""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Sequence

from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.trace import SpanKind

from federation.telemetry.tracing import (
    ATTR_CLIENT_NAME,
    ATTR_CLIENT_VERSION,
    ATTR_ERROR_COUNT,
    ATTR_HTTP_STATUS,
    ATTR_OPERATION_NAME,
    ATTR_OPERATION_TYPE,
    ATTR_PLAN_FETCHES,
    ATTR_SUBGRAPH,
    SPAN_BACKEND,
    SPAN_DATALOADER_BATCH,
    SPAN_FETCH,
    SPAN_PARSE,
    SPAN_PLAN,
    SPAN_VALIDATE,
)
from tests.observability.support import (
    CLIENT_SPAN_ID,
    CLIENT_TRACE_ID,
    TRACEPARENT,
    observed_demo,
)

CLIENT = {"apollographql-client-name": "tv", "apollographql-client-version": "7.1"}


def _hex(value: int, width: int) -> str:
    return format(value, f"0{width}x")


def _by_id(spans: Sequence[ReadableSpan]) -> dict[int, ReadableSpan]:
    return {span.context.span_id: span for span in spans if span.context is not None}


def _plan_fetches(span: ReadableSpan) -> int:
    """How many plan fetches a subgraph fetch span carried (more than one when batched)."""
    value = dict(span.attributes or {})[ATTR_PLAN_FETCHES]
    assert isinstance(value, int)
    return value


def _ancestors(span: ReadableSpan, by_id: dict[int, ReadableSpan]) -> list[str]:
    names = []
    parent = span.parent
    while parent is not None and parent.span_id in by_id:
        span = by_id[parent.span_id]
        names.append(span.name)
        parent = span.parent
    return names


async def test_trace_tv_home_is_one_connected_trace_down_to_the_backends() -> None:
    async with observed_demo() as demo:
        response = await demo.query(headers={"traceparent": TRACEPARENT, **CLIENT})
        assert response.status_code == 200 and "errors" not in response.json()
        spans = demo.spans()
    assert {_hex(s.context.trace_id, 32) for s in spans if s.context} == {CLIENT_TRACE_ID}
    by_id = _by_id(spans)
    orphans = [s for s in spans if s.parent is None or s.parent.span_id not in by_id]
    assert len(orphans) == 1
    root = orphans[0]
    assert root.parent is not None and _hex(root.parent.span_id, 16) == CLIENT_SPAN_ID
    assert root.kind is SpanKind.SERVER and root.name == "POST /graphql"
    attributes = dict(root.attributes or {})
    assert attributes[ATTR_OPERATION_NAME] == "TvHome"
    assert attributes[ATTR_OPERATION_TYPE] == "query"
    assert attributes[ATTR_CLIENT_NAME] == "tv" and attributes[ATTR_CLIENT_VERSION] == "7.1"
    assert attributes[ATTR_HTTP_STATUS] == 200 and attributes[ATTR_ERROR_COUNT] == 0

    names = Counter(span.name for span in spans)
    for stage in (SPAN_PARSE, SPAN_VALIDATE, SPAN_PLAN):
        assert names[stage] == 1, names
    # 10 plan fetches (2 root fetches, 8 flattens); entity batching sends those to one subgraph
    # that start together as one request, whose span says how many plan fetches it carries.
    assert names["plan.fetch"] + names["plan.flatten"] == 10
    assert 6 <= names[SPAN_FETCH] <= 10
    assert names["plan.sequence"] >= 1 and names["plan.parallel"] >= 1
    fetches = [s for s in spans if s.name == SPAN_FETCH]
    assert sum(_plan_fetches(s) for s in fetches) == 10
    assert {dict(s.attributes or {})[ATTR_SUBGRAPH] for s in fetches} == {
        "catalog", "artwork", "ratings", "members",
    }  # fmt: skip
    assert all(dict(s.attributes or {})[ATTR_HTTP_STATUS] == 200 for s in fetches)
    subgraph_servers = [s for s in spans if s.kind is SpanKind.SERVER and s is not root]
    assert len(subgraph_servers) == names[SPAN_FETCH]
    for server in subgraph_servers:
        assert server.parent is not None and server.parent.is_remote
        assert by_id[server.parent.span_id].name == SPAN_FETCH
    assert names[SPAN_DATALOADER_BATCH] >= 4 and names[SPAN_BACKEND] >= 4
    for call in (s for s in spans if s.name == SPAN_BACKEND):
        chain = _ancestors(call, by_id)
        assert chain[0] == SPAN_DATALOADER_BATCH
        assert chain[-1] == "POST /graphql" and SPAN_FETCH in chain
        assert chain.index("POST /graphql") < chain.index(SPAN_FETCH)  # subgraph, then gateway


async def test_trace_reaches_the_backends_in_their_traceparent() -> None:
    async with observed_demo() as demo:
        await demo.query(headers={"traceparent": TRACEPARENT})
        calls = {
            _hex(s.context.span_id, 16)
            for s in demo.spans()
            if s.name == SPAN_BACKEND and s.context
        }
        received = [
            header for app in demo.backend_apps.values() for header in app.state.traceparents
        ]
    assert received and all(header.split("-")[1] == CLIENT_TRACE_ID for header in received)
    assert {header.split("-")[2] for header in received} == calls


async def test_trace_without_traceparent_gives_each_request_its_own_trace() -> None:
    async with observed_demo() as demo:
        await demo.query()
        await demo.query()
        spans = demo.spans()
    traces = Counter(s.context.trace_id for s in spans if s.context)
    assert len(traces) == 2
    by_id = _by_id(spans)
    for trace_id in traces:
        own = [s for s in spans if s.context and s.context.trace_id == trace_id]
        roots = [s for s in own if s.parent is None]
        assert len(roots) == 1 and roots[0].name == "POST /graphql"
        # every parent is in the same trace: nothing from the other request leaked in
        assert all(s.parent is None or by_id[s.parent.span_id] in own for s in own)
        fetches = [s for s in own if s.name == SPAN_FETCH]
        assert sum(_plan_fetches(s) for s in fetches) == 10
    # the second request's plan came from the cache: planned once, parsed once
    assert Counter(s.name for s in spans)[SPAN_PLAN] == 1


async def test_trace_concurrent_requests_do_not_share_spans() -> None:
    parents = [f"00-{index:032x}-{index:016x}-01" for index in (1, 2)]
    async with observed_demo() as demo:
        await asyncio.gather(*(demo.query(headers={"traceparent": tp}) for tp in parents))
        spans = demo.spans()
    per_trace = Counter(s.context.trace_id for s in spans if s.context)
    assert set(per_trace) == {1, 2}
    for trace_id in (1, 2):
        fetches = [
            s
            for s in spans
            if s.name == SPAN_FETCH and s.context and s.context.trace_id == trace_id
        ]
        # each request's requests carry exactly its own ten plan fetches: batching never
        # mixes two client requests
        assert sum(_plan_fetches(s) for s in fetches) == 10


async def test_trace_failed_fetch_marks_the_fetch_span() -> None:
    async with observed_demo(down="ratings") as demo:
        response = await demo.query(headers={"traceparent": TRACEPARENT})
        spans = demo.spans()
    assert response.json()["errors"]
    failed = [
        s for s in spans if s.name == SPAN_FETCH and dict(s.attributes or {}).get("error.type")
    ]
    assert failed and {dict(s.attributes or {})[ATTR_SUBGRAPH] for s in failed} == {"ratings"}
    root = next(
        s
        for s in spans
        if s.parent is not None
        and s.parent.is_remote
        and s.name == "POST /graphql"
        and _hex(s.parent.span_id, 16) == CLIENT_SPAN_ID
    )
    assert dict(root.attributes or {})[ATTR_ERROR_COUNT] != 0
