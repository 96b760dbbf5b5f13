"""Run the benchmark: every scenario, dedupe setting and gateway, one after another.

python -m bench.run            # full run; writes bench/results/latest.{md,json}
python -m bench.run --smoke    # a few seconds, edgegraph only, checks that the harness works
"""

from __future__ import annotations

import argparse
import functools
import json
import os
import socket
import sys
import tempfile
import time
import urllib.request
from collections.abc import Sequence
from contextlib import ExitStack
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from bench.gateways import DEFAULT_GATEWAYS, GATEWAYS, Gateway, Launch
from bench.install import ensure_node_modules
from bench.load import LoadResult, ensure_wrk, request_files, run_wrk
from bench.processes import HOST, cpu_seconds, peak_rss_bytes, running
from bench.report import Ceiling, Row, Run, write_report
from bench.scenarios import BENCH_DIR, REPO_ROOT, SCENARIOS, Scenario

__all__ = ["main"]

GATEWAY_PORT = 4400
SETTINGS = ("off", "on")


@dataclass(frozen=True, slots=True)
class Options:
    scenarios: tuple[str, ...]
    gateways: tuple[str, ...]
    settings: tuple[str, ...]
    warmup_s: float
    duration_s: float
    ceiling_s: float
    connections: int
    gateway_cpus: frozenset[int] | None
    load_cpus: frozenset[int] | None
    out: Path
    log_dir: Path
    smoke: bool


def _post(port: int, path: str, body: bytes, headers: dict[str, str]) -> Any:
    request = urllib.request.Request(
        f"http://{HOST}:{port}{path}",
        data=body,
        headers={"content-type": "application/json", "accept": "application/json", **headers},
        method="POST",
    )
    with urllib.request.urlopen(request, timeout=60) as response:
        return json.loads(response.read())


def _capture(scenario: Scenario, gateway: Gateway, opts: Options) -> list[tuple[int, str, bytes]]:
    """What `gateway` (dedupe off) sends to the subgraphs for one round of the requests."""
    record = opts.log_dir / f"{scenario.name}-{gateway.name}-capture.jsonl"
    record.unlink(missing_ok=True)
    command = (*scenario.subgraphs.command, scenario.subgraphs.record_flag, str(record))
    launch = _launch(gateway, scenario, dedupe=False)
    with ExitStack() as stack:
        stack.enter_context(
            running(
                f"{scenario.name}-subgraphs-capture", command, port=scenario.subgraphs.ports[0],
                log_dir=opts.log_dir, cwd=REPO_ROOT,
            )
        )  # fmt: skip
        _wait_ports(scenario.subgraphs.ports)
        stack.enter_context(
            running(
                f"{gateway.name}-capture", launch.command, port=GATEWAY_PORT, log_dir=opts.log_dir,
                cwd=launch.cwd, env=launch.env,
            )
        )  # fmt: skip
        for body in scenario.requests:
            _post(GATEWAY_PORT, "/graphql", body, dict(scenario.headers))
    captured = []
    for line in record.read_text().splitlines():
        item = json.loads(line)
        captured.append((int(item.get("port", scenario.subgraphs.ports[0])), item["path"],
                         item["body"].encode()))  # fmt: skip
    return captured


def _launch(gateway: Gateway, scenario: Scenario, *, dedupe: bool) -> Launch:
    launch = gateway.launch(scenario.supergraph, GATEWAY_PORT, dedupe, list(scenario.headers))
    if gateway.name.startswith("edgegraph") and scenario.edgegraph_flags:
        launch = replace(launch, command=(*launch.command, *scenario.edgegraph_flags))
    return launch


def _wait_ports(ports: Sequence[int], timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    for port in ports:
        while True:
            with socket.socket() as sock:
                if sock.connect_ex((HOST, port)) == 0:
                    break
            if time.monotonic() > deadline:
                raise RuntimeError(f"port {port} never opened")
            time.sleep(0.1)


def _ceiling(
    scenario: Scenario, gateway: str, captured: list[tuple[int, str, bytes]], opts: Options
) -> Ceiling:
    """Load straight at the subgraphs with the requests one client request makes `gateway`
    send: the most client requests per second the subgraphs could serve for that gateway."""
    by_port: dict[int, list[tuple[str, bytes]]] = {}
    for port, path, body in captured:
        by_port.setdefault(port, []).append((path, body))
    per_port: dict[int, float] = {}
    for port, requests in sorted(by_port.items()):
        with request_files(requests) as args:
            result = run_wrk(
                port=port, script_args=args, seconds=opts.ceiling_s,
                connections=opts.connections, cpus=opts.gateway_cpus,
            )  # fmt: skip
        per_port[port] = result.throughput
    seconds_per_round = sum(len(by_port[p]) / rps for p, rps in per_port.items() if rps)
    rounds = 1 / seconds_per_round if seconds_per_round else 0.0
    client_requests = len(scenario.requests)
    return Ceiling(
        gateway=gateway,
        fetches_per_request=len(captured) / client_requests,
        subgraph_rps=per_port,
        client_rps=rounds * client_requests,
    )


def _answers_match(scenario: Scenario, answers: list[Any], reference: list[Any] | None) -> str:
    for index, answer in enumerate(answers):
        if not isinstance(answer, dict) or answer.get("errors") or answer.get("data") is None:
            return f"request {index} answered with errors: {json.dumps(answer)[:300]}"
        if reference is not None and answer != reference[index]:
            return f"request {index} differs from the reference answer"
    return ""


def _measure(
    scenario: Scenario,
    gateway: Gateway,
    setting: str,
    reference: list[Any] | None,
    opts: Options,
) -> tuple[Row, list[Any] | None]:
    launch = _launch(gateway, scenario, dedupe=setting == "on")
    name = f"{scenario.name}-{setting}-{gateway.name}"
    with running(
        name, launch.command, port=GATEWAY_PORT, log_dir=opts.log_dir, cwd=launch.cwd,
        env=launch.env, cpus=opts.gateway_cpus,
    ) as service:  # fmt: skip
        answers = [
            _post(GATEWAY_PORT, "/graphql", body, dict(scenario.headers))
            for body in scenario.requests
        ]
        problem = _answers_match(scenario, answers, reference)
        if problem:
            return Row(gateway.name, setting, problem=problem), None
        with request_files([("/graphql", body) for body in scenario.requests]) as args:
            load = functools.partial(
                run_wrk, port=GATEWAY_PORT, script_args=args, connections=opts.connections,
                headers=scenario.headers, cpus=opts.load_cpus,
            )  # fmt: skip
            load(seconds=opts.warmup_s)
            service.check_alive()
            load_avg = os.getloadavg()[0]
            cpu_before = cpu_seconds(service.pid)
            result: LoadResult = load(seconds=opts.duration_s)
            cpu_used = cpu_seconds(service.pid) - cpu_before
            service.check_alive()
            rss = peak_rss_bytes(service.pid)
    row = Row.from_load(gateway.name, setting, result, cpu_used, rss, load_avg)
    return row, answers


def _run_scenario(scenario: Scenario, opts: Options) -> list[Run]:
    runs: list[Run] = []
    # Each gateway's own subgraph traffic (a smoke run only needs edgegraph's, for the count).
    measured = ("edgegraph",) if opts.smoke else opts.gateways
    traffic = {name: _capture(scenario, GATEWAYS[name], opts) for name in measured}
    captured = traffic.get("edgegraph") or next(iter(traffic.values()))
    sub = scenario.subgraphs
    with running(
        f"{scenario.name}-subgraphs", sub.command, port=sub.ports[0], log_dir=opts.log_dir,
        cwd=REPO_ROOT, cpus=opts.load_cpus,
    ):  # fmt: skip
        _wait_ports(sub.ports)
        ceilings = (
            []
            if opts.smoke
            else [_ceiling(scenario, name, sent, opts) for name, sent in traffic.items()]
        )
        for setting in opts.settings:
            reference = list(scenario.expected) if scenario.expected else None
            rows = []
            for name in opts.gateways:
                print(f"[bench] {scenario.name} dedupe={setting} {name}", flush=True)
                row, answers = _measure(scenario, GATEWAYS[name], setting, reference, opts)
                rows.append(row)
                print(f"[bench]   {row.summary()}", flush=True)
                if reference is None and answers is not None:
                    reference = answers
            title = scenario.title
            if scenario.edgegraph_note:
                title += f"; edgegraph with {scenario.edgegraph_note}"
            runs.append(Run(scenario.name, title, setting, rows, ceilings,
                            fetches=len(captured) / len(scenario.requests)))  # fmt: skip
    return runs


def _cpu_split(pin: bool) -> tuple[frozenset[int] | None, frozenset[int] | None]:
    allowed = sorted(os.sched_getaffinity(0))
    if not pin or len(allowed) < 2:
        return None, None
    return frozenset(allowed[-1:]), frozenset(allowed[:-1])


def _options(argv: Sequence[str] | None) -> Options:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--smoke", action="store_true", help="a few seconds, edgegraph only")
    parser.add_argument("--scenarios", default=",".join(SCENARIOS))
    parser.add_argument("--gateways", default=",".join(DEFAULT_GATEWAYS))
    parser.add_argument("--settings", default=",".join(SETTINGS))
    parser.add_argument("--warmup", type=float, default=10.0, help="seconds of warm-up")
    parser.add_argument("--duration", type=float, default=20.0, help="seconds measured")
    parser.add_argument(
        "--ceiling", type=float, default=5.0, help="seconds per subgraph port and gateway"
    )
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--no-pin", action="store_true", help="do not pin gateway and load")
    parser.add_argument("--out", type=Path, help="where latest.md/json go")
    args = parser.parse_args(argv)
    gateway_cpus, load_cpus = _cpu_split(not args.no_pin)
    if args.smoke:
        out = args.out or Path(tempfile.mkdtemp(prefix="edgegraph-bench-smoke-"))
        return Options(("demo",), ("edgegraph",), ("off",), 1.0, 2.0, 1.0, 4,
                       gateway_cpus, load_cpus, out, out / "logs", smoke=True)  # fmt: skip
    out = args.out or BENCH_DIR / "results"
    return Options(
        tuple(args.scenarios.split(",")), tuple(args.gateways.split(",")),
        tuple(args.settings.split(",")), args.warmup, args.duration, args.ceiling,
        args.connections, gateway_cpus, load_cpus, out, out / "logs", smoke=False,
    )  # fmt: skip


def main(argv: Sequence[str] | None = None) -> int:
    opts = _options(argv)
    ensure_wrk()
    scenarios = [SCENARIOS[name]() for name in opts.scenarios]
    if any(GATEWAYS[g].needs_npm for g in opts.gateways) or any(
        s.subgraphs.needs_npm for s in scenarios
    ):
        ensure_node_modules()
    started = time.time()
    runs = [run for scenario in scenarios for run in _run_scenario(scenario, opts)]
    meta = {
        "started": time.strftime("%Y-%m-%dT%H:%M:%S%z", time.localtime(started)),
        "seconds": round(time.time() - started, 1),
        "smoke": opts.smoke,
        "warmup_s": opts.warmup_s,
        "duration_s": opts.duration_s,
        "connections": opts.connections,
        "gateway_cpus": sorted(opts.gateway_cpus or []),
        "load_cpus": sorted(opts.load_cpus or []),
        "gateways": {name: GATEWAYS[name].describe() for name in opts.gateways},
        "dedupe": {name: GATEWAYS[name].dedupe_note for name in opts.gateways},
    }
    write_report(runs, meta, opts.out)
    failed = [row for run in runs for row in run.rows if row.problem]
    print(f"[bench] wrote {opts.out / 'latest.md'}", flush=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
