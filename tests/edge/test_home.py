"""A person opening the gateway in a browser learns what it is; GraphQL clients keep the spec."""

from __future__ import annotations

import httpx

from federation.supergraph.model import load_supergraph
from gateway import create_app
from tests.resilience.support import SUPERGRAPH_SDL

BROWSER = {"accept": "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"}


async def _get(path: str, headers: dict[str, str], *, dev: bool = False) -> httpx.Response:
    app = create_app(load_supergraph(SUPERGRAPH_SDL), dev=dev)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://gw") as client:
            return await client.get(path, headers=headers)


async def test_home_in_production_says_what_the_server_is() -> None:
    page = await _get("/", BROWSER)
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert "This is edgegraph, a federated GraphQL gateway." in page.text
    assert "GraphiQL is off on this server" in page.text and 'href="/status"' in page.text
    text = await _get("/", {"accept": "*/*"})
    assert text.headers["content-type"].startswith("text/plain")
    assert "POST /graphql" in text.text


async def test_graphql_in_a_browser_in_production_is_a_page_not_a_bare_400() -> None:
    page = await _get("/graphql", BROWSER)
    assert page.status_code == 200 and "GraphiQL is off on this server" in page.text
    # a GraphQL client without a query still gets the spec's 400 with a GraphQL error
    client = await _get("/graphql", {"accept": "application/json"})
    assert client.status_code == 400
    assert client.json()["errors"][0]["extensions"]["code"] == "BAD_REQUEST"


async def test_home_in_dev_mode_points_at_graphiql() -> None:
    page = await _get("/", BROWSER, dev=True)
    assert "GraphiQL: open /graphql in a browser." in page.text
