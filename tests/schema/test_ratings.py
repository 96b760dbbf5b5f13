"""The ratings subgraph over a real ratings backend."""

from __future__ import annotations

import pytest

from tests.schema.harness import serve_subgraph

RATING = "id averageRating ratingCount"


async def test_ratings_entities_answer_in_order_with_unknown_keys_null() -> None:
    representations = [
        {"__typename": "Title", "id": "t5"},
        {"__typename": "Title", "id": "t999999"},
        {"__typename": "Review", "id": "r1"},
        {"__typename": "Title", "id": "t2"},
        {"__typename": "Review", "id": "r99999999"},
    ]
    async with serve_subgraph("ratings") as ratings:
        body = await ratings.entities(
            representations,
            f"... on Title {{ {RATING} }}"
            " ... on Review { id stars author { id } title { id } }",
        )
    assert "errors" not in body
    entities = body["data"]["_entities"]
    assert [e and e["id"] for e in entities] == ["t5", None, "r1", "t2", None]
    assert entities[0]["ratingCount"] >= 0
    assert entities[2]["author"]["id"].startswith("m") and 1 <= entities[2]["stars"] <= 5


async def test_ratings_badge_uses_the_required_maturity_rating() -> None:
    async def badge(maturity_rating: str) -> str:
        representation = {"__typename": "Title", "id": "t1", "maturityRating": maturity_rating}
        body = await ratings.entities([representation], "... on Title { ratingBadge }")
        value: str = body["data"]["_entities"][0]["ratingBadge"]
        return value

    async with serve_subgraph("ratings") as ratings:
        adult, teen, kids = await badge("TV-MA"), await badge("PG-13"), await badge("G")
        missing = await ratings.entities(
            [{"__typename": "Title", "id": "t1"}], "... on Title { id ratingBadge }"
        )
    assert adult.endswith("· TV-MA") and teen.endswith("· PG-13") and kids.endswith("· family")
    assert len({adult, teen, kids}) == 3
    assert adult.split(" · ")[0] == teen.split(" · ")[0]
    (error,) = missing["errors"]
    assert error["path"] == ["_entities", 0, "ratingBadge"]
    assert error["extensions"]["code"] == "MISSING_REQUIRED_FIELD"


async def test_ratings_reviews_page_with_authors_as_member_references() -> None:
    selection = """... on Title { reviews(first: 2) { totalCount pageInfo { endCursor hasNextPage }
        nodes { id stars body createdAt author { id } } } }"""
    async with serve_subgraph("ratings") as ratings:
        body = await ratings.entities([{"__typename": "Title", "id": "t1"}], selection)
        connection = body["data"]["_entities"][0]["reviews"]
        after = connection["pageInfo"]["endCursor"]
        rest = await ratings.execute(
            """query ($representations: [_Any!]!, $after: String) {
                _entities(representations: $representations) {
                    ... on Title { reviews(first: 50, after: $after) { nodes { id } } } } }""",
            {"representations": [{"__typename": "Title", "id": "t1"}], "after": after},
        )
    assert len(connection["nodes"]) == min(2, connection["totalCount"])
    nodes = connection["nodes"] + rest["data"]["_entities"][0]["reviews"]["nodes"]
    assert len(nodes) == connection["totalCount"]
    assert len({node["id"] for node in nodes}) == len(nodes)


@pytest.mark.parametrize("count", [1, 10, 100])
async def test_ratings_of_many_titles_make_one_backend_call(count: int) -> None:
    representations = [
        {"__typename": "Title", "id": f"t{i}", "maturityRating": "R"} for i in range(1, count + 1)
    ]
    async with serve_subgraph("ratings") as ratings:
        body = await ratings.entities(representations, f"... on Title {{ {RATING} ratingBadge }}")
        assert await ratings.backend_requests() == 1
        await ratings.reset_stats()
        await ratings.entities(
            representations, "... on Title { reviews(first: 3) { nodes { body author { id } } } }"
        )
        # One call per loader: ratings (resolve_reference answers null for unknown titles),
        # review pages for every title, then reviews for every page.
        assert await ratings.backend_requests() == 3
    assert [e["id"] for e in body["data"]["_entities"]] == [r["id"] for r in representations]
