"""Smoke tests for the pinned Apollo peers: composition and the gateway over real subgraphs."""

from __future__ import annotations

import json
import re
from typing import Any

import httpx
import pytest
import strawberry
from strawberry.federation import Schema

from tests.fixtures.federation import cases as fixture_cases
from tests.fixtures.federation.recompose import compose_feature
from tests.fixtures.federation.support import FEDERATION_VERSION
from tests.peers_support import (
    CompositionError,
    apollo_query_plan,
    compose_with_apollo,
    run_apollo_gateway,
    serve_subgraphs,
    subgraph_sdl,
    with_subgraph_urls,
)

USERS = {"u1": "Ada", "u2": "Grace"}
REVIEWS = {"u1": ["great", "fine"], "u2": ["meh"]}


@strawberry.federation.type(keys=["id"])
class User:
    id: strawberry.ID
    name: str

    @classmethod
    def resolve_reference(cls, id: strawberry.ID) -> User | None:
        name = USERS.get(str(id))
        return None if name is None else User(id=id, name=name)


@strawberry.type
class AccountsQuery:
    @strawberry.field
    def users(self) -> list[User]:
        return [User(id=strawberry.ID(k), name=v) for k, v in USERS.items()]


@strawberry.federation.type(name="User", keys=["id"])
class ReviewedUser:
    id: strawberry.ID

    @strawberry.field
    def reviews(self) -> list[str]:
        return REVIEWS.get(str(self.id), [])

    @classmethod
    def resolve_reference(cls, id: strawberry.ID) -> ReviewedUser:
        return ReviewedUser(id=id)


@strawberry.type
class ReviewsQuery:
    @strawberry.field
    def review_count(self) -> int:
        return sum(len(v) for v in REVIEWS.values())


ACCOUNTS = Schema(query=AccountsQuery, federation_version=FEDERATION_VERSION)
REVIEWS_SCHEMA = Schema(
    query=ReviewsQuery, types=[ReviewedUser], federation_version=FEDERATION_VERSION
)


def _subgraphs(urls: dict[str, str]) -> list[tuple[str, str, str]]:
    return [
        ("accounts", urls["accounts"], subgraph_sdl(ACCOUNTS)),
        ("reviews", urls["reviews"], subgraph_sdl(REVIEWS_SCHEMA)),
    ]


def test_compose_with_apollo_joins_two_subgraphs() -> None:
    sdl = compose_with_apollo(
        _subgraphs({"accounts": "http://accounts/graphql", "reviews": "http://reviews/graphql"})
    )
    assert '@join__graph(name: "accounts", url: "http://accounts/graphql")' in sdl
    assert "reviews: [String!]! @join__field(graph: REVIEWS)" in sdl
    assert "_entities" not in sdl


def test_compose_with_apollo_raises_with_apollo_error_codes() -> None:
    bad = 'extend schema @link(url: "https://specs.apollo.dev/federation/v2.3")\n'
    with pytest.raises(CompositionError) as info:
        compose_with_apollo(
            [
                ("a", "http://a", bad + "type Query { x: Int }"),
                ("b", "http://b", bad + "type Query { x: String }"),
            ]
        )
    assert any(e["code"] == "FIELD_TYPE_MISMATCH" for e in info.value.errors)


def test_with_subgraph_urls_rejects_unknown_subgraph() -> None:
    sdl = compose_with_apollo(_subgraphs({"accounts": "http://a", "reviews": "http://r"}))
    moved = with_subgraph_urls(sdl, {"reviews": "http://127.0.0.1:1/reviews/graphql"})
    assert 'url: "http://127.0.0.1:1/reviews/graphql"' in moved
    with pytest.raises(KeyError):
        with_subgraph_urls(sdl, {"nope": "http://x"})


def test_apollo_query_plan_prints_sequence_for_entity_join() -> None:
    sdl = compose_with_apollo(_subgraphs({"accounts": "http://a", "reviews": "http://r"}))
    plan = apollo_query_plan(sdl, "query Q { users { name reviews } }", "Q")
    assert plan.startswith("QueryPlan {")
    assert 'Fetch(service: "accounts")' in plan
    assert 'Flatten(path: "users.@")' in plan
    with pytest.raises(RuntimeError, match="Apollo could not plan"):
        apollo_query_plan(sdl, "{ nope }")


async def test_apollo_gateway_joins_entities_across_real_subgraphs() -> None:
    schemas = {"accounts": ACCOUNTS, "reviews": REVIEWS_SCHEMA}
    async with serve_subgraphs(schemas) as urls:
        supergraph = compose_with_apollo(_subgraphs(urls))
        async with (
            run_apollo_gateway(supergraph) as gateway,
            httpx.AsyncClient(timeout=30) as client,
        ):
            resp = await client.post(
                gateway.url,
                json={"query": "{ users { name reviews } reviewCount __typename }"},
            )
            body: dict[str, Any] = resp.json()
            introspection = await client.post(
                gateway.url, json={"query": "{ __schema { queryType { name } } }"}
            )
    assert resp.status_code == 200, body
    assert body == {
        "data": {
            "users": [
                {"name": "Ada", "reviews": ["great", "fine"]},
                {"name": "Grace", "reviews": ["meh"]},
            ],
            "reviewCount": 3,
            "__typename": "Query",
        }
    }
    assert introspection.json() == {"data": {"__schema": {"queryType": {"name": "Query"}}}}


# --- fixture subgraph sets (tests/fixtures/federation/<feature>/) ---------------------------

FEATURES = fixture_cases.features()


def _error_paths(body: dict[str, Any]) -> list[Any]:
    errors = list(body.get("errors") or [])
    errors += (body.get("extensions") or {}).get("valueCompletion") or []
    return sorted((e.get("path") for e in errors), key=json.dumps)


@pytest.mark.parametrize("feature", FEATURES)
def test_fixture_supergraph_matches_recomposition(feature: str) -> None:
    assert compose_feature(feature) == fixture_cases.supergraph_sdl(feature), (
        f"run: .venv/bin/python -m tests.fixtures.federation.recompose {feature}"
    )


#: Fixture sets whose supergraph @apollo/gateway refuses to load, with what it says: Apollo
#: implements these features in its Router only.
_CONTEXT_REFUSED = (
    "feature https://specs.apollo.dev/context/v0.1 is for: SECURITY but is unsupported"
)
APOLLO_GATEWAY_REFUSES = {f: _CONTEXT_REFUSED for f in FEATURES if fixture_cases.uses_context(f)}


@pytest.mark.parametrize("feature", sorted(APOLLO_GATEWAY_REFUSES))
async def test_apollo_gateway_still_refuses(feature: str) -> None:
    # When an upgrade loads the set, its cases must run through the comparison below instead.
    async with serve_subgraphs(fixture_cases.subgraph_module(feature).SUBGRAPHS) as urls:
        supergraph = with_subgraph_urls(fixture_cases.supergraph_sdl(feature), urls)
        with pytest.raises(RuntimeError, match=re.escape(APOLLO_GATEWAY_REFUSES[feature])):
            async with run_apollo_gateway(supergraph):
                pass


@pytest.mark.parametrize("feature", [f for f in FEATURES if f not in APOLLO_GATEWAY_REFUSES])
async def test_fixture_cases_match_apollo_gateway(feature: str) -> None:
    cases = fixture_cases.load_cases(feature)
    invalid = fixture_cases.load_invalid_operations(feature)
    reset = fixture_cases.reset_hook(feature)
    answers: dict[str, dict[str, Any]] = {}
    rejected: dict[str, dict[str, Any]] = {}
    async with serve_subgraphs(fixture_cases.subgraph_module(feature).SUBGRAPHS) as urls:
        supergraph = with_subgraph_urls(fixture_cases.supergraph_sdl(feature), urls)
        async with (
            run_apollo_gateway(supergraph) as gateway,
            httpx.AsyncClient(timeout=30) as client,
        ):
            for case in cases:
                if reset is not None:
                    reset()
                payload = {"query": case.document, "variables": case.variables}
                answers[case.operation_name] = (await client.post(gateway.url, json=payload)).json()
            for name, document in invalid.items():
                rejected[name] = (await client.post(gateway.url, json={"query": document})).json()
    for case in cases:
        body = answers[case.operation_name]
        got = (body.get("data"), _error_paths(body))
        want = (case.expected_data, sorted(case.expected_error_paths, key=json.dumps))
        if case.apollo_differs is None:
            assert got == want, f"{feature}/{case.operation_name}: {body}"
        else:  # a known Apollo bug: flag it when an upgrade fixes it
            assert got != want, f"{feature}/{case.operation_name} now matches: drop apolloDiffers"
    for name, body in rejected.items():
        codes = {e.get("extensions", {}).get("code") for e in body.get("errors", [])}
        assert "data" not in body and codes == {"GRAPHQL_VALIDATION_FAILED"}, f"{name}: {body}"
