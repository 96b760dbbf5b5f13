"""Installing the pinned npm packages (`bench/package-lock.json`) with `npm ci`, once per lock."""

from __future__ import annotations

import hashlib
import shutil
import subprocess

from bench.processes import clean_env
from bench.scenarios import BENCH_DIR

__all__ = ["NpmError", "ensure_node_modules"]

_STAMP = BENCH_DIR / "node_modules" / ".edgegraph-bench-installed"
NPM_CI_TIMEOUT_S = 900.0


class NpmError(RuntimeError):
    """node/npm are missing or `npm ci` failed."""


def _lock_digest() -> str:
    digest = hashlib.sha256()
    for name in ("package.json", "package-lock.json"):
        digest.update((BENCH_DIR / name).read_bytes())
    return digest.hexdigest()


def ensure_node_modules() -> None:
    """Run `npm ci` in bench/ unless node_modules already matches the lock file."""
    wanted = _lock_digest()
    if _STAMP.exists() and _STAMP.read_text().strip() == wanted:
        return
    npm = shutil.which("npm")
    if npm is None or shutil.which("node") is None:
        raise NpmError("node and npm are needed for the peer gateways and scenario 2's subgraphs")
    command = [npm, "ci", "--no-audit", "--no-fund", "--ignore-scripts", "--loglevel=error"]
    done = subprocess.run(
        command,
        cwd=BENCH_DIR,
        env=clean_env(),
        capture_output=True,
        text=True,
        timeout=NPM_CI_TIMEOUT_S,
    )
    if done.returncode != 0:
        raise NpmError(f"npm ci failed in {BENCH_DIR}:\n{done.stderr[-2000:]}")
    _STAMP.write_text(wanted + "\n")
