"""The gateways under test and how each is started for a dedupe setting.

Every gateway is one process on 127.0.0.1 with a scrubbed environment (`clean_env`): no Apollo or
Hive keys, Apollo telemetry disabled, no landing pages, so nothing talks to another host.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from bench.peer_supergraph import peer_supergraph
from bench.processes import clean_env
from bench.scenarios import BENCH_DIR, REPO_ROOT
from bench.serve_edgegraph import best_http, best_loop

__all__ = ["DEFAULT_GATEWAYS", "GATEWAYS", "Gateway", "Launch"]

NODE_BIN = BENCH_DIR / "node_modules" / ".bin"


@dataclass(frozen=True, slots=True)
class Launch:
    command: tuple[str, ...]
    cwd: Path
    env: Mapping[str, str]


@dataclass(frozen=True, slots=True)
class Gateway:
    name: str
    needs_npm: bool
    #: What the "dedupe on" setting switches on, in this gateway's own terms.
    dedupe_note: str
    #: (supergraph, port, dedupe, forwarded headers) -> how to start it.
    launch: Callable[[Path, int, bool, Sequence[str]], Launch]
    describe: Callable[[], str]


def _edgegraph(supergraph: Path, port: int, dedupe: bool, _headers: Sequence[str]) -> Launch:
    # No [auth]: like the other gateways here, edgegraph serves the demo anonymously (README).
    command: tuple[str, ...] = (sys.executable, "-m", "bench.serve_edgegraph")
    command += ("--supergraph", str(supergraph), "--dedupe", "on" if dedupe else "off")
    command += ("--port", str(port), "--loop", best_loop(), "--http", best_http())
    return Launch(command, REPO_ROOT, clean_env())


def _edgegraph_plain(supergraph: Path, port: int, dedupe: bool, _headers: Sequence[str]) -> Launch:
    command: tuple[str, ...] = (sys.executable, "-m", "bench.serve_edgegraph")
    command += ("--supergraph", str(supergraph), "--dedupe", "on" if dedupe else "off")
    command += ("--port", str(port), "--loop", "asyncio", "--http", "h11")
    return Launch(command, REPO_ROOT, clean_env())


def _apollo(supergraph: Path, port: int, _dedupe: bool, headers: Sequence[str]) -> Launch:
    command: tuple[str, ...] = ("node", str(BENCH_DIR / "peer_gateways" / "apollo.mjs"))
    command += ("--supergraph", str(peer_supergraph(supergraph)), "--port", str(port))
    for name in headers:
        command += ("--forward-header", name)
    return Launch(command, BENCH_DIR, clean_env())


def _hive(supergraph: Path, port: int, dedupe: bool, headers: Sequence[str]) -> Launch:
    command: tuple[str, ...] = (
        str(NODE_BIN / "hive-gateway"),
        "supergraph",
        str(peer_supergraph(supergraph)),
    )
    command += ("--host", "127.0.0.1", "--port", str(port), "--fork", "1", "--disable-websockets")
    env = clean_env(
        {"BENCH_DEDUPE": "on" if dedupe else "off", "BENCH_FORWARD_HEADERS": ",".join(headers)}
    )
    # The CLI reads gateway.config.mjs from its working directory.
    return Launch(command, BENCH_DIR / "peer_gateways", env)


def _edgegraph_describe() -> str:
    return f"uvicorn, 1 worker, loop={best_loop()}, http={best_http()}"


GATEWAYS = {
    "edgegraph": Gateway(
        name="edgegraph",
        needs_npm=False,
        dedupe_note=(
            "[resilience] dedupe_inbound (identical in-flight client queries share one "
            "execution) + dedupe (identical in-flight subgraph fetches share one call)"
        ),
        launch=_edgegraph,
        describe=_edgegraph_describe,
    ),
    # Not run by default: edgegraph on uvicorn's pure-Python stack, to measure uvloop + httptools.
    "edgegraph-plain": Gateway(
        name="edgegraph-plain",
        needs_npm=False,
        dedupe_note="as edgegraph",
        launch=_edgegraph_plain,
        describe=lambda: "uvicorn, 1 worker, loop=asyncio, http=h11",
    ),
    "apollo": Gateway(
        name="apollo",
        needs_npm=True,
        dedupe_note=(
            "@apollo/gateway 2.14.4 offers no request deduplication: runs the same in both settings"
        ),
        launch=_apollo,
        describe=lambda: "@apollo/gateway 2.14.4 + @apollo/server 5.5.1 standalone",
    ),
    "hive": Gateway(
        name="hive",
        needs_npm=True,
        dedupe_note=(
            "inboundInflightRequestDeduplication + HTTP transport deduplicateInflightRequests"
        ),
        launch=_hive,
        describe=lambda: "@graphql-hive/gateway 2.15.1 CLI, --fork 1",
    ),
}

DEFAULT_GATEWAYS = ("edgegraph", "apollo", "hive")
