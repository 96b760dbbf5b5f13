"""The registry's web page: rendered with what the registry holds, escaped, and shown in a real
headless Chromium (Debian's) with a screenshot, as the GraphiQL test does."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest

from tests.edge.live import ensure_web_installed, run_node, serve_on_loopback
from tests.registry import graphs
from tests.registry.conftest import Registry

CHROMIUM = Path("/usr/bin/chromium")
ARTIFACTS = Path(__file__).resolve().parents[2] / "artifacts"
SCRIPT = Path(__file__).with_name("page.mjs")
BROWSER_TIMEOUT_S = 180.0


async def _fill(registry: Registry) -> None:
    """Two subgraphs, two catalog versions, a TV operation and a failed check."""
    auth = {"authorization": f"Bearer {registry.admin}"}
    for name, sdl in (
        ("catalog", graphs.CATALOG),
        ("ratings", graphs.RATINGS),
        ("catalog", graphs.CATALOG_WITH_YEAR),
    ):
        response = await registry.http.post(
            f"/subgraphs/{name}/publish",
            json={"url": f"http://{name}.local/graphql", "sdl": sdl},
            headers=auth,
        )
        assert response.status_code == 200, response.text
    response = await registry.http.post(
        "/operations/tv",
        json={
            "version": "4.2",
            "operations": [
                {"name": "TvHome", "body": graphs.TV_HOME},
                {"name": "<b>Bold</b>", "body": "{ titles { id } }"},
            ],
        },
        headers=auth,
    )
    assert response.status_code == 200, response.text
    check = await registry.http.post(
        "/subgraphs/catalog/check", json={"sdl": graphs.CATALOG_WITHOUT_NAME}, headers=auth
    )
    assert check.json()["ok"] is False
    usage = {"clients": {"web": {"Title.rating": 120, "Query.titles": 120}}}
    assert (await registry.http.post("/usage", json=usage, headers=auth)).status_code == 200


async def test_page_shows_subgraphs_schema_checks_and_operations(registry: Registry) -> None:
    await _fill(registry)
    response = await registry.http.get("/")
    assert response.status_code == 200
    assert response.headers["content-security-policy"].startswith("default-src 'none'")
    page = response.text
    assert "catalog" in page and "http://ratings.local/graphql" in page
    assert "year: Int" in page  # the API schema
    assert "catalog@2, ratings@1" in page  # the supergraph history
    assert "failed" in page and "tv / TvHome" in page  # the failed check, naming the operation
    assert "&lt;b&gt;Bold&lt;/b&gt;" in page and "<b>Bold" not in page
    assert "<td>Title.rating</td><td>web</td><td>120</td>" in page


def _require_chromium() -> None:
    if CHROMIUM.exists():
        return
    if os.environ.get("CI"):
        pytest.fail("/usr/bin/chromium is missing: .ci/run installs it with apt-get")
    pytest.skip("Debian's chromium is not installed (apt-get install chromium)")


@pytest.mark.parametrize("database", ["sqlite"], indirect=True)
async def test_page_in_headless_chromium(registry: Registry, tmp_path: Path) -> None:
    _require_chromium()
    ensure_web_installed()
    await _fill(registry)
    ARTIFACTS.mkdir(exist_ok=True)
    screenshot = ARTIFACTS / "registry.png"
    screenshot.unlink(missing_ok=True)
    profile = tmp_path / "chromium-profile"
    async with serve_on_loopback(registry.app) as url:
        output = await run_node(
            [str(SCRIPT), f"{url}/", str(screenshot), str(profile)], timeout=BROWSER_TIMEOUT_S
        )
    report = json.loads(output)
    assert "error" not in report, report.get("error")
    assert report["status"] == 200 and report["title"] == "edgegraph schema registry"
    assert report["offsite"] == [] and report["consoleErrors"] == []
    sections = report["sections"]
    assert "catalog" in sections["subgraphs"] and "v2" in sections["subgraphs"]
    assert "type Title" in sections["api-schema"]
    assert "catalog@2, ratings@1" in sections["supergraphs"]
    assert "failed" in sections["checks"] and "tv / TvHome" in sections["checks"]
    assert "<b>Bold</b>" in sections["operations"]  # shown as text, not markup
    assert "Title.rating\tweb\t120" in sections["usage"]
    assert screenshot.stat().st_size > 10_000
    shutil.rmtree(profile, ignore_errors=True)
