"""Serving an app on a free loopback port for tools outside the process (node, chromium)."""

from __future__ import annotations

import asyncio
import contextlib
import os
import socket
import subprocess
from collections.abc import AsyncIterator, Iterator, Sequence
from pathlib import Path
from typing import Literal

import uvicorn
from starlette.types import ASGIApp

from demo import demo_supergraph_path

__all__ = ["DEMO_SUPERGRAPH", "WEB_DIR", "ensure_web_installed", "run_node", "serve_on_loopback"]

WEB_DIR = Path(__file__).resolve().parents[2] / "web"
#: The demo supergraph (composed at start), for tests that need a schema but no running demo.
DEMO_SUPERGRAPH = demo_supergraph_path()
NPM_CI_TIMEOUT_S = 600.0


class _Server(uvicorn.Server):
    """uvicorn without its signal handlers: pytest owns SIGINT."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


@contextlib.asynccontextmanager
async def serve_on_loopback(
    app: ASGIApp, *, lifespan: Literal["auto", "on", "off"] = "off"
) -> AsyncIterator[str]:
    """Serve `app` with uvicorn on 127.0.0.1 and a port the OS picks; yields the base URL.

    The socket is bound before uvicorn starts, so there is no window in which another process
    can take the port. `lifespan="off"` suits apps whose lifespan the caller already entered.
    """
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    config = uvicorn.Config(app, lifespan=lifespan, log_level="warning", access_log=False)
    server = _Server(config)
    task = asyncio.create_task(server.serve(sockets=[sock]))
    try:
        for _ in range(500):
            if server.started or task.done():
                break
            await asyncio.sleep(0.01)
        if not server.started:
            raise RuntimeError("uvicorn did not start")
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await asyncio.wait_for(task, timeout=10)
        sock.close()


def ensure_web_installed() -> None:
    """`npm ci` in web/ when `make` has not done it (a bare `pytest` run)."""
    if (WEB_DIR / "node_modules" / "graphql-http").is_dir() and (
        WEB_DIR / "node_modules" / "playwright-core"
    ).is_dir():
        return
    subprocess.run(
        ["npm", "ci", "--no-audit", "--no-fund", "--loglevel=error"],
        cwd=WEB_DIR,
        check=True,
        timeout=NPM_CI_TIMEOUT_S,
    )


async def run_node(args: Sequence[str], *, timeout: float) -> str:
    """Run a script in web/ with node; its stdout, or an error carrying its stderr."""
    process = await asyncio.create_subprocess_exec(
        "node",
        *args,
        cwd=WEB_DIR,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        env={**os.environ, "NO_COLOR": "1"},
    )
    try:
        stdout, stderr = await asyncio.wait_for(process.communicate(), timeout=timeout)
    except TimeoutError:
        process.kill()
        await process.wait()
        raise
    if process.returncode != 0:
        raise RuntimeError(f"node {' '.join(args)} failed: {stderr.decode(errors='replace')}")
    return stdout.decode()
