"""What the four demo backends share: request parsing and validation, JSON responses, stats,
added latency, cursors, app assembly and the command line."""

from __future__ import annotations

import argparse
import asyncio
import base64
import binascii
import contextlib
import re
import sqlite3
import weakref
from collections import deque
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol, TypeAlias, TypeVar

import orjson
import uvicorn
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from backends.data import generate

__all__ = [
    "JSON",
    "AppFactory",
    "Backend",
    "BadRequest",
    "BatchResolver",
    "Handler",
    "JSONObject",
    "JSONResponse",
    "Page",
    "Stats",
    "chunks",
    "decode_cursor",
    "describe",
    "encode_cursor",
    "int_param",
    "known_ids",
    "optional_str_param",
    "page",
    "parse_ids",
    "placeholders",
    "query_int",
    "read_object",
    "serve",
    "validate_id",
    "validate_slug",
]

JSON: TypeAlias = Any
JSONObject: TypeAlias = dict[str, Any]
#: Resolves a validated batch: ids plus the whole body (for extra params) to one answer per id.
BatchResolver: TypeAlias = Callable[[list[str], JSONObject], list[JSON]]
#: Handles a non-batch data request and returns the JSON body.
Handler: TypeAlias = Callable[[Request], Awaitable[JSON]]

T = TypeVar("T")

_ID = re.compile(r"[a-z][0-9]+")
_SLUG = re.compile(r"[a-z0-9-]+")
_CURSOR_PREFIX = "offset:"
# SQLite's default limit on bound parameters is 999 on older builds; stay under it.
SQL_CHUNK = 500


class BadRequest(Exception):
    """A client error, answered as `{"error": message}` with `status_code`."""

    def __init__(self, message: str, status_code: int = 400) -> None:
        super().__init__(message)
        self.message = message
        self.status_code = status_code


class JSONResponse(Response):
    """A JSON response rendered with orjson."""

    media_type = "application/json"

    def render(self, content: Any) -> bytes:
        return orjson.dumps(content)


def error_response(message: str, status_code: int) -> JSONResponse:
    return JSONResponse({"error": message}, status_code=status_code)


def validate_id(value: object) -> str:
    """Return `value` if it is a well-formed id, else raise `BadRequest` naming it."""
    if not isinstance(value, str) or _ID.fullmatch(value) is None:
        expected = "a lowercase letter then digits, like 't42'"
        raise BadRequest(f"invalid id {describe(value)}: expected {expected}")
    return value


def validate_slug(value: object) -> str:
    """Return `value` if it is a non-empty string of `[a-z0-9-]`, else raise `BadRequest`."""
    if not isinstance(value, str) or _SLUG.fullmatch(value) is None:
        expected = "lowercase letters, digits and '-'"
        raise BadRequest(f"invalid slug {describe(value)}: expected {expected}")
    return value


def describe(value: object) -> str:
    """`value` as short JSON text for an error message."""
    try:
        text = orjson.dumps(value).decode()
    except TypeError:
        text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


async def read_object(request: Request) -> JSONObject:
    """The request body as a JSON object, or `BadRequest`."""
    raw = await request.body()
    try:
        body = orjson.loads(raw)
    except orjson.JSONDecodeError:
        raise BadRequest("request body is not valid JSON") from None
    if not isinstance(body, dict):
        raise BadRequest("request body must be a JSON object")
    return body


def parse_ids(
    body: JSONObject, *, batch_limit: int, validate: Callable[[object], str]
) -> list[str]:
    """Validate `body["ids"]`: a list of at most `batch_limit` well-formed keys."""
    ids = body.get("ids")
    if not isinstance(ids, list):
        raise BadRequest("'ids' is required and must be a list")
    if len(ids) > batch_limit:
        raise BadRequest(f"too many ids: {len(ids)} > batch limit {batch_limit}", 413)
    return [validate(value) for value in ids]


def int_param(body: JSONObject, name: str, *, default: int | None, low: int, high: int) -> int:
    """An integer parameter in `[low, high]`; absent or null gives `default` (None: required)."""
    value = body.get(name)
    if value is None:
        if default is None:
            raise BadRequest(f"'{name}' is required")
        return default
    # bool is an int subclass in Python but not a number in JSON.
    if not isinstance(value, int) or isinstance(value, bool) or not low <= value <= high:
        raise BadRequest(f"'{name}' must be an integer from {low} to {high}, got {describe(value)}")
    return value


def optional_str_param(body: JSONObject, name: str) -> str | None:
    """A string-or-null parameter."""
    value = body.get(name)
    if value is not None and not isinstance(value, str):
        raise BadRequest(f"'{name}' must be a string or null, got {describe(value)}")
    return value


def query_int(request: Request, name: str, *, default: int, low: int, high: int) -> int:
    """An integer query-string parameter in `[low, high]`."""
    raw = request.query_params.get(name)
    if raw is None:
        return default
    if not re.fullmatch(r"[0-9]{1,6}", raw) or not low <= int(raw) <= high:
        raise BadRequest(f"'{name}' must be an integer from {low} to {high}, got {raw!r}")
    return int(raw)


def encode_cursor(offset: int) -> str:
    """An opaque cursor meaning "continue at `offset`"."""
    return base64.urlsafe_b64encode(f"{_CURSOR_PREFIX}{offset}".encode()).decode()


def decode_cursor(cursor: str | None) -> int:
    """The offset a cursor from `encode_cursor` stands for (0 for None), or `BadRequest`."""
    if cursor is None:
        return 0
    try:
        text = base64.urlsafe_b64decode(cursor.encode("ascii")).decode("ascii")
    except (binascii.Error, UnicodeError, ValueError):
        text = ""
    digits = text.removeprefix(_CURSOR_PREFIX)
    # Only the exact text encode_cursor produced is valid: no lenient padding or junk.
    if not re.fullmatch(r"[0-9]{1,9}", digits) or encode_cursor(int(digits)) != cursor:
        raise BadRequest(f"invalid cursor {describe(cursor)}")
    return int(digits)


@dataclass(frozen=True, slots=True)
class Page:
    """One page of a list: the offset to read from and how many items."""

    offset: int
    first: int

    def info(self, returned: int, total: int) -> JSONObject:
        """`endCursor` and `hasNextPage` after returning `returned` of `total` items."""
        end = self.offset + returned
        return {
            "endCursor": encode_cursor(end) if returned else None,
            "hasNextPage": end < total,
        }


def page(body: JSONObject, *, default_first: int, max_first: int) -> Page:
    """Read the `first` and `after` parameters of a paginated request."""
    first = int_param(body, "first", default=default_first, low=1, high=max_first)
    return Page(offset=decode_cursor(optional_str_param(body, "after")), first=first)


def chunks(items: Sequence[T], size: int = SQL_CHUNK) -> list[Sequence[T]]:
    """Split `items` so each SQL `IN (...)` stays under the parameter limit."""
    return [items[i : i + size] for i in range(0, len(items), size)]


def placeholders(count: int) -> str:
    """`?, ?, ?` for `count` bound parameters."""
    return ", ".join("?" * count)


def known_ids(conn: sqlite3.Connection, table: str, ids: Sequence[str]) -> dict[str, int]:
    """Map each id in `ids` that exists in `table` (titles, members, ...) to its row number."""
    found: dict[str, int] = {}
    for chunk in chunks(sorted(set(ids))):
        found.update(
            conn.execute(
                f"SELECT id, num FROM {table} WHERE id IN ({placeholders(len(chunk))})", chunk
            ).fetchall()
        )
    return found


@dataclass(slots=True)
class Stats:
    """Data requests served and ids they carried (health and stats calls do not count)."""

    requests: int = 0
    ids: int = 0

    def as_json(self) -> JSONObject:
        return {"requests": self.requests, "ids": self.ids}


class Backend:
    """Builds one demo service: wraps data endpoints with stats, latency and error handling."""

    def __init__(
        self, *, seed: int, titles: int, members: int, latency_ms: float, batch_limit: int
    ) -> None:
        if latency_ms < 0:
            raise ValueError(f"latency_ms must be >= 0, got {latency_ms}")
        if batch_limit < 1:
            raise ValueError(f"batch_limit must be >= 1, got {batch_limit}")
        self.latency_ms = latency_ms
        self.batch_limit = batch_limit
        self.stats = Stats()
        self.conn = generate(seed, titles, members)
        #: the W3C traceparents of the latest data requests: a real backend would continue the
        #: trace; the demo keeps them so the trace's arrival can be checked
        self.traceparents: deque[str] = deque(maxlen=200)

    def batch(
        self, path: str, resolve: BatchResolver, *, validate: Callable[[object], str] = validate_id
    ) -> Route:
        """A `POST path` batch endpoint: `{"ids": [...]}` in, `{"results": [...]}` out."""

        async def handle(request: Request) -> JSON:
            body = await read_object(request)
            ids = parse_ids(body, batch_limit=self.batch_limit, validate=validate)
            self.stats.ids += len(ids)
            return {"results": resolve(ids, body)}

        return self.route(path, handle, methods=["POST"])

    def route(self, path: str, handler: Handler, *, methods: list[str]) -> Route:
        """A data endpoint: counted, delayed by `latency_ms`, `BadRequest` answered as JSON."""

        async def endpoint(request: Request) -> Response:
            self.stats.requests += 1
            traceparent = request.headers.get("traceparent")
            if traceparent:
                self.traceparents.append(traceparent)
            if self.latency_ms > 0:
                await asyncio.sleep(self.latency_ms / 1000)
            try:
                return JSONResponse(await handler(request))
            except BadRequest as error:
                return error_response(error.message, error.status_code)

        return Route(path, endpoint, methods=methods)

    def app(self, routes: list[Route]) -> Starlette:
        """The Starlette app: `routes` plus /health, /stats and /stats/reset."""

        async def health(request: Request) -> Response:
            return JSONResponse({"ok": True})

        async def stats(request: Request) -> Response:
            return JSONResponse(self.stats.as_json())

        async def reset(request: Request) -> Response:
            self.stats.requests = self.stats.ids = 0
            return JSONResponse(self.stats.as_json())

        async def http_error(request: Request, exc: Exception) -> Response:
            # Unknown paths and wrong methods: keep every 4xx a JSON `error`, like the endpoints.
            if not isinstance(exc, HTTPException):
                raise exc
            message = f"{exc.detail}: {request.method} {request.url.path}"
            return JSONResponse({"error": message}, exc.status_code, headers=exc.headers)

        @contextlib.asynccontextmanager
        async def lifespan(app: Starlette) -> AsyncIterator[None]:
            yield
            self.conn.close()

        app = Starlette(
            routes=[
                *routes,
                Route("/health", health, methods=["GET"]),
                Route("/stats", stats, methods=["GET"]),
                Route("/stats/reset", reset, methods=["POST"]),
            ],
            exception_handlers={HTTPException: http_error},
            lifespan=lifespan,
        )
        app.state.traceparents = self.traceparents
        # Tests drive apps without a lifespan; close the database when the app is collected.
        weakref.finalize(app, self.conn.close)
        return app


class AppFactory(Protocol):
    """The `create_app` signature every backend module exposes."""

    def __call__(
        self, *, seed: int = ..., latency_ms: float = ..., batch_limit: int = ...,
        titles: int = ..., members: int = ...,
    ) -> Starlette: ...  # fmt: skip


def serve(create_app: AppFactory, *, name: str, port: int, argv: list[str] | None = None) -> None:
    """Parse the command line and run the service with uvicorn."""
    parser = argparse.ArgumentParser(
        prog=f"python -m backends.{name}", description=f"The {name} demo backend service."
    )
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=port)
    parser.add_argument("--latency-ms", type=float, default=0.0, help="delay per data request")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--batch-limit", type=int, default=500)
    parser.add_argument("--titles", type=int, default=5000)
    parser.add_argument("--members", type=int, default=500)
    args = parser.parse_args(argv)
    try:
        app = create_app(
            seed=args.seed, latency_ms=args.latency_ms, batch_limit=args.batch_limit,
            titles=args.titles, members=args.members,
        )  # fmt: skip
    except ValueError as error:
        parser.error(str(error))
    uvicorn.run(app, host=args.host, port=args.port, log_level="info")
