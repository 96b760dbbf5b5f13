"""Header propagation: hop-by-hop headers never reach a subgraph; the rest as configured."""

from __future__ import annotations

from types import MappingProxyType
from typing import Any

import httpx

from edge.config import GatewayConfig, HeadersConfig, SubgraphHeaders
from edge.headers import HeaderRules, PropagatingFetcher, forwardable_headers
from federation.subgraphs.fetcher import HttpFetcher, SubgraphRequest
from federation.supergraph.model import load_supergraph
from gateway import create_app
from tests.edge.live import DEMO_SUPERGRAPH


class RecordingFetcher:
    """Answers every fetch with empty data and keeps the headers each subgraph was sent."""

    def __init__(self) -> None:
        self.sent: dict[str, dict[str, str]] = {}

    async def fetch(self, request: SubgraphRequest) -> dict[str, Any]:
        self.sent[request.service_name] = dict(request.headers)
        return {"data": {"genres": []}}


def test_forwardable_headers_drops_hop_by_hop_and_connection_named() -> None:
    client = [
        ("Connection", "keep-alive, X-Secret-Hop"),
        ("connection", "x-other-hop"),
        ("Keep-Alive", "timeout=5"),
        ("TE", "trailers"),
        ("Trailer", "x-checksum"),
        ("Transfer-Encoding", "chunked"),
        ("Upgrade", "h2c"),
        ("Proxy-Authorization", "Basic Zm9v"),
        ("Proxy-Connection", "keep-alive"),
        ("X-Secret-Hop", "1"),
        ("X-Other-Hop", "2"),
        ("Host", "gateway"),
        ("Content-Length", "12"),
        ("Authorization", "Bearer t"),
        ("X-Member-Id", "m1"),
        ("Accept-Language", "fr"),
        ("Accept-Language", "en;q=0.5"),
    ]
    assert forwardable_headers(client) == {
        "authorization": "Bearer t",
        "x-member-id": "m1",
        "accept-language": "fr, en;q=0.5",
    }


def test_header_rules_per_subgraph_replace_the_list_and_set_fixed_values() -> None:
    config = HeadersConfig(
        propagate=("x-member-id",),
        subgraphs=MappingProxyType(
            {
                "members": SubgraphHeaders(
                    propagate=("authorization", "x-member-id"),
                    set=MappingProxyType({"x-gateway": "edgegraph", "connection": "close"}),
                )
            }
        ),
    )
    rules = HeaderRules(config)
    client = {"authorization": "Bearer t", "x-member-id": "m1", "x-debug": "1"}
    assert rules.for_subgraph("catalog", client) == {"x-member-id": "m1"}
    assert rules.for_subgraph("members", client) == {
        "authorization": "Bearer t",
        "x-member-id": "m1",
        "x-gateway": "edgegraph",
    }


async def test_headers_reach_subgraphs_as_configured_through_the_gateway() -> None:
    recorder = RecordingFetcher()
    supergraph = load_supergraph(DEMO_SUPERGRAPH.read_text())
    config = GatewayConfig(headers=HeadersConfig(propagate=("authorization", "x-member-id")))
    app = create_app(supergraph, fetcher=recorder, config=config)
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://gw") as client,
    ):
        response = await client.post(
            "/graphql",
            json={"query": "{ genres { name } }"},
            headers={
                "authorization": "Bearer t",
                "x-member-id": "m1",
                "x-debug": "1",
                "connection": "x-member-id",
                "keep-alive": "timeout=5",
                "te": "trailers",
                "upgrade": "websocket",
                "proxy-authorization": "Basic Zm9v",
            },
        )
        assert response.status_code == 200, response.text
    # x-member-id was named by Connection: it describes this hop only and is dropped too.
    assert recorder.sent == {"catalog": {"authorization": "Bearer t"}}


async def test_http_fetcher_sends_only_propagated_headers_on_the_wire() -> None:
    seen: list[httpx.Headers] = []

    def subgraph(request: httpx.Request) -> httpx.Response:
        seen.append(request.headers)
        return httpx.Response(200, json={"data": {"x": 1}})

    async with httpx.AsyncClient(transport=httpx.MockTransport(subgraph)) as client:
        inner = HttpFetcher({"a": "http://a/graphql"}, client=client)
        fetcher = PropagatingFetcher(inner, HeaderRules(HeadersConfig()))
        client_headers = forwardable_headers(
            [
                ("Authorization", "Bearer t"),
                ("TE", "trailers"),
                ("Upgrade", "h2c"),
                ("X-Debug", "1"),
            ]
        )
        await fetcher.fetch(SubgraphRequest("a", {"query": "{ x }"}, client_headers))
    (headers,) = seen
    assert headers["authorization"] == "Bearer t"
    assert headers["content-type"] == "application/json"
    for name in ("te", "upgrade", "x-debug", "keep-alive", "proxy-authorization"):
        assert name not in headers
