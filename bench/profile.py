"""Where edgegraph's time goes in one request of scenario 2, sampled under load.

    python -m bench.profile [--sampler py-spy|pyinstrument] [--seconds 20] [--out FILE]

Needs the sampler in the venv (developer tools, not project dependencies:
`.venv/bin/pip install py-spy pyinstrument`). Starts scenario 2's subgraphs and edgegraph, puts
wrk load on it and sums the samples per stage of a request:

- `py-spy` (the default) samples the running gateway from outside (`py-spy record --raw`),
  which costs it almost nothing, so the shares are those of an unprofiled run;
- `pyinstrument` runs the gateway under `python -m pyinstrument` and stops it with SIGINT so it
  writes its frame tree; its in-process sampling slows deep Python call chains more than C
  code, so it overstates pure-Python stages.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any

from bench.load import request_files, run_wrk
from bench.processes import clean_env, running
from bench.scenarios import BENCH_DIR, REPO_ROOT, SCENARIOS

__all__ = ["STAGES", "collapsed_stage_times", "main", "stage_of", "stage_times"]

PORT = 4400

_MERGE = frozenset({"_merge_entities"})
#: (stage, path fragment, function names or None for any): the innermost match on a stack wins.
STAGES: tuple[tuple[str, str, frozenset[str] | None], ...] = (
    ("JSON decode (request body)", "edge/http.py", frozenset({"_post_body"})),
    ("encode (orjson.dumps + Response)", "edge/http.py", frozenset({"graphql_response"})),
    ("parse/validate (operation cache)", "federation/operation.py", None),
    ("parse/validate (operation cache)", "federation/limits.py", None),
    ("plan cache / planning", "federation/planning/", None),
    ("telemetry (spans, metrics)", "federation/telemetry/", None),
    ("telemetry (spans, metrics)", "edge/observability.py", None),
    ("telemetry (spans, metrics)", "opentelemetry/", None),
    ("fetch (httpx + subgraph JSON decode)", "federation/subgraphs/", None),
    ("fetch (httpx + subgraph JSON decode)", "edge/headers.py", None),
    ("fetch (httpx + subgraph JSON decode)", "httpx/", None),
    ("fetch (httpx + subgraph JSON decode)", "httpcore/", None),
    ("fetch (httpx + subgraph JSON decode)", "h11/", None),
    ("fetch (httpx + subgraph JSON decode)", "anyio/", None),
    ("merge (entities into the response tree)", "federation/execution/merge.py", None),
    ("merge (entities into the response tree)", "federation/execution/executor.py", _MERGE),
    ("executor (plan walk, representations)", "federation/execution/executor.py", None),
    ("executor (plan walk, representations)", "federation/execution/batching.py", None),
    ("shaping (client's shape and order)", "federation/execution/shaping.py", None),
    ("HTTP server (uvicorn, Starlette, edge)", "uvicorn/", None),
    ("HTTP server (uvicorn, Starlette, edge)", "starlette/", None),
    ("HTTP server (uvicorn, Starlette, edge)", "edge/", None),
    ("HTTP server (uvicorn, Starlette, edge)", "gateway.py", None),
)
OTHER = "event loop and other"
IDLE = "idle (waiting on sockets)"


def stage_of(path: str, function: str, current: str) -> str:
    """The stage a frame belongs to, given the stage of its caller."""
    path = path.replace(os.sep, "/")
    for stage, fragment, functions in STAGES:
        if fragment in path and (functions is None or function in functions):
            # A library frame called from one of our stages stays in that stage.
            if fragment in ("starlette/", "uvicorn/", "edge/") and current != OTHER:
                return current
            return stage
    return current


def _frames(node: dict[str, Any], current: str) -> Iterator[tuple[str, float]]:
    function = str(node.get("function", ""))
    path = str(node.get("file_path", "") or "")
    if function in ("[await]", "[idle]") or (function == "[self]" and current == OTHER):
        yield IDLE, float(node.get("time", 0.0))
        return
    stage = stage_of(path, function, current)
    children = node.get("children", [])
    own = float(node.get("time", 0.0)) - sum(float(c.get("time", 0.0)) for c in children)
    yield stage, max(own, 0.0)
    for child in children:
        yield from _frames(child, stage)


def stage_times(profile: dict[str, Any]) -> dict[str, float]:
    """Seconds per stage in a pyinstrument JSON profile."""
    totals: dict[str, float] = {}
    for stage, seconds in _frames(profile["root_frame"], OTHER):
        totals[stage] = totals.get(stage, 0.0) + seconds
    return totals


def collapsed_stage_times(lines: Iterable[str], interval: float) -> dict[str, float]:
    """Seconds per stage in py-spy's raw output: one `frame;frame;... count` line per stack,
    root first, each frame `function (path:line)`."""
    totals: dict[str, float] = {}
    for line in lines:
        stack, _, count = line.rstrip().rpartition(" ")
        if not stack or not count.isdigit():
            continue
        stage = OTHER
        for frame in stack.split(";"):
            function, _, where = frame.partition(" (")
            path = where.rsplit(":", 1)[0]
            stage = stage_of(path, function.rsplit(".", 1)[-1], stage)
        totals[stage] = totals.get(stage, 0.0) + int(count) * interval
    return totals


def _table(totals: dict[str, float], requests: int) -> str:
    busy = {stage: 0.0 for stage, _, _ in STAGES}
    busy.update({stage: s for stage, s in totals.items() if stage != IDLE})
    cpu = sum(busy.values())
    lines = ["| stage | share of CPU | µs per request |", "|---|---:|---:|"]
    for stage, seconds in sorted(busy.items(), key=lambda item: -item[1]):
        per = 1e6 * seconds / requests if requests else 0.0
        share = 100 * seconds / cpu if cpu else 0.0
        shown = f"{share:.1f}%" if share >= 0.1 else "<0.1%"
        lines.append(f"| {stage} | {shown} | {per:.0f} |")
    lines.append(f"| **all** | 100% | {1e6 * cpu / requests if requests else 0:.0f} |")
    lines.append(f"\n{requests} requests profiled; idle {totals.get(IDLE, 0.0):.1f} s.")
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sampler", choices=("py-spy", "pyinstrument"), default="py-spy")
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--interval", type=float, default=0.001, help="sampling interval, s")
    parser.add_argument("--out", type=Path, default=None, help="the sampler's raw output")
    args = parser.parse_args(argv)
    if args.sampler == "py-spy":
        out = args.out or BENCH_DIR / "results" / "profile.txt"
        return _py_spy(out, args.seconds, args.connections, args.interval)
    out = args.out or BENCH_DIR / "results" / "profile.json"
    scenario = SCENARIOS["guild"]()
    log_dir = out.parent / "logs"
    launch = (
        sys.executable, "-m", "pyinstrument", "-i", str(args.interval), "-r", "json",
        "-o", str(out), "-m", "bench.serve_edgegraph",
        "--supergraph", str(scenario.supergraph), "--port", str(PORT),
    )  # fmt: skip
    sub = scenario.subgraphs
    with (
        running("profile-subgraphs", sub.command, port=sub.ports[0], log_dir=log_dir),
        running(
            "profile-edgegraph", launch, port=PORT, log_dir=log_dir, cwd=REPO_ROOT, env=clean_env()
        ) as gateway,  # fmt: skip
        request_files([("/graphql", body) for body in scenario.requests]) as script_args,
    ):
        run_wrk(port=PORT, script_args=script_args, seconds=5, connections=args.connections)
        load = run_wrk(
            port=PORT, script_args=script_args, seconds=args.seconds,
            connections=args.connections,
        )  # fmt: skip
        os.kill(gateway.pid, signal.SIGINT)
        try:
            gateway.process.wait(60)
        except subprocess.TimeoutExpired:
            print("edgegraph did not stop after SIGINT", file=sys.stderr)
            return 1
    time.sleep(0.2)
    profile = json.loads(out.read_text())
    # Warm-up requests were sampled too; count them with the measured ones.
    requests = load.requests + _warmup_requests(load.throughput)
    print(_table(stage_times(profile), requests))
    return 0


def _py_spy(out: Path, seconds: float, connections: int, interval: float) -> int:
    scenario = SCENARIOS["guild"]()
    log_dir = out.parent / "logs"
    launch = (
        sys.executable, "-m", "bench.serve_edgegraph",
        "--supergraph", str(scenario.supergraph), "--port", str(PORT),
    )  # fmt: skip
    py_spy = Path(sys.executable).with_name("py-spy")
    sub = scenario.subgraphs
    with (
        running("profile-subgraphs", sub.command, port=sub.ports[0], log_dir=log_dir),
        running(
            "profile-edgegraph", launch, port=PORT, log_dir=log_dir, cwd=REPO_ROOT, env=clean_env()
        ) as gateway,  # fmt: skip
        request_files([("/graphql", body) for body in scenario.requests]) as script_args,
    ):
        run_wrk(port=PORT, script_args=script_args, seconds=5, connections=connections)
        rate = str(round(1 / interval))
        duration = str(round(seconds))
        sampler = subprocess.Popen(
            [str(py_spy), "record", "-p", str(gateway.pid), "-r", rate, "-d", duration,
             "-f", "raw", "-o", str(out), "--nonblocking"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        load = run_wrk(
            port=PORT, script_args=script_args, seconds=round(seconds), connections=connections
        )
        if sampler.wait(60) != 0:
            print("py-spy failed (is it installed in the venv?)", file=sys.stderr)
            return 1
    with out.open(errors="replace") as lines:
        totals = collapsed_stage_times(lines, interval)
    print(_table(totals, load.requests))
    return 0


def _warmup_requests(throughput: float) -> int:
    return round(5 * throughput)


if __name__ == "__main__":
    sys.exit(main())
