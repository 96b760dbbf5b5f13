"""The demo end to end with real tokens: issuer → gateway → members subgraph."""

from __future__ import annotations

from typing import Any

import httpx

from tests.gateway.demo_support import demo_gateway, demo_issuer, device_query, sign_in

ME = "{ me { id } }"
ADD = 'mutation { addToMyList(input: {titleId: "t7"}) { id myList { id } } }'


async def _post(client: httpx.AsyncClient, query: str, headers: dict[str, str]) -> Any:
    response = await client.post("/graphql", json={"query": query}, headers=headers)
    assert response.status_code == 200, response.text
    return response.json()


async def test_demo_auth_device_query_knows_the_member_from_the_token_only() -> None:
    async with demo_gateway() as demo:
        home = await _post(demo.client, device_query("tv/home.graphql"), sign_in("m3"))
        claimed = await _post(demo.client, ME, {"x-member-id": "m3"})
        both = await _post(demo.client, ME, {**sign_in("m4"), "x-member-id": "m3"})
        forged = await _post(demo.client, ME, {"x-edgegraph-passport": "m3"})
    assert "errors" not in home, home["errors"]
    assert home["data"]["me"]["id"] == "m3"
    assert claimed == {"data": {"me": None}}
    assert both["data"]["me"]["id"] == "m4"
    assert forged == {"data": {"me": None}}


async def test_demo_auth_mutations_change_only_the_callers_list() -> None:
    my_list = "{ me { myList { id } } }"
    async with demo_gateway() as demo:
        before = await _post(demo.client, my_list, sign_in("m6"))
        writer = sign_in("m5", ["list:write"])
        added = await _post(demo.client, ADD, {**writer, "x-member-id": "m6"})
        anonymous = await _post(demo.client, ADD, {"x-member-id": "m6"})
        after = await _post(demo.client, my_list, sign_in("m5"))
        other = await _post(demo.client, my_list, sign_in("m6"))
        peek = await _post(demo.client, '{ member(id: "m5") { myList { id } } }', sign_in("m6"))
    assert added["data"]["addToMyList"]["id"] == "m5"
    assert "t7" in [t["id"] for t in after["data"]["me"]["myList"]]
    assert other == before
    assert anonymous["errors"][0]["extensions"]["code"] == "UNAUTHORIZED_FIELD_OR_TYPE"
    assert peek["errors"][0]["extensions"]["code"] == "FORBIDDEN"


async def test_demo_auth_the_demo_schema_protects_its_fields() -> None:
    # members declares: member(id:) @authenticated, the my-list mutations
    # @requiresScopes(scopes: [["list:write"]]); the gateway enforces both.
    member = '{ member(id: "m1") { name } }'
    async with demo_gateway() as demo:
        anonymous = await _post(demo.client, member, {})
        signed_in = await _post(demo.client, member, sign_in("m2"))
        before = await _post(demo.client, "{ me { myList { id } } }", sign_in("m2"))
        read_only = await _post(demo.client, ADD, sign_in("m2"))
        after = await _post(demo.client, "{ me { myList { id } } }", sign_in("m2"))
    assert anonymous["data"] == {"member": None}
    assert anonymous["errors"][0]["extensions"]["code"] == "UNAUTHORIZED_FIELD_OR_TYPE"
    assert signed_in["data"]["member"]["name"]
    # A token without list:write changes nothing: the mutation never reaches members.
    assert read_only["data"] is None
    assert read_only["errors"][0]["path"] == ["addToMyList"]
    assert after == before


async def test_demo_auth_refuses_a_token_from_another_key_with_401() -> None:
    token = sign_in("m1")["authorization"]
    head, body, signature = token.removeprefix("Bearer ").split(".")
    tampered = f"{head}.{body}.{signature[::-1]}"
    async with demo_gateway() as demo:
        response = await demo.client.post(
            "/graphql", json={"query": ME}, headers={"authorization": f"Bearer {tampered}"}
        )
    assert response.status_code == 401
    assert response.json()["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
    assert demo_issuer().kid  # the demo issuer signed the original
