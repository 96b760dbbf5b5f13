"""Serving apps on sockets bound before anything is announced.

`edgegraph serve`, `demo` and `dev` bind every port first and only then print their URLs and
start uvicorn on the bound sockets: a busy port or an impossible address is one clear line and
a non-zero exit, never a URL followed by a traceback.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import signal
import socket
from collections.abc import Callable, Iterator, Sequence

import uvicorn
from starlette.types import ASGIApp

__all__ = ["ListenError", "bind", "bind_all", "port_number", "serve_all"]


class ListenError(OSError):
    """An address the server cannot listen on, with the reason in words."""


def port_number(text: str) -> int:
    """An argparse `type` for a TCP port: 0 (any free port) to 65535."""
    try:
        port = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a port number") from None
    if not 0 <= port <= 65535:
        raise argparse.ArgumentTypeError(f"{port} is not a port (0 to 65535)")
    return port


def bind(host: str, port: int) -> socket.socket:
    """A TCP socket bound to `host:port`, ready for uvicorn to listen on."""
    where = f"{host}:{port}"
    try:
        family, kind, proto, _name, address = socket.getaddrinfo(
            host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE
        )[0]
    except (socket.gaierror, OverflowError, UnicodeError) as error:
        raise ListenError(f"cannot listen on {where}: {_reason(error)}") from None
    sock = socket.socket(family, kind, proto)
    try:
        # As uvicorn itself does: a restart may rebind while old connections linger.
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(address)
    except (OSError, OverflowError) as error:
        sock.close()
        raise ListenError(f"cannot listen on {where}: {_reason(error)}") from None
    return sock


def bind_all(addresses: Sequence[tuple[str, int]]) -> list[socket.socket]:
    """One bound socket per address, or none at all: a failure closes those already bound."""
    bound: list[socket.socket] = []
    try:
        for host, port in addresses:
            bound.append(bind(host, port))
    except ListenError:
        for sock in bound:
            sock.close()
        raise
    return bound


def _reason(error: BaseException) -> str:
    if isinstance(error, OSError) and error.strerror:
        return error.strerror
    return str(error)


class _QuietServer(uvicorn.Server):
    """A uvicorn server that leaves signal handling to `serve_all`, which runs several at once."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


async def serve_all(
    apps: Sequence[tuple[str, ASGIApp, str, int]],
    *,
    announce: Callable[[], None] | None = None,
) -> None:
    """Serve each `(name, app, host, port)` until SIGINT or SIGTERM.

    Every port is bound first, then `announce` runs (it prints the URLs): a busy port is one
    line and exit status 1, never a URL that does not answer followed by a traceback.
    """
    try:
        sockets = bind_all([(host, port) for _name, _app, host, port in apps])
    except ListenError as error:
        raise SystemExit(f"edgegraph: {error}") from None
    servers = [
        _QuietServer(uvicorn.Config(app, host=host, port=port, log_level="warning"))
        for _name, app, host, port in apps
    ]
    if announce is not None:
        announce()
    loop = asyncio.get_running_loop()

    def stop() -> None:
        for server in servers:
            server.should_exit = True

    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop)
    try:
        await asyncio.gather(
            *(server.serve(sockets=[sock]) for server, sock in zip(servers, sockets, strict=True))
        )
    finally:
        for sock in sockets:
            sock.close()
