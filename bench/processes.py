"""Starting, watching and stopping the benchmark's processes, all on 127.0.0.1.

CPU time and memory come from /proc (no psutil): `utime + stime` from /proc/PID/stat, and the
resident-set high-water mark `VmHWM` from /proc/PID/status.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

__all__ = [
    "HOST",
    "Service",
    "ServiceError",
    "clean_env",
    "cpu_seconds",
    "ensure_port_free",
    "peak_rss_bytes",
    "running",
]

HOST = "127.0.0.1"
_TICKS = os.sysconf("SC_CLK_TCK")
# Variables that would switch a peer's telemetry, registry or cloud features on, or change how
# it listens (Hive's CLI reads HOST, PORT and FORK from the environment).
_SCRUBBED_PREFIXES = ("APOLLO_", "HIVE_", "OTEL_", "OPENTELEMETRY", "GRAPHQL_HIVE")
_SCRUBBED = frozenset({"HOST", "PORT", "FORK", "NODE_ENV", "NODE_OPTIONS", "JIT", "DEBUG"})


class ServiceError(RuntimeError):
    """A benchmark process did not start or died."""


def clean_env(extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """The parent environment without telemetry keys or listen overrides, plus `extra`."""
    env = {
        name: value
        for name, value in os.environ.items()
        if name not in _SCRUBBED and not name.startswith(_SCRUBBED_PREFIXES)
    }
    env["APOLLO_TELEMETRY_DISABLED"] = "true"
    env["NO_PROXY"] = env["no_proxy"] = f"{HOST},localhost"
    env.update(extra or {})
    return env


@dataclass
class Service:
    """One running process: its name, its port and its log file."""

    name: str
    process: subprocess.Popen[bytes]
    port: int
    log: Path

    @property
    def pid(self) -> int:
        return self.process.pid

    def check_alive(self) -> None:
        code = self.process.poll()
        if code is not None:
            tail = self.log.read_text(errors="replace")[-2000:]
            raise ServiceError(f"{self.name} exited with {code}; log tail:\n{tail}")


def ensure_port_free(port: int) -> None:
    """Raise if something already listens on 127.0.0.1:port."""
    with socket.socket() as sock:
        sock.settimeout(0.2)
        if sock.connect_ex((HOST, port)) == 0:
            raise ServiceError(f"port {port} on {HOST} is already in use")


def _wait_listening(service: Service, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        service.check_alive()
        with socket.socket() as sock:
            sock.settimeout(0.2)
            if sock.connect_ex((HOST, service.port)) == 0:
                return
        time.sleep(0.1)
    raise ServiceError(f"{service.name} did not listen on {HOST}:{service.port} in {timeout:g}s")


@contextlib.contextmanager
def running(
    name: str,
    command: Sequence[str],
    *,
    port: int,
    log_dir: Path,
    cwd: Path | None = None,
    env: Mapping[str, str] | None = None,
    cpus: frozenset[int] | None = None,
    start_timeout: float = 60.0,
) -> Iterator[Service]:
    """Run `command` in its own process group until the block ends; wait until `port` listens."""
    ensure_port_free(port)
    log_dir.mkdir(parents=True, exist_ok=True)
    log = log_dir / f"{name}.log"
    with log.open("wb") as sink:
        process = subprocess.Popen(
            list(command),
            cwd=cwd,
            env=dict(env) if env is not None else clean_env(),
            stdin=subprocess.DEVNULL,
            stdout=sink,
            stderr=subprocess.STDOUT,
            process_group=0,
            # Pinned before exec, so every thread the program starts inherits the mask.
            preexec_fn=(lambda: os.sched_setaffinity(0, cpus)) if cpus else None,
        )
    service = Service(name, process, port, log)
    try:
        _wait_listening(service, start_timeout)
        yield service
    finally:
        _stop(process)


def _stop(process: subprocess.Popen[bytes], timeout: float = 10.0) -> None:
    if process.poll() is not None:
        return
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout)


def cpu_seconds(pid: int) -> float:
    """User plus system CPU time of `pid` so far, in seconds (all its threads)."""
    stat = Path(f"/proc/{pid}/stat").read_text()
    # The command name may hold spaces; the fields after its closing parenthesis do not.
    fields = stat[stat.rindex(")") + 2 :].split()
    utime, stime = int(fields[11]), int(fields[12])
    return (utime + stime) / _TICKS


def peak_rss_bytes(pid: int) -> int:
    """The process's resident-set high-water mark (VmHWM) in bytes."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) * 1024
    raise ServiceError(f"no VmHWM for pid {pid}")
