"""The benchmark's smoke run: a few seconds of load on edgegraph, checking the harness works."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from bench.load import WrkMissingError, ensure_wrk
from bench.scenarios import REPO_ROOT

SMOKE_TIMEOUT_S = 300


def test_bench_smoke_measures_edgegraph_and_writes_the_report(tmp_path: Path) -> None:
    try:
        ensure_wrk()
    except WrkMissingError as error:
        pytest.skip(f"the benchmark needs Debian's wrk: {error}")
    done = subprocess.run(
        [sys.executable, "-m", "bench.run", "--smoke", "--out", str(tmp_path)],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=SMOKE_TIMEOUT_S,
    )
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-3000:]
    report = json.loads((tmp_path / "latest.json").read_text())
    [run] = report["runs"]
    [row] = run["rows"]
    assert row["gateway"] == "edgegraph"
    assert row["problem"] == ""
    assert row["requests"] > 0
    assert row["errors"] == 0
    assert row["graphql_errors"] == 0
    assert row["cpu_cores"] > 0
    assert row["peak_rss_mib"] > 0
    assert "| edgegraph |" in (tmp_path / "latest.md").read_text()
