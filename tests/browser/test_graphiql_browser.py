"""GraphiQL in a real headless Chromium (Debian's), served by the gateway over loopback."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest

from tests.edge.live import ensure_web_installed, run_node, serve_on_loopback
from tests.gateway.demo_support import demo_gateway, sign_in

CHROMIUM = Path("/usr/bin/chromium")
ARTIFACTS = Path(__file__).resolve().parents[2] / "artifacts"
BROWSER_TIMEOUT_S = 180.0


def _require_chromium() -> None:
    if CHROMIUM.exists():
        return
    # CI installs chromium in .ci/run; there a missing browser is a failure, not a skip.
    if os.environ.get("CI"):
        pytest.fail("/usr/bin/chromium is missing: .ci/run installs it with apt-get")
    pytest.skip("Debian's chromium is not installed (apt-get install chromium)")


async def test_graphiql_runs_a_typed_query_in_headless_chromium(tmp_path: Path) -> None:
    _require_chromium()
    ensure_web_installed()
    ARTIFACTS.mkdir(exist_ok=True)
    screenshot = ARTIFACTS / "graphiql.png"
    screenshot.unlink(missing_ok=True)
    profile = tmp_path / "chromium-profile"  # a fresh user-data-dir for every run
    async with demo_gateway(dev=True) as demo, serve_on_loopback(demo.app) as url:
        output = await run_node(
            # A developer pastes their token into the headers editor (no closing brace: the
            # editor adds it).
            [
                "browser.mjs",
                f"{url}/graphql",
                str(screenshot),
                str(profile),
                '{"authorization": ' + json.dumps(sign_in("m1")["authorization"]),
            ],
            timeout=BROWSER_TIMEOUT_S,
        )
    report = json.loads(output)
    assert "error" not in report, report.get("error")
    assert report["status"] == 200 and report["loaded"]
    assert report["offsite"] == [], "GraphiQL must work with no network"
    assert report["consoleErrors"] == []
    assert report["typed"] == "{ me { name } genres(first: 2) { name } }"
    # The result pane shows the data; `me` resolved, so the headers editor's token arrived.
    data = report["result"]["data"]
    assert len(data["genres"]) == 2 and all(g["name"] for g in data["genres"])
    assert data["me"] is not None and data["me"]["name"]
    # The plan moved to its panel; the result pane shows what the client itself would get.
    assert "queryPlan" not in report["result"].get("extensions", {})
    assert "Query" in report["docs"]
    assert report["plan"].startswith("QueryPlan {") and "Fetch(service:" in report["plan"]
    assert screenshot.stat().st_size > 10_000
    shutil.rmtree(profile, ignore_errors=True)
