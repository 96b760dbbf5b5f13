"""Batching helpers: grouping by call parameters, key checks, record parsing."""

from __future__ import annotations

import httpx
import pytest
from graphql import GraphQLError

from resolvers.batching import PageKey, check_range, expect, load_by_ids, load_grouped, parse_each
from resolvers.http import BackendBadResponse, BackendClient


async def test_batching_load_grouped_fetches_each_group_once_in_key_order() -> None:
    calls: list[tuple[int, list[str]]] = []

    async def fetch(size: int, group: list[str]) -> list[str]:
        calls.append((size, group))
        return [f"{key}@{size}" for key in group]

    keys = ["a:1", "b:2", "c:1", "d:2", "e:3"]
    answers = await load_grouped(keys, lambda key: int(key[-1]), fetch)
    assert answers == ["a:1@1", "b:2@2", "c:1@1", "d:2@2", "e:3@3"]
    assert sorted(calls) == [(1, ["a:1", "c:1"]), (2, ["b:2", "d:2"]), (3, ["e:3"])]


async def test_batching_a_failed_group_rejects_only_its_keys() -> None:
    boom = ValueError("group 2 failed")

    async def fetch(size: int, group: list[str]) -> list[str]:
        if size == 2:
            raise boom
        return group

    answers = await load_grouped(["a1", "b2", "c1"], lambda k: int(k[1]), fetch)
    # The failed group's exception stands in for its keys' values: aiodataloader rejects them.
    assert answers == ["a1", boom, "c1"]


async def test_batching_load_by_ids_never_sends_malformed_ids() -> None:
    sent: list[bytes] = []

    def handler(request: httpx.Request) -> httpx.Response:
        sent.append(request.content)
        return httpx.Response(200, json={"results": ["T1", None]})

    http = httpx.AsyncClient(transport=httpx.MockTransport(handler))
    backend = BackendClient(service="catalog", base_url="http://b", http=http)
    keys = ["t1", "DROP TABLE", "t2", ""]
    assert await load_by_ids(backend, "/titles/batch", keys, str.lower) == ["t1", None, None, None]
    assert sent == [b'{"ids":["t1","t2"]}']
    assert await load_by_ids(backend, "/titles/batch", ["??"], str.lower) == [None]
    assert len(sent) == 1


def test_batching_parse_each_turns_contract_breaks_into_bad_responses() -> None:
    backend = BackendClient(service="members", base_url="http://b", http=httpx.AsyncClient())
    assert parse_each(backend, "/x", [{"id": "m1"}, None], lambda raw: raw["id"]) == ["m1", None]
    with pytest.raises(BackendBadResponse, match=r"POST /x: malformed result \(KeyError"):
        parse_each(backend, "/x", [{"name": "m1"}], lambda raw: raw["id"])


def test_batching_expect_and_check_range() -> None:
    assert expect("t1", str) == "t1"
    with pytest.raises(TypeError, match="expected int, got str"):
        expect("3", int)
    assert check_range("first", 5, 1, 50) == 5
    with pytest.raises(GraphQLError) as caught:
        check_range("first", 51, 1, 50)
    assert caught.value.message == "'first' must be from 1 to 50, got 51"
    assert caught.value.extensions == {"code": "BAD_USER_INPUT"}


def test_batching_page_keys_group_by_window() -> None:
    assert PageKey("g1", 20, None).window == PageKey("g2", 20, None).window == (20, None)
    assert PageKey("g1", 20, None) != PageKey("g1", 20, "abc")
