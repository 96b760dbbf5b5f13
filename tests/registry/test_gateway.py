"""A gateway fed by the registry: it serves the registry's supergraph, hot-reloads a publish,
and serves on through a registry outage and across a restart from the last good supergraph."""

from __future__ import annotations

import asyncio
import dataclasses
import json
import subprocess
import sys
from contextlib import AsyncExitStack
from pathlib import Path
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette

from edge.config import GatewayConfig
from edge.persisted import build_manifest
from gateway import create_app
from registry.source import RegistrySource, RegistryUnavailable, load_from_registry
from tests.edge.live import serve_on_loopback
from tests.registry import graphs
from tests.registry.conftest import Registry
from tests.registry.subgraphs import catalog_app


async def _publish(registry: Registry, sdl: str, url: str) -> None:
    response = await registry.http.post(
        "/subgraphs/catalog/publish",
        json={"url": url, "sdl": sdl},
        headers={"authorization": f"Bearer {registry.admin}"},
    )
    assert response.status_code == 200, response.text


async def _query(gateway: httpx.AsyncClient, query: str) -> dict[str, Any]:
    response = await gateway.post("/graphql", json={"query": query})
    body: dict[str, Any] = response.json()
    return body


# The gateway's side and the scaffold do not depend on the database: SQLite is enough.
@pytest.mark.parametrize("database", ["sqlite"], indirect=True)
async def test_registry_source_polls_with_an_etag_and_keeps_the_last_good_supergraph(
    registry: Registry, tmp_path: Path
) -> None:
    cache = tmp_path / "cache" / "supergraph.graphql"
    transport = httpx.ASGITransport(app=registry.app)
    with pytest.raises(RegistryUnavailable, match="answered 404"):
        await load_from_registry("http://registry", cache=cache, transport=transport)
    await _publish(registry, graphs.CATALOG, "http://catalog.local/graphql")
    fed = await load_from_registry("http://registry", cache=cache, transport=transport)
    supergraph, source = fed.supergraph, fed.source
    assert cache.read_text() == supergraph.sdl
    assert await source.poll() is None  # a 304
    await _publish(registry, graphs.CATALOG_WITH_YEAR, "http://catalog.local/graphql")
    new = await source.poll()
    assert new is not None and "year: Int" in new and cache.read_text() == new
    assert await source.poll() is None
    # The registry is gone: polling fails (the reloader keeps serving), and a restart serves
    # the last good supergraph from disk.
    down = RegistrySource("http://127.0.0.1:9", cache=cache, current=new)
    with pytest.raises(RegistryUnavailable, match="cannot reach the registry"):
        await down.poll()
    restarted = (await load_from_registry("http://127.0.0.1:9", cache=cache)).supergraph
    assert restarted.sdl == new
    with pytest.raises(RegistryUnavailable, match="no last good supergraph on disk"):
        await load_from_registry("http://127.0.0.1:9", cache=tmp_path / "none.graphql")


async def test_gateway_fed_by_the_registry_hot_reloads_and_survives_an_outage(
    registry: Registry, tmp_path: Path
) -> None:
    cache = tmp_path / "supergraph.graphql"
    async with serve_on_loopback(catalog_app()) as catalog_url, AsyncExitStack() as outage:
        registry_url = await outage.enter_async_context(serve_on_loopback(registry.app))
        url = f"{catalog_url}/graphql"
        await _publish(registry, graphs.CATALOG, url)
        fed = await load_from_registry(registry_url, cache=cache)
        app = create_app(fed.supergraph, reload_source=fed.source, reload_interval=0.05)
        async with app.router.lifespan_context(app), _client(app) as gateway:
            answer = await _query(gateway, "{ titles { name } }")
            assert answer == {"data": {"titles": [{"name": "Heat"}]}}
            assert "errors" in await _query(gateway, "{ titles { year } }")
            # Requests keep flowing across the reload, and none of them fails.
            served: list[dict[str, Any]] = []
            done = asyncio.Event()

            async def traffic() -> None:
                while not done.is_set():
                    served.append(await _query(gateway, "{ titles { name } }"))

            running = asyncio.create_task(traffic())
            await _publish(registry, graphs.CATALOG_WITH_YEAR, url)
            for _ in range(200):  # the gateway polls every 50 ms: well within 10 s
                answer = await _query(gateway, "{ titles { year } }")
                if "errors" not in answer:
                    break
                await asyncio.sleep(0.05)
            done.set()
            await running
            assert answer == {"data": {"titles": [{"year": 1995}]}}
            assert served and all(r == {"data": {"titles": [{"name": "Heat"}]}} for r in served)
            # The registry goes down: the gateway's polls fail, and it answers on.
            await outage.aclose()
            with pytest.raises(RegistryUnavailable):
                await fed.source.poll()
            await asyncio.sleep(0.2)  # a few failed polls of the reloader
            assert await _query(gateway, "{ titles { year } }") == answer
        # A gateway restarted during the outage starts from the last good supergraph on disk.
        restarted = (await load_from_registry(registry_url, cache=cache)).supergraph
        app = create_app(restarted)
        async with app.router.lifespan_context(app), _client(app) as gateway:
            assert await _query(gateway, "{ titles { name year } }") == {
                "data": {"titles": [{"name": "Heat", "year": 1995}]}
            }


def _client(app: Starlette) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://gateway")


def test_serve_loads_none_of_the_registry_database_code() -> None:
    program = "import json, sys\nimport gateway\nprint(json.dumps(sorted(sys.modules)))\n"
    done = subprocess.run(
        [sys.executable, "-c", program], capture_output=True, text=True, check=True
    )
    loaded = json.loads(done.stdout.strip().splitlines()[-1])
    assert "registry.source" in loaded
    database = {"sqlalchemy", "alembic", "aiosqlite", "asyncpg", "registry.store"}
    assert [m for m in loaded if m.split(".")[0] in database or m in database] == []


# The gateway's side and the scaffold do not depend on the database: SQLite is enough.
@pytest.mark.parametrize("database", ["sqlite"], indirect=True)
async def test_registered_operations_are_the_safelist_of_a_gateway_fed_by_the_registry(
    registry: Registry, tmp_path: Path
) -> None:
    cache = tmp_path / "supergraph.graphql"
    tv = await registry.token("tv-team", clients=["tv"])
    async with serve_on_loopback(catalog_app()) as catalog_url:
        await _publish(registry, graphs.CATALOG, f"{catalog_url}/graphql")
        home = "query TvHome { titles { ...Card } } fragment Card on Title { id name }"
        response = await registry.http.post(
            "/operations/tv",
            json={"version": "4.2", "operations": [{"name": "TvHome", "body": home}]},
            headers={"authorization": f"Bearer {tv}"},
        )
        assert response.status_code == 200, response.text
        fed = await load_from_registry(
            "http://registry", cache=cache, transport=httpx.ASGITransport(app=registry.app)
        )
        assert fed.clients_dir is not None
        # The ids are those `edgegraph manifest` gives a device build from the same file.
        (tmp_path / "tv").mkdir()
        (tmp_path / "tv" / "home.graphql").write_text(home)
        [expected] = build_manifest("tv", [tmp_path / "tv" / "home.graphql"]).operations
        config = GatewayConfig()
        config = dataclasses.replace(
            config,
            persisted=dataclasses.replace(
                config.persisted, safelist=True, clients_dir=str(fed.clients_dir)
            ),
        )
        app = create_app(fed.supergraph, config=config)
        async with app.router.lifespan_context(app), _client(app) as gateway:
            client = {"apollographql-client-name": "tv", "apollographql-client-version": "4.2"}
            registered = await gateway.post(
                "/graphql", json={"documentId": f"sha256:{expected}"}, headers=client
            )
            assert registered.json() == {"data": {"titles": [{"id": "t1", "name": "Heat"}]}}
            free = await gateway.post("/graphql", json={"query": home}, headers=client)
            assert free.json()["errors"], free.text


@pytest.mark.parametrize("database", ["sqlite"], indirect=True)
async def test_an_operation_registered_while_the_gateway_runs_joins_its_safelist(
    registry: Registry, tmp_path: Path
) -> None:
    cache = tmp_path / "supergraph.graphql"
    tv = await registry.token("tv-team", clients=["tv"])
    names = "query TvNames { titles { name } }"
    async with serve_on_loopback(catalog_app()) as catalog_url:
        await _publish(registry, graphs.CATALOG, f"{catalog_url}/graphql")
        fed = await load_from_registry(
            "http://registry", cache=cache, transport=httpx.ASGITransport(app=registry.app)
        )
        assert fed.clients_dir is not None
        config = GatewayConfig()
        config = dataclasses.replace(
            config,
            persisted=dataclasses.replace(
                config.persisted, safelist=True, clients_dir=str(fed.clients_dir)
            ),
        )
        app = create_app(
            fed.supergraph, config=config, reload_source=fed.source, reload_interval=0.05
        )
        client = {"apollographql-client-name": "tv", "apollographql-client-version": "4.3"}
        async with app.router.lifespan_context(app), _client(app) as gateway:
            refused = await gateway.post("/graphql", json={"query": names}, headers=client)
            assert refused.json()["errors"], refused.text
            response = await registry.http.post(
                "/operations/tv",
                json={"version": "4.3", "operations": [{"name": "TvNames", "body": names}]},
                headers={"authorization": f"Bearer {tv}"},
            )
            assert response.status_code == 200, response.text
            (tmp_path / "tv").mkdir()
            (tmp_path / "tv" / "names.graphql").write_text(names)
            [expected] = build_manifest("tv", [tmp_path / "tv" / "names.graphql"]).operations
            body: dict[str, Any] = {}
            for _ in range(200):  # the gateway polls every 50 ms: well within 10 s
                answer = await gateway.post(
                    "/graphql", json={"documentId": f"sha256:{expected}"}, headers=client
                )
                body = answer.json()
                if "data" in body:
                    break
                await asyncio.sleep(0.05)
            assert body == {"data": {"titles": [{"name": "Heat"}]}}
