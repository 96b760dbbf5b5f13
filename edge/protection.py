"""Request protection in front of the GraphQL endpoint, as pure ASGI middleware.

Two things happen before any handler sees a request:

- CSRF prevention. A browser sends a "simple" request cross-site without asking first: a GET,
  or a POST whose content type is text/plain, a form type or absent. Such a request to the
  GraphQL path must carry a header a browser only sends after a CORS preflight (Apollo's
  `x-apollo-operation-name` or `apollo-require-preflight`, or `graphql-preflight`); otherwise
  it is refused with 400 before it can run anything. A GET without an operation (a browser
  opening GraphiQL) runs nothing and passes.
- A body limit, enforced while reading: past `max_body_bytes` the request gets 413 without
  the rest being read. Bodies sent with `Content-Encoding: gzip` or `deflate` are inflated
  here, in bounded steps, so a small compressed bomb is refused at the same limit; the app
  then sees a plain body with the right `content-length`.

- Load shedding. When the gateway is saturated (too many requests in flight, or its event
  loop running late), a new request is refused at once with 503, `Retry-After` and the code
  `OVERLOADED`, before its body is read: a client told to come back costs nothing, where one
  let in would wait behind the others until everyone timed out.

Refusals are GraphQL-shaped JSON: `{"errors": [{"message", "extensions": {"code"}}]}`.
"""

from __future__ import annotations

import asyncio
import math
import time
import zlib
from collections.abc import Callable, Collection, Iterable
from urllib.parse import parse_qsl

import orjson
from starlette.types import ASGIApp, Message, Receive, Scope, Send

__all__ = [
    "CSRF_HEADERS",
    "DEFAULT_MAX_BODY_BYTES",
    "LoadShedder",
    "LoopLag",
    "ProtectionMiddleware",
    "needs_preflight_header",
]

#: 2 MB: far above any real operation and its variables, far below what hurts a worker.
DEFAULT_MAX_BODY_BYTES = 2 * 1024 * 1024
#: Headers whose presence proves the browser ran a CORS preflight (or the caller is no browser).
CSRF_HEADERS = ("x-apollo-operation-name", "apollo-require-preflight", "graphql-preflight")

_SIMPLE_CONTENT_TYPES = frozenset(
    {"text/plain", "application/x-www-form-urlencoded", "multipart/form-data"}
)
_OPERATION_PARAMS = frozenset({"query", "extensions", "documentId"})
_NO_BODY_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
_CHUNK = 64 * 1024


def needs_preflight_header(method: str, content_type: str | None, query_string: bytes) -> bool:
    """Whether a browser could send this request cross-site without a preflight, so that it
    must prove otherwise with a custom header.

    A GET carrying no operation (GraphiQL's page) runs nothing and needs no proof. Any request
    with a content type other than the three simple ones (`application/json`, even on a GET)
    was preflighted by a browser, so it is proof enough.
    """
    if method == "OPTIONS":
        return False
    essence = content_type.split(";", 1)[0].strip().lower() if content_type is not None else ""
    if essence and essence not in _SIMPLE_CONTENT_TYPES:
        return False
    if method in ("GET", "HEAD"):
        names = {name for name, _ in parse_qsl(query_string.decode("latin-1"))}
        return bool(names & _OPERATION_PARAMS)
    return True


class LoopLag:
    """How late the event loop runs: a heartbeat every `interval` seconds notes by how much it
    fired after its time, smoothed so that one slow request is no saturation but a loop that
    stays behind is. Started on first use, in the loop that uses it."""

    def __init__(
        self,
        interval: float = 0.05,
        *,
        smoothing: float = 0.3,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.interval = interval
        self.smoothing = smoothing
        self._clock = clock
        self._expected = 0.0
        self._loop: asyncio.AbstractEventLoop | None = None
        #: seconds late the heartbeat runs, smoothed over the last beats
        self.lag = 0.0

    def __call__(self) -> float:
        """The smoothed lag as of the last heartbeat."""
        loop = asyncio.get_running_loop()
        if self._loop is not loop:
            # First use, or a new loop (the old one's heartbeat died with it).
            self._loop = loop
            self.lag = 0.0
            self._expected = self._clock() + self.interval
            loop.call_later(self.interval, self._beat, loop)
        return self.lag

    def observe(self, late: float) -> float:
        """One heartbeat ran `late` seconds after its time; the new smoothed lag."""
        self.lag += (max(0.0, late) - self.lag) * self.smoothing
        return self.lag

    def _beat(self, loop: asyncio.AbstractEventLoop) -> None:
        if loop is not self._loop:
            return
        now = self._clock()
        self.observe(now - self._expected)
        self._expected = now + self.interval
        loop.call_later(self.interval, self._beat, loop)


class LoadShedder:
    """Whether the gateway may take one more request: fewer than `max_inflight` in flight and
    its event loop less than `max_loop_lag` seconds late (None switches either off)."""

    def __init__(
        self,
        *,
        max_inflight: int | None = 1000,
        max_loop_lag: float | None = 2.0,
        lag: Callable[[], float] | None = None,
    ) -> None:
        self.max_inflight = max_inflight
        self.max_loop_lag = max_loop_lag
        self._lag = lag if lag is not None else LoopLag()
        self.inflight = 0
        #: requests refused so far
        self.shed = 0

    def refusal(self) -> tuple[str, int] | None:
        """None if a new request may start; else why not and the seconds to come back in."""
        if self.max_inflight is not None and self.inflight >= self.max_inflight:
            self.shed += 1
            return f"The gateway has {self.inflight} requests in flight, its limit.", 1
        if self.max_loop_lag is not None:
            lag = self._lag()
            if lag >= self.max_loop_lag:
                self.shed += 1
                return f"The gateway is running {lag:.1f}s behind.", max(1, math.ceil(lag))
        return None


class ProtectionMiddleware:
    """CSRF prevention, a body limit (compressed bodies included) and, with a `shedder`, load
    shedding for the paths given.

    `csrf=False` switches CSRF prevention off (for server-to-server deployments with no browser
    anywhere); `csrf_headers` replaces the accepted proof headers.
    """

    def __init__(
        self,
        app: ASGIApp,
        *,
        max_body_bytes: int = DEFAULT_MAX_BODY_BYTES,
        csrf: bool = True,
        csrf_headers: Iterable[str] = CSRF_HEADERS,
        shedder: LoadShedder | None = None,
        paths: Collection[str] = ("/graphql",),
    ) -> None:
        if max_body_bytes < 1:
            raise ValueError("max_body_bytes must be positive")
        self.app = app
        self.max_body_bytes = max_body_bytes
        self.csrf = csrf
        self.csrf_headers = frozenset(name.lower().encode("latin-1") for name in csrf_headers)
        self.paths = frozenset(paths)
        self.shedder = shedder

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] not in self.paths:
            await self.app(scope, receive, send)
            return
        headers: list[tuple[bytes, bytes]] = list(scope.get("headers", ()))
        found = {name.lower(): value for name, value in headers}
        method = scope["method"]
        content_type = found.get(b"content-type")
        if (
            self.csrf
            and needs_preflight_header(
                method,
                content_type.decode("latin-1") if content_type is not None else None,
                scope.get("query_string", b""),
            )
            and not self.csrf_headers & found.keys()
        ):
            message = (
                "This request could have been sent by a browser on another site without a "
                "CORS preflight. Send a non-simple Content-Type such as application/json, or "
                f"one of the headers {', '.join(sorted(h.decode() for h in self.csrf_headers))}."
            )
            await _refuse(send, 400, message, "CSRF_PREVENTION")
            return
        shedder = self.shedder
        if shedder is None:
            await self._admitted(scope, receive, send, headers, found)
            return
        refusal = shedder.refusal()
        if refusal is not None:
            message, retry_after = refusal
            await _refuse(send, 503, message, "OVERLOADED", retry_after=retry_after)
            return
        shedder.inflight += 1
        try:
            await self._admitted(scope, receive, send, headers, found)
        finally:
            shedder.inflight -= 1

    async def _admitted(
        self,
        scope: Scope,
        receive: Receive,
        send: Send,
        headers: list[tuple[bytes, bytes]],
        found: dict[bytes, bytes],
    ) -> None:
        if scope["method"] in _NO_BODY_METHODS:
            await self.app(scope, receive, send)
            return
        await self._with_bounded_body(scope, receive, send, headers, found)

    async def _with_bounded_body(
        self,
        scope: Scope,
        receive: Receive,
        send: Send,
        headers: list[tuple[bytes, bytes]],
        found: dict[bytes, bytes],
    ) -> None:
        limit = self.max_body_bytes
        encoding = found.get(b"content-encoding", b"identity").decode("latin-1").strip().lower()
        if encoding not in ("identity", "gzip", "x-gzip", "deflate"):
            await _refuse(
                send, 415, f"Unsupported Content-Encoding: {encoding}", "UNSUPPORTED_MEDIA_TYPE"
            )
            return
        declared = found.get(b"content-length", b"")
        if declared.isdigit() and int(declared) > limit:
            await _refuse_too_large(send, limit)
            return
        raw = await _read_bounded(receive, limit)
        if raw is None:
            await _refuse_too_large(send, limit)
            return
        body = raw
        if encoding != "identity":
            try:
                inflated = _inflate(raw, encoding, limit)
            except zlib.error:
                await _refuse(send, 400, f"The body is not valid {encoding} data", "BAD_REQUEST")
                return
            if inflated is None:
                await _refuse_too_large(send, limit)
                return
            body = inflated
        kept = [
            (name, value)
            for name, value in headers
            if name.lower() not in (b"content-encoding", b"content-length")
        ]
        kept.append((b"content-length", str(len(body)).encode("latin-1")))
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()  # after the body: wait for the disconnect

        await self.app({**scope, "headers": kept}, replay, send)


async def _read_bounded(receive: Receive, limit: int) -> bytes | None:
    """The whole body, or None as soon as it passes `limit` (the rest is never read)."""
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            break
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            return None
        chunks.append(chunk)
        if not message.get("more_body", False):
            break
    return b"".join(chunks)


def _inflate(data: bytes, encoding: str, limit: int) -> bytes | None:
    """Decompress in bounded steps; None once the output passes `limit`. Raises zlib.error."""
    if encoding in ("gzip", "x-gzip"):
        wbits = 16 + zlib.MAX_WBITS
    elif data[:1] and (data[0] & 0x0F) == 8 and int.from_bytes(data[:2], "big") % 31 == 0:
        wbits = zlib.MAX_WBITS  # deflate as HTTP means it: zlib-wrapped
    else:
        wbits = -zlib.MAX_WBITS  # the raw deflate some clients send instead
    inflater = zlib.decompressobj(wbits)
    out: list[bytes] = []
    size = 0
    pending = data
    while pending:
        piece = inflater.decompress(pending, _CHUNK)
        size += len(piece)
        if size > limit:
            return None
        out.append(piece)
        pending = inflater.unconsumed_tail
    rest = inflater.flush()
    size += len(rest)
    if size > limit:
        return None
    if not inflater.eof:
        raise zlib.error("truncated compressed body")
    out.append(rest)
    return b"".join(out)


async def _refuse_too_large(send: Send, limit: int) -> None:
    await _refuse(send, 413, f"The request body is larger than {limit} bytes", "PAYLOAD_TOO_LARGE")


async def _refuse(
    send: Send, status: int, message: str, code: str, *, retry_after: int | None = None
) -> None:
    body = orjson.dumps({"errors": [{"message": message, "extensions": {"code": code}}]})
    headers = [
        (b"content-type", b"application/json"),
        (b"content-length", str(len(body)).encode("latin-1")),
    ]
    if retry_after is not None:
        headers.append((b"retry-after", str(retry_after).encode("latin-1")))
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})
