"""The catalog subgraph over a real catalog backend."""

from __future__ import annotations

import pytest

from tests.schema.harness import serve_subgraph


async def test_catalog_entities_answer_in_order_with_unknown_keys_null() -> None:
    representations = [
        {"__typename": "Title", "id": "t3"},
        {"__typename": "Title", "id": "t999999"},
        {"__typename": "Genre", "id": "g2"},
        {"__typename": "Title", "slug": "no-such-title"},
        {"__typename": "Title", "id": "t1"},
        {"__typename": "Genre", "id": "g99"},
        {"__typename": "Title", "id": "not an id"},
    ]
    async with serve_subgraph("catalog") as catalog:
        slug = (await catalog.execute('{ title(id: "t2") { slug } }'))["data"]["title"]["slug"]
        representations.append({"__typename": "Title", "slug": slug})
        body = await catalog.entities(
            representations, "__typename ... on Title { id slug } ... on Genre { id name }"
        )
    assert "errors" not in body
    entities = body["data"]["_entities"]
    assert [e and e.get("id") for e in entities] == [
        "t3", None, "g2", None, "t1", None, None, "t2",
    ]  # fmt: skip
    assert entities[2]["__typename"] == "Genre" and entities[2]["name"]
    assert entities[7]["slug"] == slug


async def test_catalog_root_fields_look_titles_up() -> None:
    query = """{
      title(id: "t1") { id name kind releaseYear runtimeMinutes maturityRating genres { id } }
      missing: title(id: "t999999") { id }
      titles(ids: ["t2", "t999999", "bad id", "t1"]) { id }
      genres(first: 3) { id name }
      genre(id: "g1") { name }
    }"""
    async with serve_subgraph("catalog") as catalog:
        data = (await catalog.execute(query))["data"]
        by_slug = await catalog.execute(
            "query ($slug: String!) { titleBySlug(slug: $slug) { id } }",
            {
                "slug": (await catalog.execute('{ title(id: "t1") { slug } }'))["data"]["title"][
                    "slug"
                ]
            },
        )
    title = data["title"]
    assert title["id"] == "t1" and title["kind"] in {"MOVIE", "SHOW"} and title["genres"]
    assert data["missing"] is None
    assert [t and t["id"] for t in data["titles"]] == ["t2", None, None, "t1"]
    assert [g["id"] for g in data["genres"]] == ["g1", "g2", "g3"]
    assert data["genre"]["name"]
    assert by_slug["data"]["titleBySlug"] == {"id": "t1"}


async def test_catalog_genre_titles_page_with_cursor() -> None:
    query = """query ($first: Int!, $after: String) { genre(id: "g1") {
        titles(first: $first, after: $after) { nodes { id } pageInfo { endCursor hasNextPage } }
    } }"""
    async with serve_subgraph("catalog") as catalog:
        first = (await catalog.execute(query, {"first": 5}))["data"]["genre"]["titles"]
        cursor = first["pageInfo"]["endCursor"]
        second = (await catalog.execute(query, {"first": 5, "after": cursor}))["data"]
        both = (await catalog.execute(query, {"first": 10}))["data"]
    assert first["pageInfo"]["hasNextPage"] is True and len(first["nodes"]) == 5
    ids = [n["id"] for n in first["nodes"] + second["genre"]["titles"]["nodes"]]
    assert ids == [n["id"] for n in both["genre"]["titles"]["nodes"]]


async def test_catalog_search_returns_titles_and_genres() -> None:
    query = """{ search(term: "drama", first: 5) { __typename ... on Genre { id name } }
      titles: search(term: "the", first: 3) { __typename ... on Title { id name } } }"""
    async with serve_subgraph("catalog") as catalog:
        data = (await catalog.execute(query))["data"]
    assert {"__typename": "Genre", "id": "g1", "name": "Drama"} in data["search"]
    assert len(data["titles"]) == 3
    assert all(
        hit["__typename"] == "Title" and "the" in hit["name"].lower() for hit in data["titles"]
    )


async def test_catalog_paging_arguments_out_of_range_are_bad_user_input() -> None:
    async with serve_subgraph("catalog") as catalog:
        body = await catalog.execute('{ genre(id: "g1") { titles(first: 0) { nodes { id } } } }')
        assert await catalog.backend_requests() == 1
    (error,) = body["errors"]
    assert error["path"] == ["genre", "titles"]
    assert error["extensions"]["code"] == "BAD_USER_INPUT"


@pytest.mark.parametrize("count", [1, 10, 100])
async def test_catalog_entities_make_one_backend_call_per_loader(count: int) -> None:
    representations = [{"__typename": "Title", "id": f"t{i}"} for i in range(1, count + 1)]
    async with serve_subgraph("catalog") as catalog:
        body = await catalog.entities(representations, "... on Title { id name genres { name } }")
        requests = await catalog.backend_requests()
    assert [e["id"] for e in body["data"]["_entities"]] == [r["id"] for r in representations]
    # One POST /titles/batch for every title, one POST /genres/batch for every genre.
    assert requests == 2


async def test_catalog_home_rows_batch_each_level_into_one_call() -> None:
    query = "{ genres(first: 10) { name titles(first: 20) { nodes { name } } } }"
    async with serve_subgraph("catalog") as catalog:
        body = await catalog.execute(query)
        requests = await catalog.backend_requests()
    rows = body["data"]["genres"]
    assert len(rows) == 10 and all(0 < len(row["titles"]["nodes"]) <= 20 for row in rows)
    # GET /genres, POST /genres/batch, POST /genres/titles/batch, POST /titles/batch: the
    # ten rows' pages share one call, and so do their 200 titles.
    assert requests == 4
