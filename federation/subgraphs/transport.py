"""A lean keep-alive HTTP/1.1 transport for httpx: `PoolTransport`.

httpcore's pool scans every pooled connection on each request (asking each whether it expired
or became readable); with a few dozen keep-alive connections that bookkeeping cost more CPU than
the gateway's own work. This transport keeps, per origin, a stack of idle connections and a
count of open ones, so taking and returning a connection is O(1). Each connection is an
`asyncio.Protocol` whose responses `httptools` parses in C (see `federation.subgraphs.http1`).

It speaks plain HTTP/1.1 over TCP (and TLS), one request at a time per connection, no proxies.
A connection the server closed while idle is noticed by the event loop (`connection_lost`) and
never handed out; if a reused connection still dies before the first byte of its answer, the
request is sent once more on another connection, as browsers do.

This module holds the transport, its per-origin pools and the streamed response body;
`federation.subgraphs.http1` holds the connection itself and the request heads.
"""

from __future__ import annotations

import asyncio
import ssl
import time
import zlib
from collections import deque
from collections.abc import AsyncIterator, Callable, Iterable, Mapping
from typing import Any, TypeAlias

import httpx

from federation.subgraphs.http1 import (
    Connection,
    Headers,
    MaybeRequest,
    StaleConnection,
    post_head,
    request_head,
)

__all__ = ["PoolTransport", "ResponseTooLarge"]

#: (scheme, host, port)
_Origin: TypeAlias = tuple[bytes, bytes, int]

#: Fresh attempts after a reused connection dies before answering.
_STALE_RETRIES = 2


class PoolTransport(httpx.AsyncBaseTransport):
    """Keep-alive connection pools, one per origin, for an `httpx.AsyncClient`.

    `max_connections` bounds the open connections per origin (requests beyond it wait for one,
    up to the pool timeout); `keepalive_expiry` closes connections idle for longer. Timeouts
    come from httpx's per-request `timeout` extension (connect, read, write, pool).
    """

    def __init__(
        self,
        *,
        max_connections: int = 100,
        keepalive_expiry: float = 30.0,
        ssl_context: ssl.SSLContext | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if max_connections < 1:
            raise ValueError("max_connections must be at least 1")
        self.max_connections = max_connections
        self.keepalive_expiry = keepalive_expiry
        self._ssl_context = ssl_context
        self._clock = clock
        self._pools: dict[_Origin, _Pool] = {}
        self._targets: dict[str, tuple[_Origin, bytes, bytes]] = {}
        self._closed = False

    def pool_sizes(self) -> dict[str, tuple[int, int]]:
        """Per origin (`scheme://host:port`): open connections and idle ones among them."""
        return {
            f"{scheme.decode()}://{host.decode()}:{port}": (pool.open, pool.idle_count())
            for (scheme, host, port), pool in self._pools.items()
        }

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        url = request.url
        scheme = url.raw_scheme
        if scheme not in (b"http", b"https"):
            raise httpx.UnsupportedProtocol(f"Unsupported URL scheme {scheme!r}", request=request)
        port = url.port or (443 if scheme == b"https" else 80)
        pool = self._pool((scheme, url.raw_host, port))
        timeouts: dict[str, float | None] = request.extensions.get("timeout", {})
        head = request_head(request)
        chunked = request.headers.get("transfer-encoding", "").lower() == "chunked"
        body: bytes | Any = request.stream
        if not chunked:
            body = b"".join([part async for part in request.stream])  # type: ignore[union-attr]
        conn, status, headers = await self._exchange(pool, head, body, timeouts, request)
        stream = _ResponseStream(conn, pool, timeouts.get("read"), request)
        return httpx.Response(
            status,
            headers=headers,
            stream=stream,
            extensions={"http_version": b"HTTP/1.1", "reason_phrase": b""},
        )

    async def post(
        self,
        url: str,
        headers: Iterable[tuple[str, str]],
        body: bytes,
        *,
        timeout: float | None,
        max_bytes: int,
    ) -> tuple[int, bytes]:
        """POST `body` to `url` and read the whole answer: its status and (decompressed) body.

        The lean path for a caller that needs neither streaming nor httpx's request and
        response objects (no cookies, no redirects, no auth): the same pools and connections as
        requests through the client. `timeout` bounds each step (connect, write, each read);
        an answer larger than `max_bytes` raises `ResponseTooLarge`. Failures raise the httpx
        exceptions the client would.
        """
        target = self._targets.get(url)
        if target is None:
            target = self._target(url)
        origin, path, host = target
        head = post_head(path, host, headers, len(body))
        timeouts = {"connect": timeout, "read": timeout, "write": timeout, "pool": timeout}
        pool = self._pool(origin)
        conn, status, response_headers = await self._exchange(pool, head, body, timeouts, None)
        declared = -1
        encoding = b""
        for name, value in response_headers:
            lowered = name.lower()
            if lowered == b"content-length" and value.isdigit():
                declared = int(value)
            elif lowered == b"content-encoding":
                encoding = value.strip().lower()
        try:
            if declared > max_bytes:  # compressed bodies only grow: refuse before reading
                raise ResponseTooLarge(max_bytes)
            parts: list[bytes] = []
            size = 0
            while (part := await conn.receive_body(timeout, None)) is not None:
                size += len(part)
                if size > max_bytes:
                    raise ResponseTooLarge(max_bytes)
                parts.append(part)
        except BaseException:
            conn.close()
            raise
        if conn.finish():
            pool.release(conn)
        else:
            conn.close()
        content = parts[0] if len(parts) == 1 else b"".join(parts)
        if encoding and encoding != b"identity":
            content = _decompressed(content, encoding, max_bytes)
        return status, content

    def _target(self, url: str) -> tuple[_Origin, bytes, bytes]:
        parsed = httpx.URL(url)
        scheme = parsed.raw_scheme
        if scheme not in (b"http", b"https"):
            raise httpx.UnsupportedProtocol(f"Unsupported URL scheme {scheme!r}")
        default = 443 if scheme == b"https" else 80
        port = parsed.port or default
        host = parsed.raw_host if port == default else b"%b:%d" % (parsed.raw_host, port)
        if len(self._targets) >= 1024:
            self._targets.clear()
        target = self._targets[url] = ((scheme, parsed.raw_host, port), parsed.raw_path, host)
        return target

    def _pool(self, origin: _Origin) -> _Pool:
        if self._closed:
            raise RuntimeError("PoolTransport is closed")
        pool = self._pools.get(origin)
        if pool is None:
            pool = self._pools[origin] = _Pool(self, origin)
        return pool

    async def _exchange(
        self,
        pool: _Pool,
        head: bytes,
        body: bytes | Any,
        timeouts: Mapping[str, float | None],
        request: MaybeRequest,
    ) -> tuple[Connection, int, Headers]:
        """Send one request and wait for its status and headers; the body follows on the
        connection returned. A streamed `body` (not bytes) goes out chunked."""
        attempts = 0
        while True:
            conn = await pool.acquire(timeouts.get("pool"), timeouts.get("connect"), request)
            try:
                if isinstance(body, bytes):
                    await conn.send(head, body, timeouts.get("write"), request)
                else:
                    await conn.send_chunked(head, body, timeouts.get("write"), request)
                status, headers = await conn.receive_head(timeouts.get("read"), request)
            except StaleConnection:
                conn.close()
                if not isinstance(body, bytes) or attempts >= _STALE_RETRIES:
                    raise httpx.RemoteProtocolError(
                        "Server disconnected without sending a response.", request=request
                    ) from None
                attempts += 1
                continue
            except BaseException:
                conn.close()
                raise
            return conn, status, headers

    async def aclose(self) -> None:
        self._closed = True
        pools, self._pools = self._pools, {}
        for pool in pools.values():
            pool.close()

    async def _connect(self, origin: _Origin, pool: _Pool, timeout: float | None) -> Connection:
        scheme, host, port = origin
        loop = asyncio.get_running_loop()
        ssl_context: ssl.SSLContext | None = None
        if scheme == b"https":
            if self._ssl_context is None:
                self._ssl_context = httpx.create_ssl_context()
            ssl_context = self._ssl_context
        name = host.decode("ascii")
        async with asyncio.timeout(timeout):
            _, conn = await loop.create_connection(
                lambda: Connection(pool._slot_freed),
                name,
                port,
                ssl=ssl_context,
                server_hostname=name if ssl_context is not None else None,
            )
        return conn


class ResponseTooLarge(Exception):
    """An answer grew past the `max_bytes` the caller accepts."""

    def __init__(self, max_bytes: int) -> None:
        super().__init__(f"The answer is larger than {max_bytes} bytes")
        self.max_bytes = max_bytes


def _decompressed(content: bytes, encoding: bytes, max_bytes: int) -> bytes:
    if encoding not in (b"gzip", b"x-gzip", b"deflate"):
        named = encoding.decode(errors="replace")
        raise httpx.DecodingError(f"Unsupported content encoding {named}")
    try:
        decoder = zlib.decompressobj(wbits=zlib.MAX_WBITS | 32)  # gzip or zlib header
        result = decoder.decompress(content, max_bytes + 1)
    except zlib.error as exc:
        raise httpx.DecodingError(f"Invalid {encoding.decode()} body: {exc}") from exc
    if len(result) > max_bytes:
        raise ResponseTooLarge(max_bytes)
    return result


class _Pool:
    """One origin's connections: an idle stack (most recently used on top) and waiters."""

    def __init__(self, transport: PoolTransport, origin: _Origin) -> None:
        self._transport = transport
        self._origin = origin
        self._idle: deque[Connection] = deque()
        self._waiters: deque[asyncio.Future[Connection | None]] = deque()
        self.open = 0

    def idle_count(self) -> int:
        return sum(1 for conn in self._idle if not conn.closed)

    async def acquire(
        self, pool_timeout: float | None, connect_timeout: float | None, request: MaybeRequest
    ) -> Connection:
        idle = self._idle
        if idle:
            now = self._transport._clock()
            expiry = self._transport.keepalive_expiry
            while idle:
                conn = idle.pop()
                if conn.closed:
                    continue
                if now - conn.idle_since > expiry:
                    conn.close()
                    continue
                return conn
        if self.open >= self._transport.max_connections:
            conn_or_slot = await self._wait(pool_timeout, request)
            if conn_or_slot is not None:
                return conn_or_slot
        self.open += 1
        try:
            return await self._transport._connect(self._origin, self, connect_timeout)
        except TimeoutError:
            self._slot_freed()
            raise httpx.ConnectTimeout("Timed out connecting", request=request) from None
        except OSError as exc:
            self._slot_freed()
            raise httpx.ConnectError(str(exc) or type(exc).__name__, request=request) from exc
        except BaseException:
            self._slot_freed()
            raise

    async def _wait(self, timeout: float | None, request: MaybeRequest) -> Connection | None:
        """An idle connection handed over, or None: a slot freed up, connect in it."""
        waiter: asyncio.Future[Connection | None] = asyncio.get_running_loop().create_future()
        self._waiters.append(waiter)
        try:
            async with asyncio.timeout(timeout):
                return await waiter
        except BaseException as exc:
            if waiter.done() and not waiter.cancelled():
                # Handed a connection (or a slot) just as this request gave up: pass it on.
                self._hand_back(waiter.result())
            else:
                waiter.cancel()
            if waiter in self._waiters:
                self._waiters.remove(waiter)
            if isinstance(exc, TimeoutError):
                raise httpx.PoolTimeout(
                    "Timed out waiting for a connection", request=request
                ) from None
            raise

    def _hand_back(self, conn: Connection | None) -> None:
        if conn is not None:
            self.release(conn)
        else:
            self.open += 1
            self._slot_freed()

    def release(self, conn: Connection) -> None:
        """A connection whose answer was read in full, ready for the next request."""
        if conn.closed or self._transport._closed:
            conn.close()
            return
        while self._waiters:
            waiter = self._waiters.popleft()
            if not waiter.done():
                waiter.set_result(conn)
                return
        now = self._transport._clock()
        conn.idle_since = now
        idle = self._idle
        idle.append(conn)
        # The bottom of the stack idles longest: close it once it expired, one per release.
        oldest = idle[0]
        if oldest.closed or now - oldest.idle_since > self._transport.keepalive_expiry:
            idle.popleft()
            oldest.close()

    def _slot_freed(self) -> None:
        """A connection closed (or never opened): a waiter may open one in its place."""
        self.open -= 1
        while self._waiters:
            waiter = self._waiters.popleft()
            if not waiter.done():
                waiter.set_result(None)
                return

    def close(self) -> None:
        while self._idle:
            self._idle.pop().close()
        while self._waiters:
            self._waiters.popleft().cancel()


class _ResponseStream(httpx.AsyncByteStream):
    """The body as it arrives; the connection goes back to the pool once it has all been read."""

    def __init__(
        self, conn: Connection, pool: _Pool, timeout: float | None, request: MaybeRequest
    ) -> None:
        self._conn: Connection | None = conn
        self._pool = pool
        self._timeout = timeout
        self._request = request

    async def __aiter__(self) -> AsyncIterator[bytes]:
        conn = self._conn
        if conn is None:
            return
        while True:
            try:
                part = await conn.receive_body(self._timeout, self._request)
            except BaseException:
                self._conn = None
                conn.close()
                raise
            if part is None:
                break
            yield part
        self._done(conn)

    def _done(self, conn: Connection) -> None:
        self._conn = None
        if conn.finish():
            self._pool.release(conn)
        else:
            conn.close()

    async def aclose(self) -> None:
        conn = self._conn
        if conn is None:
            return
        if conn.fully_read():
            self._done(conn)
        else:
            self._conn = None
            conn.close()  # an unread rest of a body: the connection cannot be reused
