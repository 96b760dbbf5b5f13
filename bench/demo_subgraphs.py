"""Scenario 1's services: the demo's four backends and four subgraphs in one process.

    python -m bench.demo_subgraphs [--record FILE]

They listen where the demo supergraph says (subgraphs 4001-4004, backends 4101-4104). With
`--record`, each request a subgraph receives is appended to FILE as a JSON line
`{"port", "path", "body"}`, which is how the benchmark learns what a gateway sends.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import importlib
import json
import signal
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

import uvicorn

from bench.serve_edgegraph import best_http, best_loop
from demo import SUBGRAPHS, demo_apps

__all__ = ["main"]

ASGIApp = Any


class _Server(uvicorn.Server):
    """A uvicorn server that leaves signals to this module, which runs eight at once."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


def _recording(app: ASGIApp, port: int, record: Path) -> ASGIApp:
    async def recorded(scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await app(scope, receive, send)
            return
        chunks: list[bytes] = []
        more = True
        while more:
            message = await receive()
            chunks.append(message.get("body", b""))
            more = message.get("more_body", False)
        body = b"".join(chunks)
        line = {"port": port, "path": scope["path"], "body": body.decode()}
        with record.open("a") as sink:
            sink.write(json.dumps(line) + "\n")
        replayed = False

        async def replay() -> dict[str, Any]:
            nonlocal replayed
            if replayed:
                message: dict[str, Any] = await receive()
                return message
            replayed = True
            return {"type": "http.request", "body": body, "more_body": False}

        await app(scope, replay, send)

    return recorded


async def _serve(record: Path | None) -> None:
    servers = []
    for name, app, host, port in demo_apps():
        served = _recording(app, port, record) if record and name in SUBGRAPHS else app
        config = uvicorn.Config(
            served,
            host=host,
            port=port,
            loop=best_loop(),
            http=best_http(),
            log_level="warning",
            access_log=False,
        )
        servers.append(_Server(config))
    loop = asyncio.get_running_loop()

    def stop() -> None:
        for server in servers:
            server.should_exit = True

    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop)
    await asyncio.gather(*(server.serve() for server in servers))


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--record", type=Path)
    args = parser.parse_args(argv)
    factory: Callable[[], asyncio.AbstractEventLoop] | None = None
    if best_loop() == "uvloop":
        factory = importlib.import_module("uvloop").new_event_loop
    with asyncio.Runner(loop_factory=factory) as runner:
        runner.run(_serve(args.record))


if __name__ == "__main__":
    main()
