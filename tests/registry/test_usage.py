"""Field usage: gateways report which fields each client's requests read; a check fails on a
change that breaks a field read in the last N days, even by an unregistered operation."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from starlette.types import ASGIApp, Message, Scope

from gateway import create_app
from registry.app import create_registry_app
from registry.source import load_from_registry
from registry.store import Store
from registry.usage import UsageReporter, report_usage
from tests.edge.live import serve_on_loopback
from tests.registry import graphs
from tests.registry.conftest import Registry
from tests.registry.subgraphs import catalog_app


def _auth(token: str) -> dict[str, str]:
    return {"authorization": f"Bearer {token}"}


async def _publish_catalog(registry: Registry) -> None:
    response = await registry.http.post(
        "/subgraphs/catalog/publish",
        json={"url": "http://catalog.local/graphql", "sdl": graphs.CATALOG},
        headers=_auth(registry.admin),
    )
    assert response.status_code == 200, response.text


async def test_a_check_fails_on_a_field_requests_read_lately(registry: Registry) -> None:
    await _publish_catalog(registry)
    gateway = await registry.token("gateway-eu")
    report = {"clients": {"web": {"Title.name": 40, "Query.titles": 40}, "tv": {"Title.id": 3}}}
    for _ in range(2):  # two reports of one day add up
        response = await registry.http.post("/usage", json=report, headers=_auth(gateway))
        assert response.status_code == 200 and response.json() == {"counted": 3}
    check = await registry.http.post(
        "/subgraphs/catalog/check",
        json={"sdl": graphs.CATALOG_NULLABLE_NAME},
        headers=_auth(registry.admin),
    )
    body = check.json()
    assert body["ok"] is False and body["affectedOperations"] == []
    assert body["affectedUsage"] == [
        {
            "client": "web",
            "field": "Title.name",
            "requests": 80,
            "change": "Field Title.name changed type from String! to String.",
        }
    ]
    # Kind is read by nobody: removing one of its values is reported, and does not fail.
    safe = await registry.http.post(
        "/subgraphs/catalog/check",
        json={"sdl": graphs.CATALOG_WITHOUT_SHOW},
        headers=_auth(registry.admin),
    )
    assert safe.json()["ok"] is True
    assert safe.json()["breakingChanges"] == ["Enum value Kind.SHOW was removed."]


async def test_usage_older_than_the_window_does_not_fail_a_check(registry: Registry) -> None:
    await _publish_catalog(registry)
    old = datetime.now(UTC).date() - timedelta(days=30)
    await registry.store.add_usage({"web": {"Title.name": 500}}, day=old)
    assert await registry.store.usage_since(old) == {"Title.name": {"web": 500}}
    check = await registry.http.post(
        "/subgraphs/catalog/check",
        json={"sdl": graphs.CATALOG_WITHOUT_NAME},
        headers=_auth(registry.admin),
    )
    assert check.json()["ok"] is True


@pytest.mark.parametrize("database", ["sqlite"], indirect=True)
async def test_usage_checks_can_be_turned_off(registry: Registry, store: Store) -> None:
    await _publish_catalog(registry)
    await store.add_usage({"web": {"Title.name": 5}}, day=datetime.now(UTC).date())
    app = create_registry_app(store, migrate_at_start=False, usage_days=0)
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://registry"
    ) as http:
        check = await http.post(
            "/subgraphs/catalog/check",
            json={"sdl": graphs.CATALOG_WITHOUT_NAME},
            headers=_auth(registry.admin),
        )
    assert check.json()["ok"] is True


async def test_bad_usage_reports_get_a_clear_4xx(registry: Registry) -> None:
    gateway = await registry.token("gateway-eu")
    for clients, status, reason in (
        (None, 400, "`clients` must map"),
        ({"tv": {"Title": 1}}, 400, "invalid field coordinate"),
        ({"tv": {"Title.name": -1}}, 400, "must be an integer"),
        ({"tv": {"Title.name": "3"}}, 400, "must be an integer"),
        ({"t v": {"Title.name": 1}}, 400, "invalid client name"),
    ):
        response = await registry.http.post(
            "/usage", json={"clients": clients}, headers=_auth(gateway)
        )
        assert response.status_code == status and reason in response.json()["error"]
    anonymous = await registry.http.post("/usage", json={"clients": {}})
    assert anonymous.status_code == 401


# The gateway's side and the scaffold do not depend on the database: SQLite is enough.
@pytest.mark.parametrize("database", ["sqlite"], indirect=True)
async def test_a_gateway_reports_what_its_clients_read(registry: Registry) -> None:
    async with serve_on_loopback(catalog_app()) as catalog_url:
        url = f"{catalog_url}/graphql"
        response = await registry.http.post(
            "/subgraphs/catalog/publish",
            json={"url": url, "sdl": graphs.CATALOG},
            headers=_auth(registry.admin),
        )
        assert response.status_code == 200
        fed = await load_from_registry(
            "http://registry", cache=None, transport=httpx.ASGITransport(app=registry.app)
        )
        app = create_app(fed.supergraph)
        reporter = UsageReporter(
            app,
            registry="http://registry",
            token=await registry.token("gateway-eu"),
            current_sdl=lambda: fed.source.current,
            sample_rate=1.0,
            interval=3600,
            transport=httpx.ASGITransport(app=registry.app),
        )
        async with (
            app.router.lifespan_context(app),
            httpx.AsyncClient(
                transport=httpx.ASGITransport(app=reporter), base_url="http://gateway"
            ) as gateway,
        ):
            web = {"apollographql-client-name": "web"}
            for _ in range(3):
                answer = await gateway.post(
                    "/graphql", json={"query": "{ titles { name } }"}, headers=web
                )
                assert answer.json() == {"data": {"titles": [{"name": "Heat"}]}}
            await gateway.get("/graphql", params={"query": "{ titles { id } }"})
            await gateway.post("/graphql", content=b"not json", headers=web)
            await reporter.aclose()
    used = await registry.store.usage_since(datetime.now(UTC).date())
    assert used == {
        "Query.titles": {"web": 3, "unknown": 1},
        "Title.name": {"web": 3},
        "Title.id": {"unknown": 1},
    }
    check = await registry.http.post(
        "/subgraphs/catalog/check",
        json={"sdl": graphs.CATALOG_WITHOUT_NAME},
        headers=_auth(registry.admin),
    )
    assert [(u["client"], u["field"]) for u in check.json()["affectedUsage"]] == [
        ("web", "Title.name")
    ]


@asynccontextmanager
async def _lifespan(app: ASGIApp) -> AsyncIterator[None]:
    """The app's ASGI lifespan, driven as a server does (startup, then shutdown)."""
    inbox: asyncio.Queue[Message] = asyncio.Queue()
    outbox: asyncio.Queue[Message] = asyncio.Queue()
    await inbox.put({"type": "lifespan.startup"})
    scope: Scope = {"type": "lifespan", "asgi": {"version": "3.0"}, "state": {}}
    running = asyncio.ensure_future(app(scope, inbox.get, outbox.put))
    assert (await outbox.get())["type"] == "lifespan.startup.complete"
    try:
        yield
    finally:
        await inbox.put({"type": "lifespan.shutdown"})
        assert (await outbox.get())["type"] == "lifespan.shutdown.complete"
        await running


@pytest.mark.parametrize("database", ["sqlite"], indirect=True)
async def test_report_usage_wires_a_reporter_that_flushes_at_shutdown(registry: Registry) -> None:
    async with serve_on_loopback(catalog_app()) as catalog_url:
        response = await registry.http.post(
            "/subgraphs/catalog/publish",
            json={"url": f"{catalog_url}/graphql", "sdl": graphs.CATALOG},
            headers=_auth(registry.admin),
        )
        assert response.status_code == 200
        transport = httpx.ASGITransport(app=registry.app)
        fed = await load_from_registry("http://registry", cache=None, transport=transport)
        app = create_app(fed.supergraph)
        report_usage(
            app,
            fed.source,
            registry="http://registry",
            token=await registry.token("gateway-eu"),
            sample_rate=1.0,
            transport=transport,
        )
        async with (
            _lifespan(app),
            httpx.AsyncClient(
                transport=httpx.ASGITransport(app=app), base_url="http://gateway"
            ) as gateway,
        ):
            answer = await gateway.post(
                "/graphql",
                json={"query": "{ titles { kind } }"},
                headers={"apollographql-client-name": "tv"},
            )
            assert answer.json() == {"data": {"titles": [{"kind": "MOVIE"}]}}
    used = await registry.store.usage_since(datetime.now(UTC).date())
    assert used == {"Query.titles": {"tv": 1}, "Title.kind": {"tv": 1}}
