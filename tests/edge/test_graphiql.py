"""GraphiQL is served offline in dev mode and not at all in production."""

from __future__ import annotations

import json
import re
from pathlib import Path

from edge.config import GatewayConfig
from edge.graphiql import STATIC_DIR, VENDOR_FILES, assets_installed, graphiql_page
from tests.gateway.demo_support import demo_gateway

BROWSER_ACCEPT = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"


async def test_graphiql_page_loads_only_same_origin_assets() -> None:
    assert assets_installed(), "run `make` to install GraphiQL's assets"
    async with demo_gateway(dev=True) as demo:
        page = await demo.client.get("/graphql", headers={"accept": BROWSER_ACCEPT})
        assert page.status_code == 200
        assert page.headers["content-type"].startswith("text/html")
        assert "script-src 'self'" in page.headers["content-security-policy"]
        sources = re.findall(r'(?:src|href)="([^"]+)"', page.text)
        assert sources and all(s.startswith("/graphiql/") for s in sources)
        for source in sources:
            asset = await demo.client.get(source)
            assert asset.status_code == 200, source
            assert len(asset.content) > 100
        config = re.search(r'<script id="edgegraph-config"[^>]*>(.*?)</script>', page.text, re.S)
        assert config is not None
        assert json.loads(config.group(1))["includePlan"] is True


async def test_graphiql_query_still_runs_for_a_browser_get_with_a_query() -> None:
    async with demo_gateway(dev=True) as demo:
        response = await demo.client.get(
            "/graphql", params={"query": "{ __typename }"}, headers={"accept": BROWSER_ACCEPT}
        )
        assert response.json() == {"data": {"__typename": "Query"}}


async def test_graphiql_is_off_in_production() -> None:
    async with demo_gateway(dev=False, config=GatewayConfig()) as demo:
        page = await demo.client.get("/graphql", headers={"accept": BROWSER_ACCEPT})
        # no GraphiQL: a page that says so (tests/edge/test_home.py), not GraphiQL's
        assert page.status_code == 200 and "GraphiQL is off on this server" in page.text
        assert "graphiql.min.js" not in page.text
        asset = await demo.client.get("/graphiql/vendor/graphiql.min.js")
        assert asset.status_code == 404


def test_graphiql_without_installed_assets_says_how_to_install(tmp_path: Path) -> None:
    response = graphiql_page(endpoint="/graphql", include_plan=False, static_dir=tmp_path)
    assert response.status_code == 503
    assert b"make" in response.body
    assert set(VENDOR_FILES) <= {p.name for p in (STATIC_DIR / "vendor").iterdir()}
