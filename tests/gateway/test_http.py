"""The gateway's HTTP surface: request errors, media types and status codes."""

from __future__ import annotations

from tests.gateway.demo_support import demo_gateway, sign_in

GRAPHQL_RESPONSE = "application/graphql-response+json"


async def test_gateway_malformed_json_is_400_with_graphql_error() -> None:
    async with demo_gateway() as demo:
        response = await demo.client.post(
            "/graphql", content=b"{nope", headers={"content-type": "application/json"}
        )
        assert response.status_code == 400
        assert response.json()["errors"][0]["extensions"]["code"] == "BAD_REQUEST"


async def test_gateway_body_must_be_an_object_with_a_query() -> None:
    async with demo_gateway() as demo:
        for body in ([1, 2], {"query": 3}, {"query": "{ __typename }", "variables": [1]}):
            response = await demo.client.post("/graphql", json=body)
            assert response.status_code == 400, body


async def test_gateway_get_serves_queries_and_refuses_mutations() -> None:
    async with demo_gateway() as demo:
        ok = await demo.client.get("/graphql", params={"query": '{ title(id: "t1") { name } }'})
        assert ok.status_code == 200
        assert ok.json()["data"]["title"]["name"]
        mutation = 'mutation { addToMyList(input: {titleId: "t1"}) { id } }'
        refused = await demo.client.get("/graphql", params={"query": mutation})
        assert refused.status_code == 405
        assert "POST" in refused.headers["allow"]


async def test_gateway_document_errors_follow_the_accepted_media_type() -> None:
    async with demo_gateway() as demo:
        json_response = await demo.client.post("/graphql", json={"query": "{ nope }"})
        assert json_response.status_code == 200
        strict = await demo.client.post(
            "/graphql", json={"query": "{ nope"}, headers={"accept": GRAPHQL_RESPONSE}
        )
        assert strict.status_code == 400
        assert strict.headers["content-type"].startswith(GRAPHQL_RESPONSE)
        assert strict.json()["errors"][0]["locations"]


async def test_gateway_plan_only_in_dev_mode() -> None:
    headers = {"x-edgegraph-include-plan": "true"}
    async with demo_gateway(dev=False) as demo:
        body = (
            await demo.client.post(
                "/graphql", json={"query": "{ genres { name } }"}, headers=headers
            )
        ).json()
        assert "extensions" not in body
    async with demo_gateway(dev=True) as demo:
        body = (
            await demo.client.post(
                "/graphql", json={"query": "{ genres { name } }"}, headers=headers
            )
        ).json()
        assert body["extensions"]["queryPlan"].startswith("QueryPlan {")


async def test_gateway_mutation_runs_and_health_answers() -> None:
    async with demo_gateway() as demo:
        mutation = 'mutation { addToMyList(input: {titleId: "t9"}) { id myList { id name } } }'
        response = await demo.client.post(
            "/graphql", json={"query": mutation}, headers=sign_in("m1", ["list:write"])
        )
        body = response.json()
        assert "errors" not in body, body
        assert "t9" in [t["id"] for t in body["data"]["addToMyList"]["myList"]]
        assert all(t["name"] for t in body["data"]["addToMyList"]["myList"])
        health = await demo.client.get("/health")
        assert health.status_code == 200
