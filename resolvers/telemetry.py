"""Spans and metrics inside a demo subgraph: one span per dataloader batch and per backend call,
with the trace carried on to the backend in a W3C `traceparent`.

A batch runs in the context of the resolver that first asked for one of its keys (aiodataloader
schedules it from there), so its span is a child of the subgraph's request span, and each
backend call the batch makes is a child of the batch.
"""

from __future__ import annotations

import contextlib
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any, TypeVar

from graphql import GraphQLError
from opentelemetry import trace
from opentelemetry.trace import SpanKind, Status, StatusCode
from opentelemetry.util.types import AttributeValue

from federation.telemetry.tracing import (
    ATTR_BACKEND,
    ATTR_BATCH_SIZE,
    ATTR_HTTP_STATUS,
    ATTR_LOADER,
    SPAN_BACKEND,
    SPAN_DATALOADER_BATCH,
    Telemetry,
    inject_trace_context,
)

__all__ = ["note_backend_status", "traced_backend_call", "traced_batch"]

K = TypeVar("K")
V = TypeVar("V")
T = TypeVar("T")


def traced_batch(
    telemetry: Telemetry,
    loader: str,
    load: Callable[[list[K]], Coroutine[Any, Any, list[V]]],
) -> Callable[[list[K]], Coroutine[Any, Any, list[V]]]:
    """`load` (a loader's batch function) inside a `dataloader.batch` span, batch sizes metered."""

    async def batch(keys: list[K]) -> list[V]:
        telemetry.record_batch(loader, len(keys))
        if not telemetry.records_spans:  # no span goes anywhere: skip making one
            return await load(keys)
        attributes: dict[str, AttributeValue] = {ATTR_LOADER: loader, ATTR_BATCH_SIZE: len(keys)}
        with telemetry.tracer.start_as_current_span(SPAN_DATALOADER_BATCH, attributes=attributes):
            return await load(keys)

    return batch


async def traced_backend_call(
    telemetry: Telemetry,
    backend: str,
    method: str,
    path: str,
    send: Callable[[dict[str, str]], Awaitable[T]],
) -> T:
    """Run `send(headers)` inside a client span; `headers` carry the span as `traceparent`.

    `send` raises `GraphQLError`s with an `extensions.code` (the backend client's errors); the
    code labels the failure in the metrics and on the span.
    """
    started = telemetry.clock()
    code: str | None = None
    attributes = {ATTR_BACKEND: backend, "http.request.method": method, "url.path": path}
    # No span when none would be exported; the request span's `traceparent` still goes on.
    with (
        telemetry.tracer.start_as_current_span(
            SPAN_BACKEND, kind=SpanKind.CLIENT, attributes=attributes
        )
        if telemetry.records_spans
        else contextlib.nullcontext()
    ) as call:
        headers: dict[str, str] = {}
        inject_trace_context(headers)
        try:
            return await send(headers)
        except GraphQLError as error:
            code = _code(error)
            if call is not None:
                call.set_attribute("error.type", code)
                call.set_status(Status(StatusCode.ERROR, error.message))
            raise
        finally:
            telemetry.record_backend_call(backend, telemetry.clock() - started, code=code)


def note_backend_status(status: int) -> None:
    """The backend's HTTP status, on the current backend-call span."""
    current = trace.get_current_span()
    if current.is_recording():
        current.set_attribute(ATTR_HTTP_STATUS, status)


def _code(error: GraphQLError) -> str:
    extensions: dict[str, Any] = dict(error.extensions or {})
    code = extensions.get("code")
    return code if isinstance(code, str) else "BACKEND_ERROR"
