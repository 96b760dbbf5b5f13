"""A lean keep-alive HTTP/1.1 transport for httpx: `PoolTransport`.

httpcore's pool scans every pooled connection on each request (asking each whether it expired
or became readable); with a few dozen keep-alive connections that bookkeeping cost more CPU than
the gateway's own work. This transport keeps, per origin, a stack of idle connections and a
count of open ones, so taking and returning a connection is O(1). Each connection is an
`asyncio.Protocol` whose responses `httptools` parses in C.

It speaks plain HTTP/1.1 over TCP (and TLS), one request at a time per connection, no proxies.
A connection the server closed while idle is noticed by the event loop (`connection_lost`) and
never handed out; if a reused connection still dies before the first byte of its answer, the
request is sent once more on another connection, as browsers do.
"""

from __future__ import annotations

import asyncio
import ssl
import time
import zlib
from collections import deque
from collections.abc import AsyncIterator, Callable, Iterable, Mapping
from typing import Any, TypeAlias

import httptools
import httpx

__all__ = ["PoolTransport", "ResponseTooLarge"]

#: (scheme, host, port)
_Origin: TypeAlias = tuple[bytes, bytes, int]
_Headers: TypeAlias = list[tuple[bytes, bytes]]
#: The httpx request being served, for its exceptions; None on the lean `post` path.
_Request: TypeAlias = httpx.Request | None

#: Stop reading from the socket while this much of a body waits for its reader.
_READ_HIGH_WATER = 256 * 1024
#: Bodies up to this size go out in the same write as the request head.
_JOIN_BODY_BELOW = 64 * 1024
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
        head = _request_head(request)
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
        head = _post_head(path, host, headers, len(body))
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
        request: _Request,
    ) -> tuple[_Connection, int, _Headers]:
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
            except _StaleConnection:
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

    async def _connect(self, origin: _Origin, pool: _Pool, timeout: float | None) -> _Connection:
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
                lambda: _Connection(pool),
                name,
                port,
                ssl=ssl_context,
                server_hostname=name if ssl_context is not None else None,
            )
        return conn


def _request_head(request: httpx.Request) -> bytes:
    target = request.url.raw_path
    lines = [request.method.encode("ascii"), b" ", target, b" HTTP/1.1\r\n"]
    for name, value in request.headers.raw:
        lines += (name, b": ", value, b"\r\n")
    lines.append(b"\r\n")
    head = b"".join(lines)
    _check_head(head, len(lines) // 4 - 1)
    return head


def _post_head(path: bytes, host: bytes, headers: Iterable[tuple[str, str]], length: int) -> bytes:
    lines = [f"{name}: {value}\r\n" for name, value in headers]
    head = b"POST %b HTTP/1.1\r\nhost: %b\r\ncontent-length: %d\r\n%b\r\n" % (
        path,
        host,
        length,
        "".join(lines).encode(),
    )
    _check_head(head, len(lines) + 2)
    return head


def _check_head(head: bytes, header_lines: int) -> None:
    """Refuse a header name or value that would smuggle a line break into the request."""
    if head.count(b"\n") != header_lines + 2 or head.count(b"\r") != header_lines + 2:
        raise httpx.LocalProtocolError("Line breaks are not allowed in HTTP headers")


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


class _StaleConnection(Exception):
    """A reused keep-alive connection closed before any byte of the answer arrived."""


class _Pool:
    """One origin's connections: an idle stack (most recently used on top) and waiters."""

    def __init__(self, transport: PoolTransport, origin: _Origin) -> None:
        self._transport = transport
        self._origin = origin
        self._idle: deque[_Connection] = deque()
        self._waiters: deque[asyncio.Future[_Connection | None]] = deque()
        self.open = 0

    def idle_count(self) -> int:
        return sum(1 for conn in self._idle if not conn.closed)

    async def acquire(
        self, pool_timeout: float | None, connect_timeout: float | None, request: _Request
    ) -> _Connection:
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

    async def _wait(self, timeout: float | None, request: _Request) -> _Connection | None:
        """An idle connection handed over, or None: a slot freed up, connect in it."""
        waiter: asyncio.Future[_Connection | None] = asyncio.get_running_loop().create_future()
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

    def _hand_back(self, conn: _Connection | None) -> None:
        if conn is not None:
            self.release(conn)
        else:
            self.open += 1
            self._slot_freed()

    def release(self, conn: _Connection) -> None:
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


class _Connection(asyncio.Protocol):
    """One HTTP/1.1 connection, answering one request at a time."""

    def __init__(self, pool: _Pool) -> None:
        self._pool = pool
        self._transport: asyncio.Transport | None = None
        self._parser = httptools.HttpResponseParser(self)
        self._waiter: asyncio.Future[None] | None = None
        self._drain: asyncio.Future[None] | None = None
        self._write_paused = False
        self._read_paused = False
        self.closed = False
        self._holds_slot = True
        self.in_use = False
        self.reused = False
        self.idle_since = 0.0
        self._new_response(head_only=False)

    def _new_response(self, *, head_only: bool) -> None:
        self._status = 0
        self._headers: _Headers = []
        self._headers_done = False
        self._complete = False
        self._informational = False
        self._delimited = False  # by content-length or chunked, not by the connection closing
        self._keep_alive = False
        self._head_only = head_only
        self._received = False
        self._chunks: deque[bytes] = deque()
        self._buffered = 0
        self._error: Exception | None = None

    # -- asyncio.Protocol ---------------------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self._transport = transport  # type: ignore[assignment]

    def data_received(self, data: bytes) -> None:
        if not self.in_use or self._complete:
            # Nothing was asked: a server talking out of turn cannot be trusted with the next.
            self.close()
            return
        self._received = True
        try:
            self._parser.feed_data(data)
        except httptools.HttpParserError as exc:
            self._error = httpx.RemoteProtocolError(f"Invalid HTTP response: {exc}")
            self.close()
        if self._buffered > _READ_HIGH_WATER and not self._read_paused and not self.closed:
            self._read_paused = True
            self._transport.pause_reading()  # type: ignore[union-attr]
        self._wake()

    def eof_received(self) -> bool:
        return False  # close our side too

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        if self.in_use and not self._complete and self._error is None:
            if self._headers_done and not self._delimited:
                self._complete = True  # the body ran until the connection closed
            elif not self._received and self.reused:
                self._error = _StaleConnection()
            else:
                self._error = httpx.RemoteProtocolError(
                    "Server disconnected without sending a complete response."
                )
        self._wake()
        if self._drain is not None and not self._drain.done():
            self._drain.set_result(None)
        self._transport = None
        if self._holds_slot:
            self._holds_slot = False
            self._pool._slot_freed()

    def pause_writing(self) -> None:
        self._write_paused = True

    def resume_writing(self) -> None:
        self._write_paused = False
        if self._drain is not None and not self._drain.done():
            self._drain.set_result(None)

    # -- httptools callbacks ------------------------------------------------------------------

    def on_header(self, name: bytes, value: bytes) -> None:
        self._headers.append((name, value))
        lowered = name.lower()
        if lowered == b"content-length" or (
            lowered == b"transfer-encoding" and b"chunked" in value.lower()
        ):
            self._delimited = True

    def on_headers_complete(self) -> None:
        status = self._parser.get_status_code()
        if 100 <= status < 200 and status != 101:
            self._informational = True
            self._headers = []
            self._delimited = False
            return
        self._status = status
        self._headers_done = True
        if status in (204, 304):
            self._delimited = True
        if self._head_only:
            self._delimited = True
            self._complete = True  # no body follows; the connection is not reused (see close)

    def on_body(self, body: bytes) -> None:
        if self._head_only:
            return
        self._chunks.append(body)
        self._buffered += len(body)

    def on_message_complete(self) -> None:
        if self._informational:
            self._informational = False
            return
        self._complete = True
        self._keep_alive = self._parser.should_keep_alive() and not self._head_only

    # -- used by the transport ----------------------------------------------------------------

    def _wake(self) -> None:
        waiter = self._waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    async def _wait(self, timeout: float | None, error: type[httpx.TimeoutException]) -> None:
        waiter = self._waiter = asyncio.get_running_loop().create_future()
        if timeout is None:
            await waiter
            return
        handle = waiter.get_loop().call_later(timeout, _expire, waiter)
        try:
            await waiter
        except _Expired:
            raise error("Timed out") from None
        finally:
            handle.cancel()

    async def send(
        self, head: bytes, body: bytes, timeout: float | None, request: _Request
    ) -> None:
        self._start(head_only=request is not None and request.method == "HEAD")
        transport = self._transport
        if transport is None or self.closed:
            raise self._dead(request)
        if len(body) < _JOIN_BODY_BELOW:
            transport.write(head + body)
        else:
            transport.write(head)
            transport.write(body)
        await self._drained(timeout, request)

    async def send_chunked(
        self, head: bytes, stream: Any, timeout: float | None, request: _Request
    ) -> None:
        self._start(head_only=request is not None and request.method == "HEAD")
        if self._transport is None or self.closed:
            raise self._dead(request)
        self._transport.write(head)
        async for part in stream:
            if part:
                if self._transport is None:
                    raise self._dead(request)
                self._transport.write(b"%x\r\n%b\r\n" % (len(part), part))
                await self._drained(timeout, request)
        if self._transport is None:
            raise self._dead(request)
        self._transport.write(b"0\r\n\r\n")
        await self._drained(timeout, request)

    def _start(self, *, head_only: bool) -> None:
        self._new_response(head_only=head_only)
        self.in_use = True

    def _dead(self, request: _Request) -> Exception:
        if self.reused and not self._received:
            return _StaleConnection()
        return httpx.WriteError("Connection closed", request=request)

    async def _drained(self, timeout: float | None, request: _Request) -> None:
        while self._write_paused and not self.closed:
            self._drain = asyncio.get_running_loop().create_future()
            try:
                async with asyncio.timeout(timeout):
                    await self._drain
            except TimeoutError:
                raise httpx.WriteTimeout("Timed out writing", request=request) from None

    async def receive_head(
        self, timeout: float | None, request: _Request
    ) -> tuple[int, _Headers]:
        while not self._headers_done:
            if self._error is not None:
                raise self._located(self._error, request)
            if self.closed:
                raise self._located(
                    httpx.RemoteProtocolError("Server disconnected without sending a response."),
                    request,
                )
            await self._wait(timeout, httpx.ReadTimeout)
        return self._status, self._headers

    async def receive_body(self, timeout: float | None, request: _Request) -> bytes | None:
        """The next part of the body, or None once it has all arrived."""
        while True:
            if self._chunks:
                if len(self._chunks) == 1:
                    part = self._chunks.popleft()
                else:
                    part = b"".join(self._chunks)
                    self._chunks.clear()
                self._buffered = 0
                if self._read_paused and self._transport is not None:
                    self._read_paused = False
                    self._transport.resume_reading()
                return part
            if self._complete:
                return None
            if self._error is not None:
                raise self._located(self._error, request)
            if self.closed:
                raise self._located(
                    httpx.RemoteProtocolError("Server disconnected in the middle of a response."),
                    request,
                )
            await self._wait(timeout, httpx.ReadTimeout)

    @staticmethod
    def _located(error: Exception, request: _Request) -> Exception:
        if isinstance(error, _StaleConnection):
            return error
        if isinstance(error, httpx.RequestError):
            return type(error)(str(error), request=request)
        return httpx.ReadError(str(error), request=request)

    def finish(self) -> bool:
        """After the whole answer was read: whether the connection can serve another."""
        self.in_use = False
        self.reused = True
        return self._complete and self._keep_alive and not self.closed and self._error is None

    def close(self) -> None:
        self.in_use = False
        if self.closed:
            return
        self.closed = True
        if self._transport is not None:
            self._transport.close()  # connection_lost follows and frees the pool slot


class _Expired(Exception):
    pass


def _expire(waiter: asyncio.Future[None]) -> None:
    if not waiter.done():
        waiter.set_exception(_Expired())


class _ResponseStream(httpx.AsyncByteStream):
    """The body as it arrives; the connection goes back to the pool once it has all been read."""

    def __init__(
        self, conn: _Connection, pool: _Pool, timeout: float | None, request: _Request
    ) -> None:
        self._conn: _Connection | None = conn
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

    def _done(self, conn: _Connection) -> None:
        self._conn = None
        if conn.finish():
            self._pool.release(conn)
        else:
            conn.close()

    async def aclose(self) -> None:
        conn = self._conn
        if conn is None:
            return
        if conn._complete and not conn._chunks:
            self._done(conn)
        else:
            self._conn = None
            conn.close()  # an unread rest of a body: the connection cannot be reused
