"""Load from Debian's `wrk`: fixed connections, bounded time, POST bodies from a Lua script."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from bench.processes import HOST

__all__ = ["LoadResult", "WrkMissingError", "ensure_wrk", "request_files", "run_wrk"]

LUA_SCRIPT = Path(__file__).parent / "wrk" / "post.lua"


class WrkMissingError(RuntimeError):
    """wrk is not installed and could not be installed."""


@dataclass(frozen=True, slots=True)
class LoadResult:
    """What wrk measured over one bounded run."""

    requests: int
    duration_s: float
    errors: int
    graphql_errors: int
    p50_ms: float
    p95_ms: float
    p99_ms: float
    mean_ms: float

    @property
    def throughput(self) -> float:
        return self.requests / self.duration_s if self.duration_s else 0.0


def ensure_wrk(*, install: bool = True) -> str:
    """The path of `wrk`; installs Debian's package first when missing and running as root."""
    found = shutil.which("wrk")
    if found:
        return found
    if not install or os.geteuid() != 0 or shutil.which("apt-get") is None:
        raise WrkMissingError("wrk is not installed (apt-get install wrk needs root and apt)")
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    for command in (["apt-get", "update", "-qq"], ["apt-get", "install", "-y", "-qq", "wrk"]):
        done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=600)
        if done.returncode != 0:
            raise WrkMissingError(f"{' '.join(command)} failed: {done.stderr[-500:]}")
    found = shutil.which("wrk")
    if not found:
        raise WrkMissingError("apt-get installed wrk but it is not on PATH")
    return found


@contextmanager
def request_files(requests: Sequence[tuple[str, bytes]]) -> Iterator[list[str]]:
    """Write (path, body) pairs to files and yield wrk script arguments `PATH@FILE`."""
    with tempfile.TemporaryDirectory(prefix="edgegraph-bench-") as folder:
        args = []
        for index, (path, body) in enumerate(requests):
            file = Path(folder) / f"body-{index}.json"
            file.write_bytes(body)
            args.append(f"{path}@{file}")
        yield args


def run_wrk(
    *,
    port: int,
    script_args: Sequence[str],
    seconds: float,
    connections: int,
    headers: Mapping[str, str] | None = None,
    cpus: frozenset[int] | None = None,
) -> LoadResult:
    """Run wrk (one thread) against 127.0.0.1:port for `seconds` and return its summary."""
    command = [ensure_wrk(), "-t1", f"-c{connections}", f"-d{max(1, round(seconds))}s"]
    command += ["--timeout", "10s", "-s", str(LUA_SCRIPT)]
    for name, value in (headers or {}).items():
        command += ["-H", f"{name}: {value}"]
    command += [f"http://{HOST}:{port}", "--", *script_args]
    done = subprocess.run(
        command,
        capture_output=True,
        text=True,
        timeout=seconds + 60,
        preexec_fn=(lambda: os.sched_setaffinity(0, cpus)) if cpus else None,
    )
    if done.returncode != 0:
        raise RuntimeError(f"wrk failed ({done.returncode}): {done.stderr[-1000:]}")
    summary = _summary_line(done.stdout)
    errors = sum(
        int(summary[key])
        for key in ("connect_errors", "read_errors", "write_errors", "status_errors", "timeouts")
    )
    return LoadResult(
        requests=int(summary["requests"]),
        duration_s=summary["duration_us"] / 1e6,
        errors=errors,
        graphql_errors=int(summary["graphql_errors"]),
        p50_ms=summary["p50_us"] / 1000,
        p95_ms=summary["p95_us"] / 1000,
        p99_ms=summary["p99_us"] / 1000,
        mean_ms=summary["mean_us"] / 1000,
    )


def _summary_line(stdout: str) -> dict[str, float]:
    for line in reversed(stdout.splitlines()):
        if line.startswith("{"):
            parsed: dict[str, float] = json.loads(line)
            return parsed
    raise RuntimeError(f"wrk printed no summary:\n{stdout[-1000:]}")
