"""Overload and partial failure, measured on this machine (issue #15): a production gateway
(`edgegraph serve`, no dev mode) in its own process, in front of the demo's subgraphs and
backends in another, everything on 127.0.0.1 at ports of its own.

    python -m soak.run findings      # re-measure the issue's four findings (about a minute)
    python -m soak.run soak          # `make soak`: 10 minutes of mixed load, RSS and 5xx

Nothing here runs in `make test`; the figures go in soak/README.md.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import random
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parents[1]
PYTHON = sys.executable
SUBGRAPHS = ("catalog", "artwork", "ratings", "members")
TV_HOME = (ROOT / "clients" / "tv" / "home.graphql").read_text()
MOBILE_HOME = (ROOT / "clients" / "mobile" / "home.graphql").read_text()
WEB_TITLE = (ROOT / "clients" / "web" / "title.graphql").read_text()
ROWS = (
    "{ titles(first: 100) { nodes { averageRating artwork(format: BOXART, width: 342) { url } } } }"
)
#: the issue's request: 30 aliases of every genre's first 100 titles
ABUSIVE = "{" + " ".join(f"a{i}: genres {ROWS}" for i in range(30)) + "}"
#: expensive but allowed: ten of them
EXPENSIVE = "{" + " ".join(f"a{i}: genres {ROWS}" for i in range(10)) + "}"
HEADERS = {"graphql-preflight": "1", "apollographql-client-name": "tv"}

_DEMO = """
import asyncio, sys
import demo
from edge.observability import configure_access_log
from gateway import serve_all
configure_access_log()
apps = demo.demo_apps(subgraph_base_port=int(sys.argv[1]), backend_base_port=int(sys.argv[2]))
skip = set(sys.argv[3:])
kept = [app for app in apps if app[0] not in skip]
asyncio.run(serve_all(kept, announce=lambda: print("up", flush=True)))
"""


@dataclass
class Stack:
    gateway: str
    gateway_log: Path
    demo_log: Path
    processes: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)


def _free_port_block() -> int:
    """A base port whose demo ports above it nothing listens on (best effort)."""
    for _ in range(50):
        base = random.randrange(20_000, 40_000)
        try:
            for offset in (0, 1, 2, 3, 4, 101, 102, 103, 104):
                with socket.socket() as probe:
                    probe.bind(("127.0.0.1", base + offset))
            return base
        except OSError:
            continue
    raise SystemExit("no free ports")


@contextlib.contextmanager
def stack(*, down: tuple[str, ...] = ()) -> Iterator[Stack]:
    """The demo's subgraphs and backends in one process, the gateway in another."""
    base = _free_port_block()
    work = Path(tempfile.mkdtemp(prefix="edgegraph-soak-"))
    sys.path.insert(0, str(ROOT))
    from demo import demo_supergraph_path

    tables = "".join(
        f'[subgraphs.{name}]\nurl = "http://127.0.0.1:{base + 1 + index}/graphql"\n'
        for index, name in enumerate(SUBGRAPHS)
    )
    config = work / "edgegraph.toml"
    config.write_text(f'[server]\nport = {base}\nsupergraph = "{demo_supergraph_path()}"\n{tables}')
    result = Stack(f"http://127.0.0.1:{base}", work / "gateway.log", work / "demo.log")
    skip = [name for name in down]
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    with open(result.demo_log, "wb") as demo_out, open(result.gateway_log, "wb") as gw_out:
        result.processes["demo"] = subprocess.Popen(
            [PYTHON, "-c", _DEMO, str(base + 1), str(base + 101), *skip],
            stdout=demo_out, stderr=subprocess.STDOUT, env=env, cwd=ROOT,
        )  # fmt: skip
        result.processes["gateway"] = subprocess.Popen(
            [str(Path(PYTHON).parent / "edgegraph"), "serve", "--config", str(config)],
            stdout=gw_out, stderr=subprocess.STDOUT, env=env, cwd=ROOT,
        )  # fmt: skip
        try:
            _wait_up(result)
            yield result
        finally:
            for process in result.processes.values():
                process.terminate()
            for process in result.processes.values():
                try:
                    process.wait(10)
                except subprocess.TimeoutExpired:
                    process.kill()


def _wait_up(running: Stack) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{running.gateway}/health", timeout=1).status_code == 200:
                time.sleep(1)  # and the demo's ports
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise SystemExit(f"the stack did not start; see {running.gateway_log}")


@contextlib.asynccontextmanager
async def client(running: Stack) -> AsyncIterator[httpx.AsyncClient]:
    limits = httpx.Limits(max_connections=200, max_keepalive_connections=200)
    async with httpx.AsyncClient(
        base_url=running.gateway, headers=HEADERS, timeout=60, limits=limits
    ) as http:
        yield http


async def post(http: httpx.AsyncClient, query: str, **extra: Any) -> tuple[int, Any, int]:
    response = await http.post("/graphql", json={"query": query, **extra})
    try:
        body = response.json()
    except ValueError:
        body = None
    return response.status_code, body, len(response.content)


def whole(status: int, body: Any) -> bool:
    return (
        status == 200
        and isinstance(body, dict)
        and bool(body.get("data"))
        and not body.get("errors")
    )


async def finding_burst() -> dict[str, Any]:
    with stack() as running:
        async with client(running) as http:
            await post(http, TV_HOME)
            # The incident's three expensive queries: the 30-alias request, 6 MB each.
            expensive = [asyncio.create_task(post(http, ABUSIVE)) for _ in range(3)]
            homes = await asyncio.gather(*(post(http, TV_HOME) for _ in range(100)))
            done = await asyncio.gather(*expensive)
            # Then abusive requests in a burst, and good ones right after.
            await asyncio.gather(*(post(http, ABUSIVE) for _ in range(20)))
            after = await asyncio.gather(*(post(http, TV_HOME) for _ in range(50)))
    return {
        "tv_home_whole_of_100": sum(whole(s, b) for s, b, _ in homes),
        "expensive_statuses": sorted({s for s, _, _ in done}),
        "good_after_abuse_failed": sum(not whole(s, b) for s, b, _ in after) / len(after),
        "statuses": sorted({s for s, _, _ in homes}),
    }


async def finding_ratings_down() -> dict[str, Any]:
    with stack(down=("ratings",)) as running:
        async with client(running) as http:
            status, body, _ = await post(http, TV_HOME)
    rows = (body or {}).get("data") or {}
    tiles = [t for row in rows.get("genres") or [] for t in row["titles"]["nodes"]]
    codes = sorted({e["extensions"]["code"] for e in (body or {}).get("errors", [])})
    return {
        "status": status,
        "data_null": not rows,
        "rows": len(rows.get("genres") or []),
        "titles": len(tiles),
        "rating_badges_null": sum(t["ratingBadge"] is None for t in tiles),
        "codes": codes,
    }


async def finding_demand() -> dict[str, Any]:
    with stack() as running:
        async with client(running) as http:
            started = time.perf_counter()
            status, body, size = await post(http, ABUSIVE)
            elapsed = time.perf_counter() - started
    error = ((body or {}).get("errors") or [{}])[0]
    return {
        "request_bytes": len(ABUSIVE),
        "status": status,
        "answer_bytes": size,
        "seconds": round(elapsed, 3),
        "code": error.get("extensions", {}).get("code"),
        "estimate": error.get("extensions", {}).get("estimate"),
    }


async def finding_logs() -> dict[str, Any]:
    # The ratings backend is down: every ratings field fails in the subgraph.
    with stack(down=("backend-ratings",)) as running:
        async with client(running) as http:
            await post(http, TV_HOME, operationName="Q" * 1_000_000)
            await asyncio.sleep(0.5)
            longest = max(len(line) for line in running.gateway_log.read_bytes().splitlines())
            # An outage in miniature: 10 s of TV homes while ratings' backend is down; count
            # the demo's log lines (a traceback per failed field, before).
            before = len(running.demo_log.read_bytes().splitlines())
            deadline = time.monotonic() + 10
            sent = 0
            while time.monotonic() < deadline:
                await asyncio.gather(*(post(http, TV_HOME) for _ in range(20)))
                sent += 20
            lines = len(running.demo_log.read_bytes().splitlines()) - before
    return {"longest_gateway_log_line": longest, "tv_homes": sent, "demo_log_lines": lines}


async def soak(minutes: float) -> dict[str, Any]:
    """Mixed load at the demo for `minutes`: TV, mobile and web pages, a few expensive and
    abusive queries; the gateway's RSS sampled each 10 s, and every 5xx counted."""
    with stack() as running:
        gateway = running.processes["gateway"].pid
        rss: list[int] = []
        statuses: dict[int, int] = {}
        mix = [TV_HOME] * 6 + [MOBILE_HOME] * 6 + [WEB_TITLE] * 6 + [EXPENSIVE, ABUSIVE]
        async with client(running) as http:
            deadline = time.monotonic() + minutes * 60
            next_sample = time.monotonic()
            while time.monotonic() < deadline:
                batch = random.sample(mix, 10)
                results = await asyncio.gather(
                    *(post(http, q, variables={"id": f"t{random.randint(1, 300)}"}) for q in batch)
                )
                for status, _body, _size in results:
                    statuses[status] = statuses.get(status, 0) + 1
                if time.monotonic() >= next_sample:
                    rss.append(_rss(gateway))
                    next_sample += 10
    warm = rss[len(rss) // 5 :] or rss  # after the first fifth: caches filled
    return {
        "minutes": minutes,
        "requests": sum(statuses.values()),
        "statuses": statuses,
        "server_errors": sum(n for s, n in statuses.items() if s >= 500 and s != 503),
        "shed_503": statuses.get(503, 0),
        "rss_mb_first_last_min_max": [
            round(x / 2**20, 1) for x in (warm[0], warm[-1], min(warm), max(warm))
        ],
        "rss_drift": round((warm[-1] - warm[0]) / warm[0], 3),
    }


def _rss(pid: int) -> int:
    """Resident bytes of a process (Linux: /proc)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    raise RuntimeError(f"no VmRSS for {pid}")


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m soak.run")
    parser.add_argument("what", choices=("findings", "soak"))
    parser.add_argument("--minutes", type=float, default=10.0)
    parser.add_argument("--only", help="one finding: burst, ratings, demand or logs")
    args = parser.parse_args()
    if args.what == "soak":
        print(asyncio.run(soak(args.minutes)))
        return
    for name, measure in (
        ("burst", finding_burst),
        ("ratings down", finding_ratings_down),
        ("demand", finding_demand),
        ("logs", finding_logs),
    ):
        if args.only is None or name.startswith(args.only):
            print(name, asyncio.run(measure()), flush=True)


if __name__ == "__main__":
    main()
