"""The registry service over HTTP, on SQLite and on PostgreSQL: publish, check, register,
history and rollback, and a clear 4xx for each kind of bad input."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from sqlalchemy import text

from registry.app import create_registry_app
from registry.db import connect, migrate
from registry.store import Store
from tests.registry import graphs
from tests.registry.conftest import Registry


def _auth(token: str) -> dict[str, str]:
    return {"authorization": f"Bearer {token}"}


async def _publish(
    registry: Registry, token: str, name: str, sdl: str, **extra: Any
) -> httpx.Response:
    body = {"url": f"http://{name}.local/graphql", "sdl": sdl, **extra}
    return await registry.http.post(f"/subgraphs/{name}/publish", json=body, headers=_auth(token))


async def _graph(registry: Registry) -> None:
    """catalog and ratings published, and the TV and mobile home operations registered."""
    assert (await _publish(registry, registry.admin, "catalog", graphs.CATALOG)).status_code == 200
    assert (await _publish(registry, registry.admin, "ratings", graphs.RATINGS)).status_code == 200
    for client, body in (("tv", graphs.TV_HOME), ("mobile", graphs.MOBILE_HOME)):
        name = body.split()[1]
        response = await registry.http.post(
            f"/operations/{client}",
            json={"version": "1.0", "operations": [{"name": name, "body": body}]},
            headers=_auth(registry.admin),
        )
        assert response.status_code == 200, response.text


async def test_registry_health(registry: Registry) -> None:
    response = await registry.http.get("/health")
    assert response.json() == {"status": "ok", "supergraphVersion": 0}


async def test_publish_composes_and_serves_the_supergraph_with_an_etag(registry: Registry) -> None:
    assert (await registry.http.get("/supergraph")).status_code == 404
    team = await registry.token("catalog-team", subgraphs=["catalog"])
    first = await _publish(registry, team, "catalog", graphs.CATALOG)
    assert first.status_code == 200, first.text
    assert first.json()["version"] == 1 and first.json()["supergraphVersion"] == 1
    await _publish(registry, registry.admin, "ratings", graphs.RATINGS)
    served = await registry.http.get("/supergraph")
    assert served.status_code == 200 and "rating: Float" in served.text
    assert served.headers["x-supergraph-version"] == "2"
    etag = served.headers["etag"]
    unchanged = await registry.http.get("/supergraph", headers={"if-none-match": etag})
    assert unchanged.status_code == 304
    # Publishing the same SDL again stores nothing.
    again = await _publish(registry, team, "catalog", graphs.CATALOG)
    assert again.json()["unchanged"] is True and again.json()["supergraphVersion"] == 2
    listed = (await registry.http.get("/subgraphs")).json()["subgraphs"]
    assert [(s["name"], s["version"]) for s in listed] == [("catalog", 1), ("ratings", 1)]


async def test_publish_that_does_not_compose_is_refused_and_the_previous_one_serves(
    registry: Registry,
) -> None:
    await _graph(registry)
    before = (await registry.http.get("/supergraph")).text
    refused = await _publish(registry, registry.admin, "ratings", graphs.RATINGS_CLASHING)
    assert refused.status_code == 422
    errors = refused.json()["check"]["compositionErrors"]
    assert errors and any("Title.id" in error for error in errors)
    assert (await registry.http.get("/supergraph")).text == before
    versions = (await registry.http.get("/subgraphs/ratings/versions")).json()["versions"]
    assert [v["version"] for v in versions] == [1]


async def test_breaking_changes_name_each_affected_client_and_operation(registry: Registry) -> None:
    await _graph(registry)
    team = await registry.token("catalog-team", subgraphs=["catalog"])
    for sdl, affected, reason in (
        (graphs.CATALOG_WITHOUT_NAME, {("tv", "TvHome")}, "Cannot query field 'name'"),
        (graphs.CATALOG_NULLABLE_NAME, {("tv", "TvHome")}, "Title.name changed type"),
        (graphs.CATALOG_WITHOUT_SHOW, {("mobile", "MobileHome")}, "SHOW was removed"),
    ):
        check = await registry.http.post(
            "/subgraphs/catalog/check", json={"sdl": sdl}, headers=_auth(team)
        )
        assert check.status_code == 200
        report = check.json()
        assert report["ok"] is False
        found = {(op["client"], op["operation"]) for op in report["affectedOperations"]}
        assert found == affected
        assert any(reason in r for op in report["affectedOperations"] for r in op["reasons"])
        refused = await _publish(registry, team, "catalog", sdl)
        assert refused.status_code == 422 and refused.json()["check"]["ok"] is False
    safe = await registry.http.post(
        "/subgraphs/catalog/check", json={"sdl": graphs.CATALOG_WITH_YEAR}, headers=_auth(team)
    )
    assert safe.json()["ok"] is True
    history = (await registry.http.get("/checks")).json()["checks"]
    assert [c["ok"] for c in history][:2] == [True, False]


async def test_force_publishes_past_a_failed_check_and_records_the_reason(
    registry: Registry,
) -> None:
    await _graph(registry)
    no_reason = await _publish(
        registry, registry.admin, "catalog", graphs.CATALOG_WITHOUT_NAME, force=True
    )
    assert no_reason.status_code == 400 and "--reason" in no_reason.json()["error"]
    forced = await _publish(
        registry,
        registry.admin,
        "catalog",
        graphs.CATALOG_WITHOUT_NAME,
        force=True,
        reason="TV 4.2 no longer shows names",
    )
    assert forced.status_code == 200 and forced.json()["forced"] is True
    log = (await registry.http.get("/audit", headers=_auth(registry.admin))).json()["audit"]
    assert log[0]["action"] == "publish-forced" and log[0]["actor"] == "platform"
    assert log[0]["reason"] == "TV 4.2 no longer shows names"
    assert log[0]["target"] == "catalog@2"
    # A composition error is never forced through.
    clash = await _publish(
        registry, registry.admin, "ratings", graphs.RATINGS_CLASHING, force=True, reason="x"
    )
    assert clash.status_code == 422


async def test_history_diff_and_rollback(registry: Registry) -> None:
    await _graph(registry)
    await _publish(registry, registry.admin, "catalog", graphs.CATALOG_WITH_YEAR)
    supergraphs = (await registry.http.get("/supergraphs")).json()["supergraphs"]
    assert [s["subgraphs"] for s in supergraphs] == [
        {"catalog": 1},
        {"catalog": 1, "ratings": 1},
        {"catalog": 2, "ratings": 1},
    ]
    diff = (await registry.http.get("/supergraphs/diff?from=2&to=3")).json()
    assert "+  year: Int" in diff["diff"] and diff["breaking"] == []
    back = (await registry.http.get("/supergraphs/diff?from=3&to=2")).json()
    assert back["breaking"] == ["Field Title.year was removed."]
    rolled = await registry.http.post(
        "/subgraphs/catalog/rollback",
        json={"to": 1, "reason": "year is wrong"},
        headers=_auth(registry.admin),
    )
    assert rolled.status_code == 200, rolled.text
    assert rolled.json()["version"] == 3
    assert "year" not in (await registry.http.get("/api-schema")).text
    log = (await registry.http.get("/audit", headers=_auth(registry.admin))).json()["audit"]
    assert log[0]["action"] == "rollback" and log[0]["reason"] == "year is wrong"
    missing = await registry.http.post(
        "/subgraphs/catalog/rollback", json={"to": 9}, headers=_auth(registry.admin)
    )
    assert missing.status_code == 404
    assert (await registry.http.get("/supergraphs/diff?from=1&to=99")).status_code == 404


async def test_register_validates_operations_against_the_supergraph(registry: Registry) -> None:
    tv = await registry.token("tv-team", clients=["tv"])
    ops = {"version": "4.2", "operations": [{"name": "TvHome", "body": graphs.TV_HOME}]}
    early = await registry.http.post("/operations/tv", json=ops, headers=_auth(tv))
    assert early.status_code == 409  # no supergraph yet
    await _publish(registry, registry.admin, "catalog", graphs.CATALOG)
    assert (await registry.http.post("/operations/tv", json=ops, headers=_auth(tv))).json()[
        "added"
    ] == ["TvHome"]
    again = await registry.http.post("/operations/tv", json=ops, headers=_auth(tv))
    assert again.json()["added"] == []  # the same operation is stored once
    invalid = await registry.http.post(
        "/operations/tv",
        json={"version": "4.2", "operations": [{"name": "Bad", "body": "{ titles { nope } }"}]},
        headers=_auth(tv),
    )
    assert invalid.status_code == 422
    assert "Cannot query field 'nope' on type 'Title'" in invalid.json()["error"]
    unparsable = await registry.http.post(
        "/operations/tv",
        json={"version": "4.2", "operations": [{"name": "Bad", "body": "{ titles {"}]},
        headers=_auth(tv),
    )
    assert unparsable.status_code == 422 and "does not parse" in unparsable.json()["error"]
    other = await registry.http.post("/operations/mobile", json=ops, headers=_auth(tv))
    assert other.status_code == 403
    stored = (await registry.http.get("/operations?client=tv")).json()["operations"]
    assert [(op["name"], op["clientVersion"]) for op in stored] == [("TvHome", "4.2")]


async def test_bad_input_gets_a_clear_4xx(registry: Registry) -> None:
    team = await registry.token("catalog-team", subgraphs=["catalog"])
    unparsable = await _publish(registry, team, "catalog", "type Query {")
    assert unparsable.status_code == 400
    assert "does not parse" in unparsable.json()["error"]
    huge = await _publish(registry, team, "catalog", graphs.CATALOG + "#" * 10_000_000)
    assert huge.status_code == 413
    for odd_name in ("cat%20alog", "cat.alog", "ĉatalog", "-catalog", "c" * 65):
        odd = await _publish(registry, registry.admin, odd_name, graphs.CATALOG)
        assert odd.status_code == 400 and "invalid subgraph name" in odd.json()["error"]
    bad_url = await registry.http.post(
        "/subgraphs/catalog/publish",
        json={"url": "ftp://x", "sdl": graphs.CATALOG},
        headers=_auth(team),
    )
    assert bad_url.status_code == 400 and "url" in bad_url.json()["error"]
    not_json = await registry.http.post(
        "/subgraphs/catalog/publish", content=b"{", headers=_auth(team)
    )
    assert not_json.status_code == 400
    missing = await registry.http.post("/subgraphs/catalog/publish", json={})
    assert missing.status_code == 401 and "missing token" in missing.json()["error"]
    wrong = await _publish(registry, "egr_not-a-token", "catalog", graphs.CATALOG)
    assert wrong.status_code == 401 and "unknown token" in wrong.json()["error"]
    expired = await registry.store.create_token(
        "old-team", subgraphs=["catalog"], expires_at=datetime.now(UTC) - timedelta(days=1)
    )
    gone = await _publish(registry, expired, "catalog", graphs.CATALOG)
    assert gone.status_code == 401 and "expired" in gone.json()["error"]
    other_team = await _publish(registry, team, "ratings", graphs.RATINGS)
    assert other_team.status_code == 403 and "may not publish" in other_team.json()["error"]
    audit = await registry.http.get("/audit", headers=_auth(team))
    assert audit.status_code == 403


async def test_publish_over_a_stale_base_version_is_refused(registry: Registry) -> None:
    await _publish(registry, registry.admin, "catalog", graphs.CATALOG)
    # Two teammates built on version 1; the first lands, the second is told, not overwritten.
    first = await _publish(
        registry, registry.admin, "catalog", graphs.CATALOG_WITH_YEAR, baseVersion=1
    )
    assert first.status_code == 200
    second = await _publish(
        registry, registry.admin, "catalog", graphs.CATALOG_NULLABLE_NAME, baseVersion=1
    )
    assert second.status_code == 409 and "another publish landed first" in second.json()["error"]
    assert "year: Int" in (await registry.http.get("/api-schema")).text


async def test_concurrent_publishes_from_two_replicas_serialize_and_none_is_lost(
    database: str, registry: Registry
) -> None:
    # A second replica: its own engine and app over the same database.
    replica = Store(connect(database))
    app = create_registry_app(replica, migrate_at_start=False)
    try:
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://replica"
        ) as other:
            await _graph(registry)
            variants = [
                graphs.CATALOG.replace("  id: ID!\n", f"  id: ID!\n  f{i}: Int\n") for i in range(6)
            ]
            clients = [registry.http, other] * 3
            responses = await asyncio.gather(
                *(
                    http.post(
                        "/subgraphs/catalog/publish",
                        json={"url": "http://catalog.local/graphql", "sdl": sdl},
                        headers=_auth(registry.admin),
                    )
                    for http, sdl in zip(clients, variants, strict=True)
                )
            )
    finally:
        await replica.engine.dispose()
    assert [r.status_code for r in responses] == [200] * 6, [r.text for r in responses]
    assert sorted(r.json()["version"] for r in responses) == [2, 3, 4, 5, 6, 7]
    versions = (await registry.store.versions("catalog"))[1:]
    assert sorted(v.sdl for v in versions) == sorted(variants)
    # Every supergraph holds ratings: each publish composed on what it landed on.
    served = await registry.store.supergraph()
    assert served is not None and served.subgraphs == {"catalog": 7, "ratings": 1}
    assert "rating: Float" in served.api_sdl
    last = next(v for v in versions if v.version == 7)
    field = next(line.strip() for line in last.sdl.splitlines() if line.strip().startswith("f"))
    assert field in served.api_sdl


async def test_migrations_run_once_and_record_their_revision(store: Store) -> None:
    await migrate(store.engine)  # a second start finds nothing to do
    async with store.engine.connect() as connection:
        revision = (await connection.execute(text("SELECT version_num FROM alembic_version"))).all()
        version = (await connection.execute(text("SELECT version FROM graph"))).all()
    assert revision == [("0002",)] and version == [(0,)]


async def test_replicas_starting_together_migrate_once(database: str) -> None:
    engines = [connect(database) for _ in range(3)]
    try:
        await asyncio.gather(*(migrate(engine) for engine in engines))
        async with engines[0].connect() as connection:
            revision = await connection.execute(text("SELECT version_num FROM alembic_version"))
            assert revision.all() == [("0002",)]
    finally:
        for engine in engines:
            await engine.dispose()
