"""The members subgraph over a real members backend."""

from __future__ import annotations

import pytest

from tests.schema.harness import serve_subgraph

ME = "{ me { id name maturityLevel } }"
MY_LIST = "mutation ($input: MyListInput!) { %s(input: $input) { id myList { id } } }"


async def test_members_me_comes_from_the_member_header() -> None:
    async with serve_subgraph("members") as members:
        signed_in = await members.execute(ME, headers={"x-member-id": "m3"})
        anonymous = await members.execute(ME)
        unknown = await members.execute(ME, headers={"x-member-id": "m999999"})
    me = signed_in["data"]["me"]
    assert me["id"] == "m3" and me["name"] and me["maturityLevel"] in {"KIDS", "TEEN", "ADULT"}
    assert anonymous == {"data": {"me": None}}
    assert unknown == {"data": {"me": None}}


async def test_members_entities_answer_in_order_with_unknown_keys_null() -> None:
    representations = [
        {"__typename": "Member", "id": "m4"},
        {"__typename": "Member", "id": "m999999"},
        {"__typename": "Member", "id": "m1"},
        {"__typename": "Member", "id": "bogus!"},
    ]
    async with serve_subgraph("members") as members:
        body = await members.entities(representations, "... on Member { id name }")
    assert "errors" not in body
    assert [e and e["id"] for e in body["data"]["_entities"]] == ["m4", None, "m1", None]


async def test_members_continue_watching_provides_title_names() -> None:
    query = '{ member(id: "m1") { continueWatching { positionSeconds title { id name } } } }'
    async with serve_subgraph("members") as members:
        body = await members.execute(query)
    items = body["data"]["member"]["continueWatching"]
    assert items and all(item["title"]["name"] and item["positionSeconds"] >= 0 for item in items)


async def test_members_add_and_remove_from_my_list() -> None:
    variables = {"input": {"memberId": "m2", "titleId": "t42"}}
    async with serve_subgraph("members") as members:
        before = await members.execute('{ member(id: "m2") { myList { id } } }')
        added = await members.execute(MY_LIST % "addToMyList", variables)
        twice = await members.execute(MY_LIST % "addToMyList", variables)
        removed = await members.execute(MY_LIST % "removeFromMyList", variables)
        unknown = await members.execute(
            MY_LIST % "addToMyList", {"input": {"memberId": "m999999", "titleId": "t1"}}
        )
    start = [t["id"] for t in before["data"]["member"]["myList"] if t["id"] != "t42"]
    assert [t["id"] for t in added["data"]["addToMyList"]["myList"]] == [*start, "t42"]
    assert twice["data"]["addToMyList"] == added["data"]["addToMyList"]
    assert [t["id"] for t in removed["data"]["removeFromMyList"]["myList"]] == start
    (error,) = unknown["errors"]
    assert unknown["data"] is None
    assert error["path"] == ["addToMyList"]
    assert error["extensions"]["code"] == "BAD_USER_INPUT"
    assert "m999999" in error["message"]


@pytest.mark.parametrize("count", [1, 10, 100])
async def test_members_entities_make_one_backend_call_per_loader(count: int) -> None:
    ids = [f"m{i % 50 + 1}" for i in range(count)]
    representations = [{"__typename": "Member", "id": member_id} for member_id in ids]
    selection = "... on Member { id name myList { id } continueWatching { positionSeconds } }"
    async with serve_subgraph("members") as members:
        body = await members.entities(representations, selection)
        requests = await members.backend_requests()
    assert [e["id"] for e in body["data"]["_entities"]] == ids
    assert requests == 3
