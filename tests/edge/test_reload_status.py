"""On-call after a hot reload: the status page, readiness and metrics follow the live supergraph,
and a reload obeys the start-up rule for registered operations (clients reload too)."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import io
import logging
import socket
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest
from graphql import build_schema, graphql
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from edge.config import GatewayConfig, PersistedConfig
from edge.logs import configure_logging
from edge.persisted import load_manifests
from edge.reload import ClientsSource, FileSource, SupergraphReloader, describe_source
from federation.supergraph.model import load_supergraph
from gateway import create_app
from tests.observability.test_status import ARTIFACTS, CHROMIUM, _chromium
from tests.resilience.support import SUPERGRAPH_SDL, serve

FAST = build_schema("type Query { fast: Fast! } type Fast { name: String! }")
SICK = build_schema("type Query { sick: Sick } type Sick { id: ID! count: Int! label: String! }")
ROOTS = {
    "fast": (FAST, {"fast": {"name": "quick"}}),
    "sick": (SICK, {"sick": {"id": "s1", "count": 3, "label": "ok"}}),
}

#: The second version adds a `promos` subgraph at a URL where nothing listens.
PROMOS_SDL = SUPERGRAPH_SDL.replace(
    '  SICK @join__graph(name: "sick", url: "http://sick.invalid/graphql")\n',
    '  SICK @join__graph(name: "sick", url: "http://sick.invalid/graphql")\n'
    '  PROMOS @join__graph(name: "promos", url: "http://promos.invalid/graphql")\n',
).replace(
    "  sick: Sick @join__field(graph: SICK)\n}",
    "  sick: Sick @join__field(graph: SICK)\n  promo: Promo @join__field(graph: PROMOS)\n}\n"
    "type Promo @join__type(graph: PROMOS) { code: String! }",
).replace("type Query @join__type(graph: FAST)", "type Query @join__type(graph: PROMOS) "
          "@join__type(graph: FAST)")  # fmt: skip
#: The third removes `Sick.label`, which the tv client's registered operation asks for.
NO_LABEL_SDL = SUPERGRAPH_SDL.replace("count: Int! label: String! }", "count: Int! }")
TV_HOME = "query TvHome { fast { name } sick { label } }\n"


def sha(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def subgraph_app(name: str) -> Starlette:
    """A real (tiny) GraphQL server for one subgraph: it answers health probes too."""
    schema, root = ROOTS[name]

    async def endpoint(request: Request) -> Response:
        body = orjson.loads(await request.body())
        result = await graphql(schema, body["query"], root_value=root)
        return Response(orjson.dumps(result.formatted), media_type="application/json")

    return Starlette(routes=[Route("/graphql", endpoint, methods=["POST"])])


@contextlib.contextmanager
def dead_url() -> Iterator[str]:
    """A loopback URL that refuses connections: the port is bound, nothing listens."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    try:
        yield f"http://127.0.0.1:{sock.getsockname()[1]}/graphql"
    finally:
        sock.close()


@dataclass
class Live:
    app: Starlette
    client: httpx.AsyncClient
    path: Path
    sdl: Callable[[str], str]

    def write(self, version: str) -> None:
        self.path.write_text(self.sdl(version))

    async def status(self) -> dict[str, Any]:
        response = await self.client.get("/status.json")
        assert response.status_code == 200
        body: dict[str, Any] = response.json()
        return body


async def until(check: Callable[[], Awaitable[bool]], what: str) -> None:
    """Wait for a background reload (polled every 20 ms) to have happened; fail after 10 s."""
    for _ in range(500):
        if await check():
            return
        await asyncio.sleep(0.02)
    raise AssertionError(f"never happened: {what}")


@contextlib.asynccontextmanager
async def live_gateway(
    tmp_path: Path, *, clients: dict[str, str] | None = None, fail_on_invalid: bool = True
) -> AsyncIterator[Live]:
    """A gateway over two loopback subgraphs, reloading its supergraph file every 20 ms."""
    clients_dir = None
    if clients is not None:
        clients_dir = tmp_path / "clients"
        for name, text in clients.items():
            (clients_dir / name).mkdir(parents=True)
            (clients_dir / name / "home.graphql").write_text(text)
    with dead_url() as dead:
        async with serve(subgraph_app("fast")) as fast, serve(subgraph_app("sick")) as sick:

            def sdl(version: str) -> str:
                return (
                    version.replace("http://fast.invalid/graphql", f"{fast}/graphql")
                    .replace("http://sick.invalid/graphql", f"{sick}/graphql")
                    .replace("http://promos.invalid/graphql", dead)
                )

            path = tmp_path / "supergraph.graphql"
            path.write_text(sdl(SUPERGRAPH_SDL))
            config = GatewayConfig(
                persisted=replace(
                    PersistedConfig(),
                    clients_dir=str(clients_dir) if clients_dir else None,
                    fail_on_invalid=fail_on_invalid,
                )
            )
            app = create_app(
                load_supergraph(sdl(SUPERGRAPH_SDL)),
                config=config,
                reload_source=FileSource(path, current=sdl(SUPERGRAPH_SDL)),
                reload_interval=0.02,
            )
            async with app.router.lifespan_context(app):
                transport = httpx.ASGITransport(app=app)
                async with httpx.AsyncClient(transport=transport, base_url="http://gw") as client:
                    yield Live(app, client, path, sdl)


async def test_status_follows_a_reload_that_adds_a_dead_subgraph(tmp_path: Path) -> None:
    async with live_gateway(tmp_path) as live:
        before = await live.status()
        assert [row["name"] for row in before["subgraphs"]] == ["fast", "sick"]
        assert before["status"] == "ok" and before["supergraph"]["reloads"] == 0
        live.write(PROMOS_SDL)

        async def reloaded() -> bool:
            served: str = (await live.status())["supergraph"]["hash"]
            return served == sha(live.sdl(PROMOS_SDL))

        await until(reloaded, "the promos supergraph is served")
        for _ in range(6):
            await live.client.post("/graphql", json={"query": "{ promo { code } }"})
        status = await live.status()
        page = (await live.client.get("/status")).text
        metrics = (await live.client.get("/metrics")).text
        health = (await live.client.get("/health")).json()
        ready = await live.client.get("/readiness")
    rows = {row["name"]: row for row in status["subgraphs"]}
    assert sorted(rows) == ["fast", "promos", "sick"] == health["subgraphs"]
    assert rows["promos"]["health"] == "down" and rows["fast"]["health"] == "up"
    assert status["status"] == "degraded" and status["down"] == ["promos"]
    assert "1 of 3 subgraphs down: promos" in status["reasons"]
    assert "gateway error rate 100% over the last minute" in status["reasons"]
    assert "All subgraphs up" not in page and "1 of 3 subgraphs down: promos" in page
    assert sha(live.sdl(PROMOS_SDL))[:12] in page
    supergraph = status["supergraph"]
    assert supergraph["source"] == str(live.path) and supergraph["reloads"] == 1
    assert supergraph["lastReloadAt"] is not None and supergraph["rejected"] == 0
    assert f'edgegraph_supergraph_info{{hash="{sha(live.sdl(PROMOS_SDL))}"' in metrics
    assert 'edgegraph_supergraph_reloads_total{kind="supergraph"} 1' in metrics
    assert "edgegraph_supergraph_reloads_rejected_total 0" in metrics
    assert "edgegraph_supergraph_last_reload_timestamp_seconds " in metrics
    assert ready.status_code == 200 and ready.json() == {"status": "UP"}  # two of three are up


@pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="chromium is not installed")
async def test_status_page_in_chromium_shows_a_reloaded_dead_subgraph_red(tmp_path: Path) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    screenshot = ARTIFACTS / "status-after-reload-promos-down.png"
    screenshot.unlink(missing_ok=True)
    async with live_gateway(tmp_path) as live:
        live.write(PROMOS_SDL)

        async def reloaded() -> bool:
            return bool((await live.status())["supergraph"]["reloads"])

        await until(reloaded, "the promos supergraph is served")
        async with serve(live.app) as base:
            dom = (await _chromium("--dump-dom", f"{base}/status")).decode()
            await _chromium(f"--screenshot={screenshot}", f"{base}/status")
    promos = dom[dom.index("<strong>promos</strong>"):]
    promos = promos[: promos.index("</tr>")]
    assert 'style="background:#cf222e">down</span>' in promos  # the red badge
    assert '<p class="banner bad">Degraded: 1 of 3 subgraphs down: promos' in dom
    assert screenshot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


async def test_a_reload_that_breaks_a_registered_operation_is_rejected(tmp_path: Path) -> None:
    async with live_gateway(tmp_path, clients={"tv": TV_HOME}) as live:
        (operation_id,) = load_manifests(tmp_path / "clients")["tv"].operations
        live.write(NO_LABEL_SDL)

        async def rejected() -> bool:
            return bool((await live.status())["supergraph"]["rejected"])

        await until(rejected, "the breaking supergraph is rejected")
        status = await live.status()
        answer = await live.client.post(
            "/graphql",
            json={"documentId": f"sha256:{operation_id}"},
            headers={"apollographql-client-name": "tv"},
        )
        metrics = (await live.client.get("/metrics")).text
    supergraph = status["supergraph"]
    assert supergraph["hash"] == sha(live.sdl(SUPERGRAPH_SDL)) and supergraph["reloads"] == 0
    (rejection,) = supergraph["rejections"]
    assert rejection["kind"] == "supergraph"
    assert "client 'tv'" in rejection["reason"] and "TvHome" in rejection["reason"]
    assert "label" in rejection["reason"]
    # the old supergraph keeps serving the registered operation
    assert answer.json() == {"data": {"fast": {"name": "quick"}, "sick": {"label": "ok"}}}
    assert "edgegraph_supergraph_reloads_rejected_total 1" in metrics


async def test_a_breaking_reload_may_be_allowed_and_drops_the_operation(tmp_path: Path) -> None:
    async with live_gateway(tmp_path, clients={"tv": TV_HOME}, fail_on_invalid=False) as live:
        (operation_id,) = load_manifests(tmp_path / "clients")["tv"].operations
        live.write(NO_LABEL_SDL)

        async def reloaded() -> bool:
            return bool((await live.status())["supergraph"]["reloads"])

        await until(reloaded, "the breaking supergraph is accepted")
        answer = await live.client.post(
            "/graphql",
            json={"documentId": f"sha256:{operation_id}"},
            headers={"apollographql-client-name": "tv"},
        )
    assert answer.json()["errors"][0]["extensions"]["code"] == "PERSISTED_QUERY_NOT_FOUND"


async def test_client_manifests_reload_without_a_restart(tmp_path: Path) -> None:
    async with live_gateway(tmp_path, clients={"tv": TV_HOME}) as live:
        new_file = tmp_path / "clients" / "tv" / "fast.graphql"
        new_file.write_text("query TvFast { fast { name } }\n")
        (new_id,) = (
            op.id for op in load_manifests(tmp_path / "clients")["tv"].operations.values()
            if op.name == "TvFast"
        )  # fmt: skip

        async def served() -> bool:
            response = await live.client.post(
                "/graphql",
                json={"documentId": new_id},
                headers={"apollographql-client-name": "tv"},
            )
            return bool(response.json().get("data"))

        await until(served, "the new operation is served")
        # an operation the served supergraph cannot answer is refused, naming it
        new_file.write_text("query TvFast { fast { name speed } }\n")

        async def rejected() -> bool:
            return bool((await live.status())["supergraph"]["rejected"])

        await until(rejected, "the invalid manifest is rejected")
        (rejection,) = (await live.status())["supergraph"]["rejections"]
        still = await live.client.post(
            "/graphql", json={"documentId": new_id}, headers={"apollographql-client-name": "tv"}
        )
    assert rejection["kind"] == "clients" and "TvFast" in rejection["reason"]
    assert still.json() == {"data": {"fast": {"name": "quick"}}}


async def test_readiness_is_down_without_a_supergraph_or_with_every_subgraph_down() -> None:
    with dead_url() as dead:
        sdl = SUPERGRAPH_SDL.replace("http://fast.invalid/graphql", dead).replace(
            "http://sick.invalid/graphql", dead
        )
        app = create_app(load_supergraph(sdl))
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://gw") as client:
            unloaded = await client.get("/readiness")  # the lifespan has not built the engine
            async with app.router.lifespan_context(app):
                down = await client.get("/readiness")
                apollo_style = await client.get("/health?ready")
                live = await client.get("/health")
                status = (await client.get("/status.json")).json()
    assert unloaded.status_code == 503
    assert unloaded.json() == {"status": "DOWN", "reason": "no supergraph loaded"}
    assert down.status_code == 503 == apollo_style.status_code
    assert down.json()["reason"] == "every subgraph is down: fast, sick"
    assert live.status_code == 200 and live.json()["status"] == "ok"
    assert status["status"] == "down"


def _json_lines(stream: io.StringIO) -> list[dict[str, Any]]:
    return [orjson.loads(line) for line in stream.getvalue().splitlines()]


async def test_both_reload_outcomes_are_json_log_lines() -> None:
    stream = io.StringIO()
    root = logging.getLogger("edgegraph")
    saved = (root.handlers[:], root.level)
    configure_logging(stream)
    versions = iter([SUPERGRAPH_SDL, "type Query {"])

    class TwoVersions:
        async def poll(self) -> str | None:
            return next(versions)

    try:
        reloader = SupergraphReloader(TwoVersions(), build=lambda sg: sg, publish=lambda sg: None)
        assert await reloader.check()
        assert not await reloader.check()
    finally:
        root.handlers[:], level = saved
        root.setLevel(level)
    published, rejected = _json_lines(stream)
    assert published["event"] == "supergraph_reloaded" and published["level"] == "info"
    assert published["hash"] == sha(SUPERGRAPH_SDL) and published["reloads"] == 1
    assert rejected["event"] == "reload_rejected" and rejected["level"] == "error"
    assert rejected["kind"] == "supergraph"
    assert rejected["reason"] == "TwoVersions:1:13: Syntax Error: Expected Name, found <EOF>."
    assert rejected["serving_hash"] == sha(SUPERGRAPH_SDL)


def test_sources_are_described_in_words_for_the_status_page(tmp_path: Path) -> None:
    class RegistryLike:
        url = "http://registry.internal:4400"

        async def poll(self) -> str | None:
            return None

    assert describe_source(FileSource(tmp_path / "s.graphql")) == str(tmp_path / "s.graphql")
    assert describe_source(RegistryLike()) == "RegistryLike http://registry.internal:4400"
    assert describe_source(None) == "given at start"


async def test_clients_source_loads_a_change_once_it_has_settled(tmp_path: Path) -> None:
    (tmp_path / "tv").mkdir()
    (tmp_path / "tv" / "home.graphql").write_text(TV_HOME)
    source = ClientsSource(tmp_path)
    assert await source.poll() is None  # what start-up loaded
    (tmp_path / "tv" / "fast.graphql").write_text("query TvFast { fast { name } }\n")
    assert await source.poll() is None  # changed since the last poll: maybe still being written
    manifests = await source.poll()
    assert manifests is not None
    assert sorted(op.name for op in manifests["tv"].operations.values()) == ["TvFast", "TvHome"]
    assert await source.poll() is None
