"""The benchmark's results, as Markdown (`latest.md`) and JSON (`latest.json`)."""

from __future__ import annotations

import json
import os
import platform
import subprocess
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from bench.load import LoadResult
from bench.scenarios import REPO_ROOT

__all__ = ["Ceiling", "Row", "Run", "machine", "write_report"]

MIB = 1024 * 1024


@dataclass(frozen=True, slots=True)
class Ceiling:
    """Load straight at the subgraphs with what one client request makes a gateway send."""

    #: whose subgraph traffic was replayed
    gateway: str
    fetches_per_request: float
    #: Requests per second each subgraph port served under that load.
    subgraph_rps: Mapping[int, float]
    #: Client requests per second the subgraphs could serve if a gateway cost nothing.
    client_rps: float


@dataclass(frozen=True, slots=True)
class Row:
    """One gateway in one scenario and setting; `problem` is set when it was not measured."""

    gateway: str
    setting: str
    problem: str = ""
    throughput: float = 0.0
    p50_ms: float = 0.0
    p95_ms: float = 0.0
    p99_ms: float = 0.0
    requests: int = 0
    errors: int = 0
    graphql_errors: int = 0
    cpu_cores: float = 0.0
    cpu_ms_per_request: float = 0.0
    peak_rss_mib: float = 0.0
    load_avg_1m: float = 0.0

    @classmethod
    def from_load(
        cls, gateway: str, setting: str, load: LoadResult, cpu_s: float, rss: int, load_avg: float
    ) -> Row:
        return cls(
            gateway=gateway,
            setting=setting,
            throughput=load.throughput,
            p50_ms=load.p50_ms,
            p95_ms=load.p95_ms,
            p99_ms=load.p99_ms,
            requests=load.requests,
            errors=load.errors,
            graphql_errors=load.graphql_errors,
            cpu_cores=cpu_s / load.duration_s if load.duration_s else 0.0,
            cpu_ms_per_request=1000 * cpu_s / load.requests if load.requests else 0.0,
            peak_rss_mib=rss / MIB,
            load_avg_1m=load_avg,
        )

    def summary(self) -> str:
        if self.problem:
            return f"{self.gateway}: NOT MEASURED ({self.problem})"
        return (
            f"{self.gateway}: {self.throughput:.1f} req/s, p50 {self.p50_ms:.1f} ms, "
            f"p99 {self.p99_ms:.1f} ms, errors {self.errors}+{self.graphql_errors}, "
            f"cpu {self.cpu_cores:.2f}, rss {self.peak_rss_mib:.0f} MiB"
        )


@dataclass(slots=True)
class Run:
    """Every gateway's row for one scenario and one dedupe setting."""

    scenario: str
    title: str
    setting: str
    rows: list[Row]
    #: one per gateway: what the subgraphs could serve for that gateway's traffic
    ceilings: list[Ceiling]
    fetches: float = 0.0
    extra: dict[str, Any] = field(default_factory=dict)


def machine() -> dict[str, Any]:
    """Cores, CPU model, kernel and versions: what a reader needs to weigh the numbers."""
    model = ""
    with open("/proc/cpuinfo") as cpuinfo:
        for line in cpuinfo:
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    return {
        "cpu_model": model,
        "cores_online": os.cpu_count(),
        "cores_allowed": sorted(os.sched_getaffinity(0)),
        "kernel": platform.release(),
        "python": platform.python_version(),
        "node": _output(["node", "--version"]),
        "wrk": _wrk_version(),
        "commit": os.environ.get("BENCH_COMMIT")
        or _output(["git", "-C", str(REPO_ROOT), "rev-parse", "--short", "HEAD"])
        or "n/a",
    }


def _wrk_version() -> str:
    # `wrk --version` prints its banner and then exits 1.
    try:
        done = subprocess.run(["wrk", "--version"], capture_output=True, text=True, timeout=10)
    except OSError:
        return ""
    return done.stdout.split("Copyright")[0].strip()


def _output(command: Sequence[str]) -> str:
    try:
        done = subprocess.run(list(command), capture_output=True, text=True, timeout=10)
    except OSError:
        return ""
    return done.stdout.strip() if done.returncode == 0 else ""


def _ratio(value: float, base: float) -> str:
    return f"{value / base:.2f}x" if base else "n/a"


def _table(run: Run) -> list[str]:
    base = next((r for r in run.rows if r.gateway == "edgegraph" and not r.problem), None)
    lines = [
        "| gateway | req/s | p50 ms | p95 ms | p99 ms | errors | CPU cores | CPU ms/req "
        "| peak RSS MiB | req/s vs edgegraph | p99 vs edgegraph |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for row in run.rows:
        if row.problem:
            lines.append(f"| {row.gateway} | not measured: {row.problem} |" + " |" * 9)
            continue
        errors = str(row.errors)
        if row.graphql_errors:
            errors += f" (+{row.graphql_errors} GraphQL)"
        lines.append(
            f"| {row.gateway} | {row.throughput:.1f} | {row.p50_ms:.1f} | {row.p95_ms:.1f} "
            f"| {row.p99_ms:.1f} | {errors} | {row.cpu_cores:.2f} | {row.cpu_ms_per_request:.1f} "
            f"| {row.peak_rss_mib:.0f} "
            f"| {_ratio(row.throughput, base.throughput) if base else 'n/a'} "
            f"| {_ratio(row.p99_ms, base.p99_ms) if base else 'n/a'} |"
        )
    return lines


#: A gateway reaching this share of its own subgraph ceiling is bound by the subgraphs.
SUBGRAPH_BOUND_SHARE = 0.6


def _ceiling_text(ceilings: Sequence[Ceiling], reached: Mapping[str, float]) -> str:
    """`reached`: each gateway's throughput in the scenario with deduplication off."""
    parts = []
    bound = []
    for c in ceilings:
        ports = ", ".join(f":{port} {rps:.0f} req/s" for port, rps in c.subgraph_rps.items())
        part = (
            f"**{c.gateway}** {c.fetches_per_request:.1f} subgraph requests per client request "
            f"({ports}), at most **{c.client_rps:.0f} client req/s**"
        )
        throughput = reached.get(c.gateway)
        if throughput is not None and c.client_rps:
            share = throughput / c.client_rps
            part += f" (with dedupe off it reached {share:.0%} of that)"
            if share >= SUBGRAPH_BOUND_SHARE:
                bound.append(c.gateway)
        parts.append(part)
    if not bound:
        verdict = "Every gateway stays well below its ceiling: the gateway is the bottleneck"
    else:
        verdict = (
            f"**The subgraphs bound this scenario** ({', '.join(bound)} at "
            f"{SUBGRAPH_BOUND_SHARE:.0%} or more of their own ceilings): a gateway's "
            "throughput follows what its traffic costs the subgraphs, so compare CPU ms per "
            "request and latency more than throughput"
        )
    return (
        "Subgraph ceiling (measured once per scenario and gateway: what the gateway sends the "
        "subgraphs for one round of requests, dedupe off, replayed with wrk straight at the "
        f"subgraphs): {'; '.join(parts)}. {verdict}."
    )


def _markdown(runs: Sequence[Run], meta: Mapping[str, Any], host: Mapping[str, Any]) -> str:
    out = ["# edgegraph benchmark: latest run", ""]
    out.append(
        f"Started {meta['started']} on commit `{host['commit']}`, {meta['seconds']} s in all. "
        f"{host['cores_online']} cores ({host['cpu_model']}), Linux {host['kernel']}, "
        f"Python {host['python']}, Node {host['node']}."
    )
    if meta["gateway_cpus"]:
        out.append(
            f"Pinning (sched_setaffinity): the gateway on CPU {meta['gateway_cpus']}; subgraphs "
            f"and wrk on CPU {meta['load_cpus']}. Each gateway is one process."
        )
    else:
        out.append("No pinning. Each gateway is one process.")
    out.append(
        f"Load: wrk, 1 thread, {meta['connections']} connections, {meta['warmup_s']:g} s warm-up "
        f"then {meta['duration_s']:g} s measured, per gateway. Every gateway's answers were "
        "checked equal (JSON-normalized) before it was measured. CPU is the gateway process's "
        "user+system time over the measured window; peak RSS is its VmHWM."
    )
    averages = [row.load_avg_1m for run in runs for row in run.rows if not row.problem]
    cores = host["cores_online"] or 1
    if averages and max(averages) > cores:
        out.append(
            f"**Caution**: the 1-minute load average reached {max(averages):.1f} on {cores} cores "
            "during the run: other work shared the machine, so absolute figures are low and noisy."
        )
    out += ["", "Gateways:"]
    for name, text in meta["gateways"].items():
        out.append(f"- **{name}**: {text}; dedupe on = {meta['dedupe'][name]}.")
    reached_off: dict[str, dict[str, float]] = {}
    for run in runs:
        for row in run.rows:
            if run.setting == "off" and not row.problem:
                reached_off.setdefault(run.scenario, {})[row.gateway] = row.throughput
    for run in runs:
        out += ["", f"## {run.title}, dedupe {run.setting}", ""]
        if run.ceilings:
            out += [_ceiling_text(run.ceilings, reached_off.get(run.scenario, {})), ""]
        out += _table(run)
        loads = ", ".join(f"{r.gateway} {r.load_avg_1m:.2f}" for r in run.rows if not r.problem)
        out += ["", f"1-minute load average when each measurement began: {loads}."]
    out += ["", "Never compare rows across the two dedupe settings.", ""]
    return "\n".join(out)


def write_report(runs: Sequence[Run], meta: Mapping[str, Any], out: Path) -> None:
    """Write `latest.md` and `latest.json` under `out`."""
    host = machine()
    out.mkdir(parents=True, exist_ok=True)
    document = {
        "meta": dict(meta),
        "machine": host,
        "runs": [
            {
                "scenario": run.scenario,
                "title": run.title,
                "setting": run.setting,
                "ceilings": [asdict(ceiling) for ceiling in run.ceilings],
                "rows": [asdict(row) for row in run.rows],
            }
            for run in runs
        ],
    }
    (out / "latest.json").write_text(json.dumps(document, indent=2) + "\n")
    (out / "latest.md").write_text(_markdown(runs, meta, host))
