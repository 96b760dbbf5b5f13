"""The HTTP/1.1 wire side of `PoolTransport`: one keep-alive connection and request heads.

`Connection` is an `asyncio.Protocol` answering one request at a time, whose responses
`httptools` parses in C; `request_head` and `post_head` build the bytes a request starts with.
The pools that hand connections out live in `federation.subgraphs.transport`.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Callable, Iterable
from typing import Any, TypeAlias

import httptools
import httpx

__all__ = [
    "Connection",
    "Headers",
    "MaybeRequest",
    "StaleConnection",
    "post_head",
    "request_head",
]

Headers: TypeAlias = list[tuple[bytes, bytes]]
#: The httpx request being served, for its exceptions; None on the lean `post` path.
MaybeRequest: TypeAlias = httpx.Request | None

#: Stop reading from the socket while this much of a body waits for its reader.
_READ_HIGH_WATER = 256 * 1024
#: Bodies up to this size go out in the same write as the request head.
_JOIN_BODY_BELOW = 64 * 1024


def request_head(request: httpx.Request) -> bytes:
    target = request.url.raw_path
    lines = [request.method.encode("ascii"), b" ", target, b" HTTP/1.1\r\n"]
    for name, value in request.headers.raw:
        lines += (name, b": ", value, b"\r\n")
    lines.append(b"\r\n")
    head = b"".join(lines)
    _check_head(head, len(lines) // 4 - 1)
    return head


def post_head(path: bytes, host: bytes, headers: Iterable[tuple[str, str]], length: int) -> bytes:
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


class StaleConnection(Exception):
    """A reused keep-alive connection closed before any byte of the answer arrived."""


class Connection(asyncio.Protocol):
    """One HTTP/1.1 connection, answering one request at a time."""

    def __init__(self, free_slot: Callable[[], None]) -> None:
        """`free_slot` is called once, when the connection is lost: its pool may open another."""
        self._free_slot = free_slot
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
        self._headers: Headers = []
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
                self._error = StaleConnection()
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
            self._free_slot()

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
        self, head: bytes, body: bytes, timeout: float | None, request: MaybeRequest
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
        self, head: bytes, stream: Any, timeout: float | None, request: MaybeRequest
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

    def _dead(self, request: MaybeRequest) -> Exception:
        if self.reused and not self._received:
            return StaleConnection()
        return httpx.WriteError("Connection closed", request=request)

    async def _drained(self, timeout: float | None, request: MaybeRequest) -> None:
        while self._write_paused and not self.closed:
            self._drain = asyncio.get_running_loop().create_future()
            try:
                async with asyncio.timeout(timeout):
                    await self._drain
            except TimeoutError:
                raise httpx.WriteTimeout("Timed out writing", request=request) from None

    async def receive_head(
        self, timeout: float | None, request: MaybeRequest
    ) -> tuple[int, Headers]:
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

    async def receive_body(self, timeout: float | None, request: MaybeRequest) -> bytes | None:
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
    def _located(error: Exception, request: MaybeRequest) -> Exception:
        if isinstance(error, StaleConnection):
            return error
        if isinstance(error, httpx.RequestError):
            return type(error)(str(error), request=request)
        return httpx.ReadError(str(error), request=request)

    def finish(self) -> bool:
        """After the whole answer was read: whether the connection can serve another."""
        self.in_use = False
        self.reused = True
        return self._complete and self._keep_alive and not self.closed and self._error is None

    def fully_read(self) -> bool:
        """Whether the whole answer has arrived and been taken by its reader."""
        return self._complete and not self._chunks

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
