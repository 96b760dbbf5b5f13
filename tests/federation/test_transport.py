from __future__ import annotations

import asyncio
import gzip
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field

import httpx
import pytest

from federation.subgraphs.fetcher import HttpFetcher, SubgraphFetchError, SubgraphRequest
from federation.subgraphs.transport import PoolTransport, ResponseTooLarge

OK = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"

#: (request number on this connection, request head, request body) -> bytes to send, or None to
#: close the connection without answering. Awaitable so a handler can stall.
Handler = Callable[[int, bytes, bytes], Awaitable[bytes | None]]


@dataclass
class Server:
    url: str
    connections: int = 0
    requests: list[bytes] = field(default_factory=list)
    open_now: int = 0
    most_open: int = 0
    writers: list[asyncio.StreamWriter] = field(default_factory=list)


async def _read_request(reader: asyncio.StreamReader) -> tuple[bytes, bytes] | None:
    try:
        head = await reader.readuntil(b"\r\n\r\n")
    except (asyncio.IncompleteReadError, ConnectionError):
        return None
    lowered = head.lower()
    if b"transfer-encoding: chunked" in lowered:
        body = b""
        while True:
            size = int((await reader.readline()).strip(), 16)
            chunk = await reader.readexactly(size + 2)
            if size == 0:
                break
            body += chunk[:-2]
        return head, body
    length = 0
    for line in lowered.split(b"\r\n"):
        if line.startswith(b"content-length:"):
            length = int(line.split(b":", 1)[1])
    return head, await reader.readexactly(length)


@asynccontextmanager
async def serving(handler: Handler) -> AsyncIterator[Server]:
    server = Server(url="")

    async def connection(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        server.connections += 1
        server.open_now += 1
        server.most_open = max(server.most_open, server.open_now)
        server.writers.append(writer)
        try:
            number = 0
            while (request := await _read_request(reader)) is not None:
                server.requests.append(request[0] + request[1])
                answer = await handler(number, *request)
                number += 1
                if answer is None:
                    break
                writer.write(answer)
                await writer.drain()
                if b"connection: close" in answer.lower():
                    break
        finally:
            server.open_now -= 1
            writer.close()

    listener = await asyncio.start_server(connection, "127.0.0.1", 0)
    port = listener.sockets[0].getsockname()[1]
    server.url = f"http://127.0.0.1:{port}/graphql"
    async with listener:
        yield server
        listener.close()


def answer(payload: bytes) -> Handler:
    async def handle(_number: int, _head: bytes, _body: bytes) -> bytes | None:
        return payload

    return handle


def client_for(transport: PoolTransport, *, timeout: float = 5.0) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=transport, timeout=timeout)


async def test_transport_reuses_a_keep_alive_connection() -> None:
    async with serving(answer(OK)) as server, client_for(PoolTransport()) as client:
        for _ in range(3):
            response = await client.post(server.url, content=b'{"q":1}')
            assert (response.status_code, response.content) == (200, b"ok")
    assert server.connections == 1
    head = server.requests[0]
    assert head.startswith(b"POST /graphql HTTP/1.1\r\n")
    assert b"\r\nhost: 127.0.0.1:" in head.lower()
    assert head.endswith(b'\r\n\r\n{"q":1}')


async def test_transport_opens_a_new_connection_after_connection_close() -> None:
    closing = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok"
    async with serving(answer(closing)) as server, client_for(PoolTransport()) as client:
        for _ in range(2):
            assert (await client.post(server.url, content=b"x")).content == b"ok"
    assert server.connections == 2


async def test_transport_reads_chunked_bodies() -> None:
    chunked = (
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
        b"5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n"
    )
    async with serving(answer(chunked)) as server, client_for(PoolTransport()) as client:
        for _ in range(2):
            assert (await client.post(server.url, content=b"x")).content == b"hello world"
    assert server.connections == 1


async def test_transport_reads_content_length_bodies_split_across_writes() -> None:
    async def slow(_number: int, _head: bytes, _body: bytes) -> bytes | None:
        return b"HTTP/1.1 200 OK\r\nContent-Length: 11\r\n\r\nhello world"

    async with serving(slow) as server, client_for(PoolTransport()) as client:
        response = await client.post(server.url, content=b"x" * 200_000)
        assert response.content == b"hello world"
    assert server.requests[0].endswith(b"x" * 200_000)


async def test_transport_reads_a_body_delimited_by_the_connection_closing() -> None:
    until_close = b"HTTP/1.1 200 OK\r\nConnection: close\r\n\r\neverything until EOF"
    async with serving(answer(until_close)) as server, client_for(PoolTransport()) as client:
        response = await client.post(server.url, content=b"x")
        assert response.content == b"everything until EOF"


async def test_transport_sends_streamed_bodies_chunked() -> None:
    async def parts() -> AsyncIterator[bytes]:
        yield b"ab"
        yield b"cd"

    async with serving(answer(OK)) as server, client_for(PoolTransport()) as client:
        response = await client.post(server.url, content=parts())
        assert response.content == b"ok"
    assert server.requests[0].endswith(b"\r\n\r\nabcd")


async def test_transport_skips_informational_responses() -> None:
    continued = b"HTTP/1.1 100 Continue\r\n\r\n" + OK
    async with serving(answer(continued)) as server, client_for(PoolTransport()) as client:
        response = await client.post(server.url, content=b"x")
        assert (response.status_code, response.content) == (200, b"ok")


async def test_transport_leaves_decompression_to_httpx() -> None:
    body = gzip.compress(b'{"data": {}}')
    zipped = b"HTTP/1.1 200 OK\r\nContent-Encoding: gzip\r\nContent-Length: %d\r\n\r\n%b" % (
        len(body),
        body,
    )
    async with serving(answer(zipped)) as server, client_for(PoolTransport()) as client:
        assert (await client.post(server.url, content=b"x")).content == b'{"data": {}}'


async def test_transport_read_timeout() -> None:
    async def stall(_number: int, _head: bytes, _body: bytes) -> bytes | None:
        await asyncio.sleep(10)
        return OK

    async with serving(stall) as server, client_for(PoolTransport(), timeout=0.05) as client:
        with pytest.raises(httpx.ReadTimeout):
            await client.post(server.url, content=b"x")


async def test_transport_server_dropping_mid_response() -> None:
    async def drop(_number: int, _head: bytes, _body: bytes) -> bytes | None:
        return b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\nConnection: close\r\n\r\npartial"

    async with serving(drop) as server, client_for(PoolTransport()) as client:
        with pytest.raises(httpx.RemoteProtocolError):
            await client.post(server.url, content=b"x")


async def test_transport_server_closing_without_answer() -> None:
    async def hang_up(_number: int, _head: bytes, _body: bytes) -> bytes | None:
        return None

    async with serving(hang_up) as server, client_for(PoolTransport()) as client:
        with pytest.raises(httpx.RemoteProtocolError):
            await client.post(server.url, content=b"x")
    assert server.connections == 1  # a fresh connection is not retried


async def test_transport_rejects_garbage() -> None:
    garbage = answer(b"SMTP ready\r\n\r\n")
    async with serving(garbage) as server, client_for(PoolTransport()) as client:
        with pytest.raises(httpx.RemoteProtocolError):
            await client.post(server.url, content=b"x")


async def test_transport_retries_a_reused_connection_the_server_closed() -> None:
    async def second_hangs_up(number: int, _head: bytes, _body: bytes) -> bytes | None:
        return OK if number == 0 else None

    async with serving(second_hangs_up) as server, client_for(PoolTransport()) as client:
        for _ in range(3):
            assert (await client.post(server.url, content=b"x")).content == b"ok"
    # 1st connection: answered, then hung up on the 2nd request, which went out again on a
    # 2nd connection; the 3rd request met the same fate there and went out on a 3rd.
    assert server.connections == 3
    assert len(server.requests) == 5


async def test_transport_skips_idle_connections_the_server_closed() -> None:
    async with serving(answer(OK)) as server:
        transport = PoolTransport()
        async with client_for(transport) as client:
            await client.post(server.url, content=b"x")
            origin = server.url.rsplit("/", 1)[0]
            assert transport.pool_sizes() == {origin: (1, 1)}
            server.writers[0].close()  # the server times the idle connection out
            await asyncio.sleep(0.05)
            assert transport.pool_sizes() == {origin: (0, 0)}
            assert (await client.post(server.url, content=b"x")).content == b"ok"
    assert (server.connections, len(server.requests)) == (2, 2)


async def test_transport_expires_idle_connections() -> None:
    now = [0.0]
    async with serving(answer(OK)) as server:
        transport = PoolTransport(keepalive_expiry=5, clock=lambda: now[0])
        async with client_for(transport) as client:
            await client.post(server.url, content=b"x")
            now[0] = 4.0
            await client.post(server.url, content=b"x")
            now[0] = 10.0
            await client.post(server.url, content=b"x")
    assert server.connections == 2


async def test_transport_bounds_connections_per_origin() -> None:
    async def slow(_number: int, _head: bytes, _body: bytes) -> bytes | None:
        await asyncio.sleep(0.01)
        return OK

    async with serving(slow) as server:
        transport = PoolTransport(max_connections=2)
        async with client_for(transport) as client:
            responses = await asyncio.gather(
                *(client.post(server.url, content=b"x") for _ in range(10))
            )
            assert [r.content for r in responses] == [b"ok"] * 10
            assert transport.pool_sizes() == {server.url.rsplit("/", 1)[0]: (2, 2)}
    assert server.most_open == 2


async def test_transport_pool_timeout_and_a_cancelled_waiter_free_their_place() -> None:
    release = asyncio.Event()

    async def held(number: int, _head: bytes, _body: bytes) -> bytes | None:
        if number == 0:
            await release.wait()
        return OK

    async with serving(held) as server:
        transport = PoolTransport(max_connections=1)
        async with client_for(transport) as client:
            first = asyncio.ensure_future(client.post(server.url, content=b"x"))
            await asyncio.sleep(0.01)
            with pytest.raises(httpx.PoolTimeout):
                await client.post(server.url, content=b"x", timeout=httpx.Timeout(5, pool=0.01))
            waiting = asyncio.ensure_future(client.post(server.url, content=b"x"))
            await asyncio.sleep(0.01)
            waiting.cancel()
            release.set()
            assert (await first).content == b"ok"
            assert (await client.post(server.url, content=b"x")).content == b"ok"
    assert server.connections == 1


async def test_transport_does_not_reuse_a_partly_read_connection() -> None:
    big = b"HTTP/1.1 200 OK\r\nContent-Length: 6\r\n\r\n"

    async def in_two(_number: int, _head: bytes, _body: bytes) -> bytes | None:
        return big + b"abcdef"

    async with serving(in_two) as server, client_for(PoolTransport()) as client:
        async with client.stream("POST", server.url, content=b"x") as response:
            assert response.status_code == 200  # body left unread
        assert (await client.post(server.url, content=b"x")).content == b"abcdef"
    assert server.connections == 2


async def test_transport_connect_error() -> None:
    listener = await asyncio.start_server(lambda r, w: None, "127.0.0.1", 0)
    port = listener.sockets[0].getsockname()[1]
    listener.close()
    await listener.wait_closed()
    async with client_for(PoolTransport()) as client:
        with pytest.raises(httpx.ConnectError):
            await client.post(f"http://127.0.0.1:{port}/", content=b"x")


async def test_transport_closes_idle_connections_on_aclose() -> None:
    async with serving(answer(OK)) as server:
        transport = PoolTransport()
        client = client_for(transport)
        await client.post(server.url, content=b"x")
        await client.aclose()
        await asyncio.sleep(0.01)
        assert server.open_now == 0
        with pytest.raises(RuntimeError):
            await transport.handle_async_request(httpx.Request("POST", server.url))


async def test_fetcher_builds_its_client_on_pool_transport() -> None:
    body = b'{"data":{"hello":"hi"}}'
    reply = b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n%b" % (len(body), body)
    async with serving(answer(reply)) as server:
        fetcher = HttpFetcher({"a": server.url})
        try:
            for _ in range(2):
                assert await fetcher.fetch(SubgraphRequest("a", {"query": "{ hello }"})) == {
                    "data": {"hello": "hi"}
                }
        finally:
            await fetcher.aclose()
    assert server.connections == 1


async def test_fetcher_maps_a_dropped_connection_to_unreachable() -> None:
    async def drop(_number: int, _head: bytes, _body: bytes) -> bytes | None:
        return b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\nConnection: close\r\n\r\n{"

    async with serving(drop) as server:
        fetcher = HttpFetcher({"a": server.url})
        try:
            with pytest.raises(SubgraphFetchError) as caught:
                await fetcher.fetch(SubgraphRequest("a", {"query": "mutation { hello }"}))
        finally:
            await fetcher.aclose()
    assert caught.value.code == "SUBGRAPH_UNAVAILABLE"


async def test_transport_post_reads_the_whole_answer_on_the_same_pool() -> None:
    async with serving(answer(OK)) as server:
        transport = PoolTransport()
        async with client_for(transport) as client:
            status, body = await transport.post(
                server.url, [("x-member-id", "m1")], b"{}", timeout=5, max_bytes=100
            )
            assert (status, body) == (200, b"ok")
            assert (await client.post(server.url, content=b"x")).content == b"ok"
    assert server.connections == 1
    head = server.requests[0].lower()
    assert head.startswith(b"post /graphql http/1.1\r\n")
    assert b"\r\nx-member-id: m1\r\n" in head
    assert b"\r\ncontent-length: 2\r\n" in head


async def test_transport_post_refuses_answers_past_max_bytes() -> None:
    declared = b"HTTP/1.1 200 OK\r\nContent-Length: 20\r\n\r\n" + b"x" * 20
    chunked = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n14\r\n" + b"x" * 20
    for reply in (declared, chunked + b"\r\n0\r\n\r\n"):
        async with serving(answer(reply)) as server:
            transport = PoolTransport()
            with pytest.raises(ResponseTooLarge):
                await transport.post(server.url, [], b"{}", timeout=5, max_bytes=10)
            await transport.aclose()


async def test_transport_post_decompresses_within_max_bytes() -> None:
    body = gzip.compress(b"x" * 50)
    zipped = b"HTTP/1.1 200 OK\r\nContent-Encoding: gzip\r\nContent-Length: %d\r\n\r\n%b" % (
        len(body),
        body,
    )
    async with serving(answer(zipped)) as server:
        transport = PoolTransport()
        assert await transport.post(server.url, [], b"", timeout=5, max_bytes=50) == (
            200,
            b"x" * 50,
        )
        with pytest.raises(ResponseTooLarge):
            await transport.post(server.url, [], b"", timeout=5, max_bytes=49)
        await transport.aclose()
    brotli = b"HTTP/1.1 200 OK\r\nContent-Encoding: br\r\nContent-Length: 2\r\n\r\nok"
    async with serving(answer(brotli)) as server:
        transport = PoolTransport()
        with pytest.raises(httpx.DecodingError):
            await transport.post(server.url, [], b"", timeout=5, max_bytes=50)
        await transport.aclose()


async def test_transport_refuses_line_breaks_in_headers() -> None:
    async with serving(answer(OK)) as server:
        transport = PoolTransport()
        for name, value in (("x-a", "1\r\nx-injected: 1"), ("x-a\nb", "1")):
            with pytest.raises(httpx.LocalProtocolError):
                await transport.post(server.url, [(name, value)], b"", timeout=5, max_bytes=9)
        await transport.aclose()
    assert server.requests == []


async def test_fetcher_maps_transport_failures_to_codes() -> None:
    big = b'{"data":{"hello":"' + b"x" * 100 + b'"}}'
    brotli = b"HTTP/1.1 200 OK\r\nContent-Encoding: br\r\nContent-Length: 2\r\n\r\nzz"
    too_big = b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n%b" % (len(big), big)

    async def stall(_number: int, _head: bytes, _body: bytes) -> bytes | None:
        await asyncio.sleep(10)
        return OK

    for handler, options, code in (
        (answer(too_big), {"max_response_bytes": 50}, "SUBGRAPH_RESPONSE_TOO_LARGE"),
        (stall, {"timeout": 0.05}, "SUBGRAPH_TIMEOUT"),
        (answer(brotli), {}, "SUBGRAPH_BAD_RESPONSE"),
    ):
        async with serving(handler) as server:
            fetcher = HttpFetcher({"a": server.url}, **options)
            try:
                with pytest.raises(SubgraphFetchError) as caught:
                    await fetcher.fetch(SubgraphRequest("a", {"query": "mutation { hello }"}))
            finally:
                await fetcher.aclose()
        assert caught.value.code == code
