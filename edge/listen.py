"""Listening sockets, bound before anything is announced.

`edgegraph serve` and `edgegraph demo` bind every port first and only then print their URLs
and start uvicorn on the bound sockets: a busy port or an impossible address is one clear line
and a non-zero exit, never a URL followed by a traceback.
"""

from __future__ import annotations

import argparse
import socket
from collections.abc import Sequence

__all__ = ["ListenError", "bind", "bind_all", "port_number"]


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
