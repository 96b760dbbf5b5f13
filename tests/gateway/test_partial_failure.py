"""Partial failure by design: one subgraph down blanks its own fields, never the page.

Every field one subgraph adds to another's type is nullable (ratingBadge, averageRating,
ratingCount, artwork, reviews, a review's author), so the null an outage leaves stops at the
field, and its error says which subgraph and what happened, in production as in dev mode.
"""

from __future__ import annotations

from typing import Any

import pytest

from edge.policy import AVAILABILITY_MESSAGES
from tests.gateway.demo_support import demo_gateway, device_query

MEMBER = {"x-member-id": "m1"}
#: the TV tile's fields each subgraph owns (catalog's are the rest)
OWNED = {"ratings": ("averageRating", "ratingBadge"), "artwork": ("artwork",), "members": ()}
#: of those, the ones a healthy subgraph never leaves null (an unrated title has no average)
NEVER_NULL = {"ratings": ("ratingBadge",), "artwork": ("artwork",), "members": ()}


async def _tv_home(down: str, *, dev: bool) -> dict[str, Any]:
    async with demo_gateway(dev=dev, down=[down]) as demo:
        response = await demo.client.post(
            "/graphql", json={"query": device_query("tv/home.graphql")}, headers=MEMBER
        )
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


@pytest.mark.parametrize("down", ["ratings", "artwork", "members"])
async def test_partial_failure_tv_home_degrades_without_disappearing(down: str) -> None:
    body = await _tv_home(down, dev=False)
    rows = body["data"]["genres"]
    # Every row and every title stays, with catalog's fields; only the down subgraph's blank.
    assert len(rows) == 10
    tiles = [tile for row in rows for tile in row["titles"]["nodes"]]
    assert len(tiles) == 200
    assert all(tile["name"] and tile["maturityRating"] for tile in tiles)
    for name, fields in NEVER_NULL.items():
        for tile in tiles:
            for field in fields:
                assert (tile[field] is None) == (name == down), (name, field, tile)
    assert all(tile[field] is None for tile in tiles for field in OWNED[down])
    # Whether `me` is there without members depends on how the gateway signs members in; with
    # members down it is null, with its error.
    if down == "members":
        assert body["data"]["me"] is None
    # Masked in production, yet the code (and a message without internals) says what happened.
    codes = {error["extensions"]["code"] for error in body["errors"]}
    assert codes == {"SUBGRAPH_UNAVAILABLE"}
    assert {error["message"] for error in body["errors"]} == {AVAILABILITY_MESSAGES[codes.pop()]}
    owned = OWNED[down] or ("me",)
    assert all(error["path"][-1] in owned for error in body["errors"] if "path" in error)


async def test_partial_failure_errors_name_the_subgraph_in_dev_mode() -> None:
    body = await _tv_home("ratings", dev=True)
    paths = {tuple(error["path"][-1:]) for error in body["errors"] if "path" in error}
    assert paths == {("averageRating",), ("ratingBadge",)}
    assert {error["extensions"]["serviceName"] for error in body["errors"]} == {"ratings"}
    assert all('"ratings"' in error["message"] for error in body["errors"])


async def test_partial_failure_members_down_keeps_reviews_without_authors() -> None:
    async with demo_gateway(dev=False, down=["members"]) as demo:
        response = await demo.client.post(
            "/graphql",
            json={"query": device_query("web/title.graphql"), "variables": {"id": "t2"}},
        )
    body = response.json()
    title = body["data"]["title"]
    assert title["name"] and title["ratingBadge"]
    reviews = title["reviews"]["nodes"]
    assert reviews and all(review["stars"] and review["author"] is None for review in reviews)
    assert {error["extensions"]["code"] for error in body["errors"]} == {"SUBGRAPH_UNAVAILABLE"}
