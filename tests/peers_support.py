"""Helpers that run the pinned Apollo peers (``peers/``) from Python tests.

- :func:`ensure_peers_installed` installs ``peers/node_modules`` with ``npm ci`` when needed.
- :func:`compose_with_apollo` composes subgraph SDLs into a supergraph with ``@apollo/composition``.
- :func:`apollo_query_plan` prints Apollo's query plan for an operation (``peers/plan.mjs``);
  :func:`apollo_plan_details` adds the fetches' `@fromContext` rewrites.
- :func:`run_apollo_gateway` runs ``@apollo/gateway`` on a free loopback port.
- :func:`run_hive_router_gateway` runs ``@graphql-hive/gateway`` with the Rust query planner.
- :func:`serve_subgraphs` serves strawberry subgraphs over loopback with uvicorn.
- :func:`subgraph_sdl` and :func:`with_subgraph_urls` glue fixtures to the two.

Nothing here reaches past 127.0.0.1: the gateway only calls the URLs written in the supergraph,
and its Apollo telemetry is switched off (``APOLLO_TELEMETRY_DISABLED``).
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import hashlib
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import tempfile
from collections.abc import AsyncIterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

REPO_ROOT = Path(__file__).resolve().parent.parent
PEERS_DIR = REPO_ROOT / "peers"
_STAMP_NAME = ".edgegraph-installed"
_LOOPBACK = "127.0.0.1"
NPM_CI_TIMEOUT_S = 600.0
COMPOSE_TIMEOUT_S = 120.0
GATEWAY_START_TIMEOUT_S = 60.0
STOP_TIMEOUT_S = 10.0


class PeersUnavailableError(RuntimeError):
    """node/npm are missing, or ``npm ci`` failed."""


class CompositionError(RuntimeError):
    """Apollo composition rejected the subgraphs; ``errors`` holds ``{"code", "message"}``."""

    def __init__(self, errors: list[dict[str, str]]) -> None:
        self.errors = errors
        lines = "\n".join(f"  [{e.get('code')}] {e.get('message')}" for e in errors)
        super().__init__(f"Apollo composition failed with {len(errors)} error(s):\n{lines}")


@dataclass(frozen=True)
class Composition:
    supergraph_sdl: str
    hints: list[dict[str, str]] = field(default_factory=list)


def _tool(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        raise PeersUnavailableError(
            f"`{name}` was not found on PATH; the Apollo peer tests need node >= 20 and npm"
        )
    return path


def _peers_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("APOLLO_")}
    env["APOLLO_TELEMETRY_DISABLED"] = "true"
    env["NO_PROXY"] = env["no_proxy"] = f"{_LOOPBACK},localhost"
    env.setdefault("NODE_ENV", "test")
    return env


def _lock_digest(peers_dir: Path) -> str:
    digest = hashlib.sha256()
    for name in ("package.json", "package-lock.json"):
        digest.update((peers_dir / name).read_bytes())
    return digest.hexdigest()


def ensure_peers_installed(peers_dir: Path = PEERS_DIR) -> Path:
    """Run ``npm ci`` in ``peers/`` unless ``node_modules`` matches the lockfile; return the dir.

    A stamp file inside ``node_modules`` records the hash of package.json + package-lock.json,
    so a changed lockfile triggers a reinstall. An flock serialises concurrent callers.
    """
    _tool("node")
    npm = _tool("npm")
    want = _lock_digest(peers_dir)
    stamp = peers_dir / "node_modules" / _STAMP_NAME
    with open(peers_dir / ".install.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if stamp.is_file() and stamp.read_text().strip() == want:
            return peers_dir
        try:
            proc = subprocess.run(
                [npm, "ci", "--no-audit", "--no-fund", "--loglevel=error"],
                cwd=peers_dir,
                env=_peers_env(),
                capture_output=True,
                text=True,
                timeout=NPM_CI_TIMEOUT_S,
                check=False,
            )
        except subprocess.TimeoutExpired as exc:
            raise PeersUnavailableError(f"`npm ci` in {peers_dir} timed out") from exc
        if proc.returncode != 0:
            raise PeersUnavailableError(
                f"`npm ci` in {peers_dir} failed ({proc.returncode}):\n{proc.stderr[-4000:]}"
            )
        stamp.write_text(want + "\n")
    return peers_dir


def _run_composer(script: str, subgraphs: Sequence[tuple[str, str, str]]) -> dict[str, Any]:
    """Run a peers/ composition script on ``(name, url, sdl)`` triples; raise CompositionError."""
    peers_dir = ensure_peers_installed()
    payload = json.dumps([{"name": n, "url": u, "sdl": s} for n, u, s in subgraphs])
    try:
        proc = subprocess.run(
            [_tool("node"), str(peers_dir / script)],
            input=payload,
            cwd=peers_dir,
            env=_peers_env(),
            capture_output=True,
            text=True,
            timeout=COMPOSE_TIMEOUT_S,
            check=False,
        )
    except subprocess.TimeoutExpired as exc:
        raise RuntimeError(f"peers/{script} timed out") from exc
    if proc.returncode != 0:
        raise RuntimeError(f"peers/{script} crashed ({proc.returncode}):\n{proc.stderr}")
    out: dict[str, Any] = json.loads(proc.stdout)
    if "errors" in out:
        raise CompositionError(list(out["errors"]))
    return out


def compose_with_apollo_full(subgraphs: Sequence[tuple[str, str, str]]) -> Composition:
    """Compose ``(name, url, sdl)`` triples; return the supergraph and Apollo's hints."""
    out = _run_composer("compose.mjs", subgraphs)
    return Composition(supergraph_sdl=str(out["supergraphSdl"]), hints=list(out["hints"]))


def compose_with_hive(subgraphs: Sequence[tuple[str, str, str]]) -> str:
    """Compose ``(name, url, sdl)`` triples with The Guild's composition (Hive's); raise
    CompositionError."""
    return str(_run_composer("compose_hive.mjs", subgraphs)["supergraphSdl"])


def compose_with_apollo(subgraphs: Sequence[tuple[str, str, str]]) -> str:
    """Compose ``(name, url, sdl)`` triples into a supergraph SDL; raise CompositionError."""
    return compose_with_apollo_full(subgraphs).supergraph_sdl


def apollo_query_plan(
    supergraph_sdl: str, operation: str, operation_name: str | None = None
) -> str:
    """Apollo's query plan (its ``QueryPlan { ... }`` text form) for ``operation``.

    Raises ``RuntimeError`` with Apollo's message when it cannot plan (or parse) the operation.
    """
    return str(apollo_plan_details(supergraph_sdl, operation, operation_name)["plan"])


def apollo_plan_details(
    supergraph_sdl: str, operation: str, operation_name: str | None = None
) -> dict[str, Any]:
    """``peers/plan.mjs``'s answer: ``plan`` (the text form) and ``contextRewrites`` (each
    fetch's `@fromContext` rewrites, which the text form leaves out)."""
    extra = ["--operation-name", operation_name] if operation_name is not None else []
    out: dict[str, Any] = json.loads(_run_planner(supergraph_sdl, operation, extra))
    if "errors" in out:
        raise RuntimeError(
            "Apollo could not plan: " + "; ".join(e["message"] for e in out["errors"])
        )
    return out


def apollo_plans(
    supergraph_sdl: str, operations: list[tuple[str, str | None]]
) -> list[dict[str, Any]]:
    """`apollo_plan_details` for many (operation, name) pairs in one node process; an
    operation Apollo cannot plan gets ``{"errors": [...]}`` in its place."""
    payload = json.dumps([{"operation": op, "operationName": name} for op, name in operations])
    answers: list[dict[str, Any]] = json.loads(_run_planner(supergraph_sdl, payload, ["--many"]))
    return answers


def _run_planner(supergraph_sdl: str, stdin: str, extra: list[str]) -> str:
    peers_dir = ensure_peers_installed()
    with tempfile.TemporaryDirectory(prefix="edgegraph-plan-") as tmp:
        sdl_path = Path(tmp) / "supergraph.graphql"
        sdl_path.write_text(supergraph_sdl)
        args = [_tool("node"), str(peers_dir / "plan.mjs"), "--supergraph", str(sdl_path), *extra]
        try:
            proc = subprocess.run(
                args,
                input=stdin,
                cwd=peers_dir,
                env=_peers_env(),
                capture_output=True,
                text=True,
                timeout=COMPOSE_TIMEOUT_S,
                check=False,
            )
        except subprocess.TimeoutExpired as exc:
            raise RuntimeError("peers/plan.mjs timed out") from exc
    if proc.returncode != 0:
        raise RuntimeError(f"peers/plan.mjs crashed ({proc.returncode}):\n{proc.stderr}")
    return proc.stdout


def subgraph_sdl(schema: Any) -> str:
    """The SDL a subgraph reports through ``{ _service { sdl } }`` (with federation directives)."""
    result = schema.execute_sync("{ _service { sdl } }")
    if result.errors:
        raise RuntimeError(f"_service query failed: {result.errors}")
    return str(result.data["_service"]["sdl"])


_JOIN_GRAPH_RE = re.compile(r'@join__graph\(name: "(?P<name>[^"]+)", url: "(?P<url>[^"]*)"\)')


def with_subgraph_urls(supergraph_sdl: str, urls: Mapping[str, str]) -> str:
    """Return the supergraph with each ``@join__graph(name:, url:)`` pointed at ``urls[name]``."""
    unknown = set(urls)

    def repl(m: re.Match[str]) -> str:
        name = m.group("name")
        unknown.discard(name)
        return f'@join__graph(name: "{name}", url: "{urls.get(name, m.group("url"))}")'

    out = _JOIN_GRAPH_RE.sub(repl, supergraph_sdl)
    if unknown:
        raise KeyError(f"subgraphs not in the supergraph: {sorted(unknown)}")
    return out


def free_port() -> int:
    """A loopback TCP port that was free a moment ago (the caller may still lose a race)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((_LOOPBACK, 0))
        return int(sock.getsockname()[1])


@dataclass(frozen=True)
class ApolloGateway:
    port: int

    @property
    def url(self) -> str:
        return f"http://{_LOOPBACK}:{self.port}/"


async def _stop_process_group(proc: asyncio.subprocess.Process) -> None:
    if proc.returncode is None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGTERM)
        try:
            await asyncio.wait_for(proc.wait(), STOP_TIMEOUT_S)
        except TimeoutError:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            await asyncio.wait_for(proc.wait(), STOP_TIMEOUT_S)
    # The gateway may have left children in its group; don't leak them.
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(proc.pid, signal.SIGKILL)


async def _wait_ready(proc: asyncio.subprocess.Process, timeout: float) -> bool:
    assert proc.stdout is not None
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        remaining = deadline - loop.time()
        if remaining <= 0:
            return False
        try:
            line = await asyncio.wait_for(proc.stdout.readline(), remaining)
        except TimeoutError:
            return False
        if not line:
            return False
        if line.strip() == b"ready":
            return True


@contextlib.asynccontextmanager
async def run_apollo_gateway(
    supergraph_sdl: str, *, start_timeout: float = GATEWAY_START_TIMEOUT_S, attempts: int = 3
) -> AsyncIterator[ApolloGateway]:
    """Run ``peers/gateway.mjs`` over ``supergraph_sdl`` on a free loopback port.

    Yields once the gateway printed ``ready``; on exit the process group gets SIGTERM, then
    SIGKILL after a bounded wait. A start that fails (e.g. the port was taken meanwhile) is
    retried on a new port, ``attempts`` times in all.
    """
    peers_dir = ensure_peers_installed()
    node = _tool("node")
    with tempfile.TemporaryDirectory(prefix="edgegraph-apollo-") as tmp:
        sdl_path = Path(tmp) / "supergraph.graphql"
        sdl_path.write_text(supergraph_sdl)
        failures: list[str] = []
        for _ in range(attempts):
            port = free_port()
            stderr_path = Path(tmp) / f"gateway-{port}.stderr"
            with open(stderr_path, "wb") as stderr_file:
                proc = await asyncio.create_subprocess_exec(
                    node,
                    str(peers_dir / "gateway.mjs"),
                    "--supergraph",
                    str(sdl_path),
                    "--port",
                    str(port),
                    cwd=peers_dir,
                    env=_peers_env(),
                    stdin=asyncio.subprocess.DEVNULL,
                    stdout=asyncio.subprocess.PIPE,
                    stderr=stderr_file,
                    start_new_session=True,
                )
            drain: asyncio.Task[bytes] | None = None
            try:
                if await _wait_ready(proc, start_timeout):
                    assert proc.stdout is not None
                    drain = asyncio.create_task(proc.stdout.read())
                    yield ApolloGateway(port=port)
                    return
            finally:
                await _stop_process_group(proc)
                if drain is not None:
                    await asyncio.wait_for(drain, STOP_TIMEOUT_S)
                elif proc.stdout is not None:
                    await asyncio.wait_for(proc.stdout.read(), STOP_TIMEOUT_S)
            failures.append(f"port {port}: {stderr_path.read_text(errors='replace')[-2000:]}")
        raise RuntimeError("Apollo gateway did not start:\n" + "\n".join(failures))


@contextlib.asynccontextmanager
async def serve_subgraphs(schemas: Mapping[str, Any]) -> AsyncIterator[dict[str, str]]:
    """Serve strawberry schemas on one loopback uvicorn server, in this event loop.

    Yields ``{name: "http://127.0.0.1:PORT/<name>/graphql"}``; shuts the server down on exit.
    """
    import uvicorn
    from starlette.applications import Starlette
    from starlette.routing import Route
    from strawberry.asgi import GraphQL

    routes = [
        Route(f"/{name}/graphql", GraphQL(schema, graphql_ide=None), methods=["GET", "POST"])
        for name, schema in schemas.items()
    ]
    config = uvicorn.Config(
        Starlette(routes=routes),
        lifespan="off",
        log_level="warning",
        access_log=False,
        ws="none",
        http="h11",
    )
    server = uvicorn.Server(config)
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((_LOOPBACK, 0))
    port = int(sock.getsockname()[1])
    task = asyncio.create_task(server.serve(sockets=[sock]))
    try:
        async with asyncio.timeout(GATEWAY_START_TIMEOUT_S):
            while not server.started:
                if task.done():
                    task.result()
                    raise RuntimeError("uvicorn exited before it started")
                await asyncio.sleep(0.01)
        yield {name: f"http://{_LOOPBACK}:{port}/{name}/graphql" for name in schemas}
    finally:
        server.should_exit = True
        try:
            await asyncio.wait_for(task, STOP_TIMEOUT_S)
        except TimeoutError:
            server.force_exit = True
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        sock.close()


@dataclass(frozen=True)
class HiveGateway:
    port: int

    @property
    def url(self) -> str:
        return f"http://{_LOOPBACK}:{self.port}/graphql"


@contextlib.asynccontextmanager
async def run_hive_router_gateway(
    supergraph_sdl: str, *, start_timeout: float = GATEWAY_START_TIMEOUT_S, attempts: int = 3
) -> AsyncIterator[HiveGateway]:
    """Run ``@graphql-hive/gateway`` with the Rust query planner (``@graphql-hive/router-runtime``,
    the reference planner) over ``supergraph_sdl`` on a free loopback port.

    Yields once ``/healthcheck`` answers; stops the process group on exit, as
    :func:`run_apollo_gateway` does.
    """
    peers_dir = ensure_peers_installed()
    cli = peers_dir / "node_modules" / ".bin" / "hive-gateway"
    with tempfile.TemporaryDirectory(prefix="edgegraph-hive-") as tmp:
        sdl_path = Path(tmp) / "supergraph.graphql"
        sdl_path.write_text(supergraph_sdl)
        failures: list[str] = []
        for _ in range(attempts):
            port = free_port()
            log_path = Path(tmp) / f"gateway-{port}.log"
            with open(log_path, "wb") as log_file:
                proc = await asyncio.create_subprocess_exec(
                    str(cli),
                    "supergraph",
                    str(sdl_path),
                    "--port",
                    str(port),
                    "--host",
                    _LOOPBACK,
                    "--hive-router-runtime",
                    "--fork",
                    "1",
                    cwd=peers_dir,
                    env=_peers_env(),
                    stdin=asyncio.subprocess.DEVNULL,
                    stdout=log_file,
                    stderr=log_file,
                    start_new_session=True,
                )
            try:
                if await _wait_healthy(proc, f"http://{_LOOPBACK}:{port}/healthcheck"):
                    yield HiveGateway(port=port)
                    return
            finally:
                await _stop_process_group(proc)
            failures.append(f"port {port}: {log_path.read_text(errors='replace')[-2000:]}")
        raise RuntimeError("Hive gateway did not start:\n" + "\n".join(failures))


async def _wait_healthy(
    proc: asyncio.subprocess.Process, url: str, timeout: float = GATEWAY_START_TIMEOUT_S
) -> bool:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    async with httpx.AsyncClient(timeout=1.0) as client:
        while loop.time() < deadline and proc.returncode is None:
            with contextlib.suppress(httpx.HTTPError):
                if (await client.get(url)).status_code == 200:
                    return True
            await asyncio.sleep(0.1)
    return False
