"""Production hides introspection, "did you mean" suggestions and error details; dev shows them."""

from __future__ import annotations

import logging
from typing import Any

import pytest

from edge.config import GatewayConfig
from edge.policy import mask_errors, strip_suggestions
from tests.gateway.demo_support import demo_gateway

INTROSPECTION = "{ __schema { queryType { name } } }"


async def test_policy_production_refuses_introspection() -> None:
    async with demo_gateway(dev=False, config=GatewayConfig()) as demo:
        for query in (INTROSPECTION, '{ __type(name: "Title") { name } }'):
            response = await demo.client.post(
                "/graphql",
                json={"query": query},
                headers={"accept": "application/graphql-response+json"},
            )
            assert response.status_code == 400
            error = response.json()["errors"][0]
            assert error["extensions"]["code"] == "GRAPHQL_VALIDATION_FAILED"
            assert "introspection has been disabled" in error["message"]
        typename = await demo.client.post("/graphql", json={"query": "{ __typename }"})
        assert typename.json() == {"data": {"__typename": "Query"}}


async def test_policy_production_hides_did_you_mean_suggestions() -> None:
    async with demo_gateway(dev=False, config=GatewayConfig()) as demo:
        response = await demo.client.post("/graphql", json={"query": "{ genress { name } }"})
        message = response.json()["errors"][0]["message"]
        assert message == "Cannot query field 'genress' on type 'Query'."


async def test_policy_dev_mode_allows_introspection_and_suggestions() -> None:
    async with demo_gateway(dev=True) as demo:
        schema = await demo.client.post("/graphql", json={"query": INTROSPECTION})
        assert schema.json() == {"data": {"__schema": {"queryType": {"name": "Query"}}}}
        typo = await demo.client.post("/graphql", json={"query": "{ genress { name } }"})
        assert "Did you mean 'genres'" in typo.json()["errors"][0]["message"]


def test_strip_suggestions_handles_lists_and_enum_values() -> None:
    body = {
        "errors": [
            {"message": "Cannot query field 'x' on type 'Q'. Did you mean 'a', 'b', or 'c'?"},
            {
                "message": "Value 'BOX' does not exist in 'Format' enum."
                " Did you mean the enum value 'BOXART'?"
            },
        ]
    }
    assert [e["message"] for e in strip_suggestions(body)["errors"]] == [
        "Cannot query field 'x' on type 'Q'.",
        "Value 'BOX' does not exist in 'Format' enum.",
    ]


def test_mask_errors_keeps_code_and_path_and_logs_the_rest(
    caplog: pytest.LogCaptureFixture,
) -> None:
    body: dict[str, Any] = {
        "data": {"title": None},
        "errors": [
            {
                "message": "connection refused to 10.0.0.7",
                "path": ["title"],
                "extensions": {"code": "SUBGRAPH_UNAVAILABLE", "serviceName": "catalog"},
            },
            {"message": "boom"},
            {
                "message": "Variable '$id' got invalid value",
                "extensions": {"code": "BAD_USER_INPUT"},
            },
        ],
    }
    with caplog.at_level(logging.WARNING, logger="edgegraph.errors"):
        masked = mask_errors(body)
    assert masked["errors"] == [
        {
            "message": "A service this field needs is unavailable.",
            "path": ["title"],
            "extensions": {"code": "SUBGRAPH_UNAVAILABLE"},
        },
        {"message": "Internal server error", "extensions": {"code": "INTERNAL_SERVER_ERROR"}},
        body["errors"][2],
    ]
    assert "10.0.0.7" in caplog.text


async def test_policy_production_masks_subgraph_errors_and_dev_shows_them() -> None:
    query = '{ title(id: "t1") { name } }'
    async with demo_gateway(dev=False, config=GatewayConfig()) as demo:
        await demo.backends["catalog"].aclose()  # the catalog backend is now unreachable
        body = (await demo.client.post("/graphql", json={"query": query})).json()
        assert body["errors"], body
        assert {e["message"] for e in body["errors"]} == {"Internal server error"}
        assert all(set(e.get("extensions", {})) <= {"code"} for e in body["errors"])
    async with demo_gateway(dev=True) as demo:
        await demo.backends["catalog"].aclose()
        body = (await demo.client.post("/graphql", json={"query": query})).json()
        assert body["errors"] and "Internal server error" not in {
            e["message"] for e in body["errors"]
        }
