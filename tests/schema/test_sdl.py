"""Golden SDL: each subgraph's `_service { sdl }` must match the checked-in file exactly.

After an intended schema change, regenerate with `EDGEGRAPH_UPDATE_GOLDEN=1 pytest
tests/schema/test_sdl.py` and review the diff like code.
"""

from __future__ import annotations

import os

import pytest
from graphql import parse

from tests.schema.harness import GOLDEN, SUBGRAPHS, serve_subgraph


async def fetch_sdl(name: str) -> str:
    async with serve_subgraph(name) as subgraph:
        body = await subgraph.execute("{ _service { sdl } }")
    sdl: str = body["data"]["_service"]["sdl"]
    return sdl + "\n"


@pytest.mark.parametrize("name", sorted(SUBGRAPHS))
async def test_sdl_matches_golden_file(name: str) -> None:
    sdl = await fetch_sdl(name)
    golden = GOLDEN / f"{name}.graphql"
    if os.environ.get("EDGEGRAPH_UPDATE_GOLDEN") == "1":
        golden.write_text(sdl)
    assert golden.exists(), f"no golden SDL for {name}: run with EDGEGRAPH_UPDATE_GOLDEN=1"
    assert sdl == golden.read_text(), f"{name} SDL drifted from {golden}"
    parse(sdl)


@pytest.mark.parametrize(
    ("name", "snippet"),
    [
        ("catalog", 'type Title @key(fields: "id") @key(fields: "slug")'),
        ("catalog", 'type Genre @key(fields: "id")'),
        ("catalog", "type PageInfo @shareable"),
        ("catalog", "genreIds: [ID!]! @inaccessible"),
        ("catalog", "union SearchResult = Title | Genre"),
        ("catalog", "search(term: String!, first: Int! = 10): [SearchResult!]!"),
        ("catalog", "titles(first: Int! = 20, after: String = null): TitleConnection!"),
        ("artwork", 'type Artwork @key(fields: "titleId format width")'),
        ("artwork", "artwork(format: ArtworkFormat!, width: Int!): Artwork"),
        ("ratings", "maturityRating: String! @external"),
        ("ratings", 'ratingBadge: String @requires(fields: "maturityRating")'),
        ("ratings", 'type Member @key(fields: "id", resolvable: false)'),
        ("ratings", "type PageInfo @shareable"),
        ("ratings", "reviews(first: Int! = 10, after: String = null): ReviewConnection"),
        ("members", 'title: Title! @provides(fields: "name")'),
        ("members", "name: String! @external"),
        ("members", 'type Member @key(fields: "id")'),
        ("members", "addToMyList(input: MyListInput!): Member!"),
        ("members", "enum MaturityLevel"),
    ],
)
async def test_sdl_declares_federation_feature(name: str, snippet: str) -> None:
    sdl = (GOLDEN / f"{name}.graphql").read_text()
    assert snippet in sdl
    assert "https://specs.apollo.dev/federation/v2" in sdl
