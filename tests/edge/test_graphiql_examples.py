"""GraphiQL opens with the device teams' operations as example tabs, and a place for a token."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest

from edge.config import GatewayConfig, PersistedConfig
from edge.graphiql import assets_installed, example_tabs
from federation.supergraph.model import load_supergraph
from gateway import DEMO_CLIENTS, create_app
from tests.edge.live import DEMO_SUPERGRAPH

BROWSER = {"accept": "text/html"}


def test_example_tabs_one_per_operation_file_with_its_client() -> None:
    tabs = {tab["query"].splitlines()[0]: tab for tab in example_tabs(DEMO_CLIENTS)}
    tv = tabs["# tv/home.graphql, an operation of the tv client"]
    assert (DEMO_CLIENTS / "tv" / "home.graphql").read_text() in tv["query"]
    assert orjson.loads(tv["headers"]) == {"apollographql-client-name": "tv", "authorization": ""}
    assert len(tabs) == len(list(DEMO_CLIENTS.glob("*/*.graphql")))
    assert example_tabs(None) == [] and example_tabs(Path("/nonexistent")) == []


@pytest.mark.skipif(not assets_installed(), reason="GraphiQL's assets are not installed")
async def test_graphiql_page_carries_the_tabs() -> None:
    config = GatewayConfig(persisted=PersistedConfig(clients_dir=str(DEMO_CLIENTS))).with_dev()
    app = create_app(load_supergraph(DEMO_SUPERGRAPH.read_text()), config=config)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://gw") as client:
            page = (await client.get("/graphql", headers=BROWSER)).text
    found = re.search(r'<script id="edgegraph-config" type="application/json">(.*?)</script>', page)
    assert found is not None
    boot: dict[str, Any] = orjson.loads(found.group(1))
    expected = [tab["query"] for tab in example_tabs(DEMO_CLIENTS)]
    assert [tab["query"] for tab in boot["tabs"]] == expected
