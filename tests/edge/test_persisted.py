"""Persisted operations: manifests from clients/, safelist mode, APQ, start-up validation."""

from __future__ import annotations

import hashlib
import logging
from pathlib import Path
from typing import Any

import pytest

from edge.config import GatewayConfig, PersistedConfig
from edge.persisted import (
    APQCache,
    PersistedOperationsError,
    build_manifest,
    load_manifests,
    operation_id,
)
from federation.supergraph.model import load_supergraph
from gateway import DEMO_CLIENTS, create_app
from tests.edge.live import DEMO_SUPERGRAPH
from tests.gateway.demo_support import demo_gateway, sign_in

SAFELIST = GatewayConfig(persisted=PersistedConfig(clients_dir=str(DEMO_CLIENTS), safelist=True))
TV = {"apollographql-client-name": "tv", "apollographql-client-version": "7.3.0"}


def _sha(query: str) -> str:
    return hashlib.sha256(query.encode()).hexdigest()


def _apq(sha: str) -> dict[str, Any]:
    return {"persistedQuery": {"version": 1, "sha256Hash": sha}}


def _id_of(client: str, name: str) -> str:
    manifest = load_manifests(DEMO_CLIENTS)[client]
    return next(op.id for op in manifest.operations.values() if op.name == name)


def test_manifest_one_entry_per_operation_with_its_fragments() -> None:
    manifests = load_manifests(DEMO_CLIENTS)
    assert sorted(manifests) == ["mobile", "tv", "web"]
    web = {op.name: op for op in manifests["web"].operations.values()}
    assert sorted(web) == ["AddToMyList", "RemoveFromMyList", "WebTitle"]
    assert web["AddToMyList"].type == "mutation"
    (tv,) = manifests["tv"].operations.values()
    assert "fragment TvTile on Title" in tv.body
    assert tv.id == operation_id(tv.body) == _sha(tv.body)
    exported = manifests["tv"].to_json()
    assert exported["format"] == "apollo-persisted-query-manifest"
    assert exported["operations"][0]["id"] == tv.id


def test_manifest_rejects_unnamed_operations(tmp_path: Path) -> None:
    (tmp_path / "a.graphql").write_text("{ genres { name } }")
    with pytest.raises(ValueError, match="must be named"):
        build_manifest("tv", [tmp_path / "a.graphql"])


async def test_safelist_registered_operation_runs() -> None:
    async with demo_gateway(dev=False, config=SAFELIST) as demo:
        body = {"extensions": _apq(_id_of("mobile", "MobileHome"))}
        headers = {**TV, "apollographql-client-name": "mobile", **sign_in("m1")}
        response = await demo.client.post("/graphql", json=body, headers=headers)
        assert response.status_code == 200, response.text
        data = response.json()["data"]
        assert len(data["genres"]) == 3
        assert data["me"]["continueWatching"] is not None
        # The same operation by documentId, over GET, as a CDN-friendly client would send it.
        get = await demo.client.get(
            "/graphql",
            params={"documentId": f"sha256:{_id_of('mobile', 'MobileHome')}"},
            headers=headers,
        )
        assert get.status_code == 200, get.text
        assert get.json()["data"]["genres"] == data["genres"]


async def test_safelist_free_form_query_is_refused() -> None:
    async with demo_gateway(dev=False, config=SAFELIST) as demo:
        response = await demo.client.post(
            "/graphql", json={"query": "{ genres { name } }"}, headers=TV
        )
        assert response.status_code == 403
        error = response.json()["errors"][0]
        assert error["extensions"]["code"] == "PERSISTED_QUERY_ID_REQUIRED"
        assert "Free-form queries are not allowed" in error["message"]


async def test_safelist_needs_a_known_client_and_its_own_operations() -> None:
    tv_home = _id_of("tv", "TvHome")
    async with demo_gateway(dev=False, config=SAFELIST) as demo:
        cases = [
            ({}, tv_home, "PERSISTED_QUERY_CLIENT_REQUIRED"),
            ({"apollographql-client-name": "tv"}, tv_home, "PERSISTED_QUERY_CLIENT_REQUIRED"),
            (
                {**TV, "apollographql-client-name": "fridge"},
                tv_home,
                "PERSISTED_QUERY_UNKNOWN_CLIENT",
            ),
            ({**TV, "apollographql-client-name": "web"}, tv_home, "PERSISTED_QUERY_NOT_IN_LIST"),
            (TV, _sha("{ genres { name } }"), "PERSISTED_QUERY_NOT_IN_LIST"),
        ]
        for headers, sha, code in cases:
            body = {"extensions": _apq(sha)}
            response = await demo.client.post("/graphql", json=body, headers=headers)
            assert response.status_code == 403, (headers, response.text)
            assert response.json()["errors"][0]["extensions"]["code"] == code


async def test_safelist_refuses_apq_registration() -> None:
    query = "{ genres { name } }"
    async with demo_gateway(dev=False, config=SAFELIST) as demo:
        body = {"query": query, "extensions": _apq(_sha(query))}
        response = await demo.client.post("/graphql", json=body, headers=TV)
        assert response.status_code == 403
        assert response.json()["errors"][0]["extensions"]["code"] == "PERSISTED_QUERY_NOT_IN_LIST"


def test_startup_reports_each_operation_that_no_longer_validates(tmp_path: Path) -> None:
    (tmp_path / "tv").mkdir()
    (tmp_path / "tv" / "home.graphql").write_text(
        "query TvHome { genres { name } }\nquery TvOld { genres { legacyPoster } }\n"
    )
    (tmp_path / "web").mkdir()
    (tmp_path / "web" / "title.graphql").write_text("query WebTitle { title(id: 1, x: 2) { id } }")
    supergraph = load_supergraph(DEMO_SUPERGRAPH.read_text())
    config = GatewayConfig(persisted=PersistedConfig(clients_dir=str(tmp_path)))
    with pytest.raises(PersistedOperationsError) as raised:
        create_app(supergraph, config=config)
    invalid = {(op.client, op.name): op for op in raised.value.invalid}
    assert sorted(invalid) == [("tv", "TvOld"), ("web", "WebTitle")]
    tv_old = invalid[("tv", "TvOld")]
    assert tv_old.id == _sha("query TvOld {\n  genres {\n    legacyPoster\n  }\n}")
    assert "legacyPoster" in tv_old.messages[0]
    assert f"client 'tv' operation {tv_old.id}" in str(raised.value)


def test_startup_can_drop_invalid_operations_and_log_them(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    (tmp_path / "tv").mkdir()
    (tmp_path / "tv" / "home.graphql").write_text("query TvOld { genres { legacyPoster } }")
    supergraph = load_supergraph(DEMO_SUPERGRAPH.read_text())
    persisted = PersistedConfig(clients_dir=str(tmp_path), fail_on_invalid=False)
    with caplog.at_level(logging.ERROR, logger="edgegraph"):
        create_app(supergraph, config=GatewayConfig(persisted=persisted))
    assert "client 'tv' operation" in caplog.text and "TvOld" in caplog.text


async def test_apq_miss_then_registration_then_hit() -> None:
    query = '{ title(id: "t1") { name } }'
    sha = _sha(query)
    async with demo_gateway(dev=False) as demo:
        miss = await demo.client.post("/graphql", json={"extensions": _apq(sha)})
        assert miss.status_code == 200
        assert miss.json()["errors"][0]["message"] == "PersistedQueryNotFound"
        assert miss.json()["errors"][0]["extensions"]["code"] == "PERSISTED_QUERY_NOT_FOUND"
        registered = await demo.client.post(
            "/graphql", json={"query": query, "extensions": _apq(sha)}
        )
        assert registered.status_code == 200
        name = registered.json()["data"]["title"]["name"]
        hit = await demo.client.get(
            "/graphql",
            params={"extensions": f'{{"persistedQuery":{{"version":1,"sha256Hash":"{sha}"}}}}'},
        )
        assert hit.status_code == 200, hit.text
        assert hit.json() == {"data": {"title": {"name": name}}}


async def test_apq_miss_is_400_under_graphql_response_json() -> None:
    async with demo_gateway(dev=False) as demo:
        miss = await demo.client.post(
            "/graphql",
            json={"extensions": _apq(_sha("{ a }"))},
            headers={"accept": "application/graphql-response+json"},
        )
        assert miss.status_code == 400
        assert miss.json()["errors"][0]["extensions"]["code"] == "PERSISTED_QUERY_NOT_FOUND"


async def test_apq_hash_that_does_not_match_its_query_is_refused() -> None:
    async with demo_gateway(dev=False) as demo:
        body = {"query": "{ genres { name } }", "extensions": _apq(_sha("{ genres { id } }"))}
        response = await demo.client.post("/graphql", json=body)
        assert response.status_code == 400
        error = response.json()["errors"][0]
        assert error["extensions"]["code"] == "PERSISTED_QUERY_HASH_MISMATCH"
        # Nothing was registered under the hash the client claimed.
        again = await demo.client.post(
            "/graphql", json={"extensions": _apq(_sha("{ genres { id } }"))}
        )
        assert again.json()["errors"][0]["extensions"]["code"] == "PERSISTED_QUERY_NOT_FOUND"


async def test_apq_invalid_query_is_not_registered_and_get_mutation_is_405() -> None:
    async with demo_gateway(dev=False) as demo:
        bad = "{ nope }"
        await demo.client.post("/graphql", json={"query": bad, "extensions": _apq(_sha(bad))})
        miss = await demo.client.post("/graphql", json={"extensions": _apq(_sha(bad))})
        assert miss.json()["errors"][0]["extensions"]["code"] == "PERSISTED_QUERY_NOT_FOUND"
        mutation = 'mutation { addToMyList(input: {titleId: "t2"}) { id } }'
        sha = _sha(mutation)
        posted = await demo.client.post(
            "/graphql", json={"query": mutation, "extensions": _apq(sha)}
        )
        assert posted.status_code == 200
        get = await demo.client.get(
            "/graphql",
            params={"extensions": f'{{"persistedQuery":{{"version":1,"sha256Hash":"{sha}"}}}}'},
        )
        assert get.status_code == 405


async def test_apq_rejects_malformed_extensions() -> None:
    async with demo_gateway(dev=False) as demo:
        for extension in (
            {"version": 2, "sha256Hash": _sha("{ a }")},
            {"version": 1, "sha256Hash": "abc"},
            "sha",
        ):
            body = {"extensions": {"persistedQuery": extension}}
            response = await demo.client.post("/graphql", json=body)
            assert response.status_code == 400, extension


def test_apq_cache_is_bounded_and_least_recently_used() -> None:
    cache = APQCache(max_size=2, max_query_bytes=20)
    cache.put("a", "{ a }")
    cache.put("b", "{ b }")
    assert cache.get("a") == "{ a }"  # now b is the least recently used
    cache.put("c", "{ c }")
    assert cache.get("b") is None and cache.get("a") and cache.get("c")
    cache.put("big", "{ " + "x " * 20 + "}")
    assert cache.get("big") is None and len(cache) == 2
