"""The members subgraph over a real members backend."""

from __future__ import annotations

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from edge.passport import PASSPORT_HEADER, Identity, PassportSigner
from tests.schema.harness import as_member, serve_subgraph

ME = "{ me { id name maturityLevel } }"
MY_LIST = "mutation ($input: MyListInput!) { %s(input: $input) { id myList { id } } }"


async def test_members_me_comes_from_the_gateway_passport_only() -> None:
    forger = PassportSigner(Ed25519PrivateKey.generate())
    async with serve_subgraph("members") as members:
        signed_in = await members.execute(ME, headers=as_member("m3"))
        anonymous = await members.execute(ME)
        unknown = await members.execute(ME, headers=as_member("m999999"))
        claimed = await members.execute(ME, headers={"x-member-id": "m3"})
        forged = await members.execute(
            ME, headers={PASSPORT_HEADER: forger.sign(Identity(subject="m3"))}
        )
        garbage = await members.execute(ME, headers={PASSPORT_HEADER: "m3"})
    me = signed_in["data"]["me"]
    assert me["id"] == "m3" and me["name"] and me["maturityLevel"] in {"KIDS", "TEEN", "ADULT"}
    for body in (anonymous, unknown, claimed, forged, garbage):
        assert body == {"data": {"me": None}}


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
    query = "{ me { continueWatching { positionSeconds title { id name } } } }"
    async with serve_subgraph("members") as members:
        body = await members.execute(query, headers=as_member("m1"))
    items = body["data"]["me"]["continueWatching"]
    assert items and all(item["title"]["name"] and item["positionSeconds"] >= 0 for item in items)


async def test_members_add_and_remove_change_the_callers_list_only() -> None:
    variables = {"input": {"titleId": "t42"}}
    m2, m3 = as_member("m2"), as_member("m3")
    my_list = "{ me { myList { id } } }"
    async with serve_subgraph("members") as members:
        before = await members.execute(my_list, headers=m2)
        other_before = await members.execute(my_list, headers=m3)
        added = await members.execute(MY_LIST % "addToMyList", variables, headers=m2)
        twice = await members.execute(MY_LIST % "addToMyList", variables, headers=m2)
        other_after = await members.execute(my_list, headers=m3)
        removed = await members.execute(MY_LIST % "removeFromMyList", variables, headers=m2)
        unknown = await members.execute(
            MY_LIST % "addToMyList", {"input": {"titleId": "t1"}}, headers=as_member("m999999")
        )
    start = [t["id"] for t in before["data"]["me"]["myList"] if t["id"] != "t42"]
    assert added["data"]["addToMyList"]["id"] == "m2"
    assert [t["id"] for t in added["data"]["addToMyList"]["myList"]] == [*start, "t42"]
    assert twice["data"]["addToMyList"] == added["data"]["addToMyList"]
    assert other_after == other_before  # nobody else's list moved
    assert [t["id"] for t in removed["data"]["removeFromMyList"]["myList"]] == start
    (error,) = unknown["errors"]
    assert unknown["data"] is None
    assert error["path"] == ["addToMyList"]
    assert error["extensions"]["code"] == "BAD_USER_INPUT"
    assert "m999999" in error["message"]


@pytest.mark.parametrize("mutation", ["addToMyList", "removeFromMyList"])
async def test_members_my_list_mutations_refuse_anonymous_callers(mutation: str) -> None:
    variables = {"input": {"titleId": "t42"}}
    my_list = "{ me { myList { id } } }"
    async with serve_subgraph("members") as members:
        before = await members.execute(my_list, headers=as_member("m2"))
        body = await members.execute(MY_LIST % mutation, variables, headers={"x-member-id": "m2"})
        after = await members.execute(my_list, headers=as_member("m2"))
    assert body["data"] is None
    (error,) = body["errors"]
    assert error["extensions"]["code"] == "UNAUTHENTICATED"
    assert after == before


async def test_members_my_list_input_names_no_member() -> None:
    bad = {"input": {"memberId": "m3", "titleId": "t42"}}
    async with serve_subgraph("members") as members:
        body = await members.execute(MY_LIST % "addToMyList", bad, headers=as_member("m2"))
    # The caller cannot even name someone else: the input type has no such field.
    assert body["data"] is None
    assert "memberId" in body["errors"][0]["message"]


@pytest.mark.parametrize("count", [1, 10, 100])
async def test_members_entities_make_one_backend_call_per_loader(count: int) -> None:
    ids = [f"m{i % 50 + 1}" for i in range(count)]
    representations = [{"__typename": "Member", "id": member_id} for member_id in ids]
    own = [{"__typename": "Member", "id": "m7"}] * count
    lists = "... on Member { id myList { id } continueWatching { positionSeconds } }"
    async with serve_subgraph("members") as members:
        body = await members.entities(representations, "... on Member { id name }")
        named = await members.backend_requests()
        mine = await members.entities(own, lists, headers=as_member("m7"))
        requests = await members.backend_requests()
    assert [e["id"] for e in body["data"]["_entities"]] == ids
    assert named == 1
    assert "errors" not in mine and len(mine["data"]["_entities"]) == count
    assert requests == 4  # then one call each for the member, the list and continue watching


async def test_members_lists_are_their_members_own() -> None:
    query = '{ member(id: "m2") { name myList { id } } }'
    selection = "... on Member { id continueWatching { positionSeconds } }"
    async with serve_subgraph("members") as members:
        other = await members.execute(query, headers=as_member("m3"))
        anonymous = await members.execute(query)
        entity = await members.entities(
            [{"__typename": "Member", "id": "m2"}], selection, headers=as_member("m3")
        )
        own = await members.execute(query, headers=as_member("m2"))
    for body in (other, anonymous, entity):
        assert body["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    assert other["data"]["member"] is None and entity["data"]["_entities"] == [None]
    assert own["data"]["member"]["myList"] is not None
