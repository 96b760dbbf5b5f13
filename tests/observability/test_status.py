"""`/status` for on-call: health, breakers and traffic per subgraph; loads in headless Chromium."""

from __future__ import annotations

import asyncio
import contextlib
import re
import shutil
import tempfile
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import uvicorn
from starlette.applications import Starlette

from tests.observability.support import ROOT, observed_demo

ARTIFACTS = ROOT / "artifacts"
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMIUM_FLAGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
    "--hide-scrollbars", "--window-size=1280,720",
]  # fmt: skip


async def test_status_json_shows_a_down_subgraph() -> None:
    # Ten queries: enough failed ratings requests to open its breaker (ten failures in its
    # window) even when entity batching sends one ratings request per query.
    async with observed_demo(down="ratings") as demo:
        for _ in range(10):
            await demo.query()
        status = (await demo.client.get("/status.json")).json()
    rows = {row["name"]: row for row in status["subgraphs"]}
    assert status["status"] == "degraded" and status["down"] == ["ratings"]
    assert rows["ratings"]["health"] == "down"
    # the probe goes through the fetcher: an open breaker answers for the refused connections
    assert rows["ratings"]["healthDetail"] in ("SUBGRAPH_UNAVAILABLE", "CIRCUIT_OPEN")
    assert all(rows[name]["health"] == "up" for name in ("catalog", "artwork", "members"))
    assert rows["ratings"]["breaker"] in ("open", "half_open")
    assert rows["catalog"]["breaker"] == "closed"
    assert rows["ratings"]["lastMinute"]["errorRate"] == 1.0
    assert 10 <= rows["catalog"]["lastMinute"]["requests"] <= 30  # one to three per query
    assert rows["catalog"]["lastMinute"]["p95Ms"] > 0
    assert len(rows["catalog"]["series"]) == 30
    assert status["gateway"]["lastMinute"]["requests"] == 10


async def test_status_page_has_no_external_asset() -> None:
    async with observed_demo() as demo:
        await demo.query()
        response = await demo.client.get("/status")
    html = response.text
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/html")
    assert html.count("<svg") == 5 * 3  # gateway and four subgraphs: rate, errors, p95
    assert "<script" not in html and "<link" not in html and "@import" not in html
    assert not re.search(r"""(src|href)=["']?(https?:)?//""", html)
    assert "All subgraphs up" in html


@contextlib.asynccontextmanager
async def _served(app: Starlette) -> AsyncIterator[str]:
    """`app` on an ephemeral loopback port (its lifespan already entered by the caller)."""
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=0, lifespan="off", log_level="warning")
    )
    task = asyncio.create_task(server.serve())
    try:
        while not server.started:
            if task.done():
                task.result()
            await asyncio.sleep(0.01)
        port = server.servers[0].sockets[0].getsockname()[1]
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await task


async def _chromium(*args: str) -> bytes:
    with tempfile.TemporaryDirectory(prefix="edgegraph-chromium-") as profile:
        process = await asyncio.create_subprocess_exec(
            CHROMIUM, *CHROMIUM_FLAGS, f"--user-data-dir={profile}", *args,
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.DEVNULL,
        )  # fmt: skip
        try:
            stdout, _ = await asyncio.wait_for(process.communicate(), timeout=30)
        except TimeoutError:
            process.kill()
            await process.wait()
            raise
    assert process.returncode == 0, f"chromium exited with {process.returncode}"
    return stdout


@pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="chromium is not installed")
async def test_status_page_loads_in_headless_chromium_with_a_subgraph_down() -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    screenshot = ARTIFACTS / "status-ratings-down.png"
    screenshot.unlink(missing_ok=True)
    async with observed_demo(down="ratings") as demo:
        for _ in range(3):
            await demo.query()
        async with _served(demo.app) as base:
            dom = (await _chromium("--dump-dom", f"{base}/status")).decode()
            await _chromium(f"--screenshot={screenshot}", f"{base}/status")
    assert "1 of 4 subgraphs down: ratings" in dom
    assert dom.count("<svg") == 15
    assert screenshot.stat().st_size > 10_000
    assert screenshot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
