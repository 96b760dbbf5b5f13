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

Refusals are GraphQL-shaped JSON: `{"errors": [{"message", "extensions": {"code"}}]}`.
"""

from __future__ import annotations

import zlib
from collections.abc import Collection, Iterable
from urllib.parse import parse_qsl

import orjson
from starlette.types import ASGIApp, Message, Receive, Scope, Send

__all__ = [
    "CSRF_HEADERS",
    "DEFAULT_MAX_BODY_BYTES",
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


class ProtectionMiddleware:
    """CSRF prevention and a body limit (compressed bodies included) for the paths given.

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
        paths: Collection[str] = ("/graphql",),
    ) -> None:
        if max_body_bytes < 1:
            raise ValueError("max_body_bytes must be positive")
        self.app = app
        self.max_body_bytes = max_body_bytes
        self.csrf = csrf
        self.csrf_headers = frozenset(name.lower().encode("latin-1") for name in csrf_headers)
        self.paths = frozenset(paths)

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
        if method in _NO_BODY_METHODS:
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


async def _refuse(send: Send, status: int, message: str, code: str) -> None:
    body = orjson.dumps({"errors": [{"message": message, "extensions": {"code": code}}]})
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode("latin-1")),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})
