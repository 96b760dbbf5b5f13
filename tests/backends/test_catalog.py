from __future__ import annotations

from typing import Any

import pytest

from backends.catalog import create_app
from backends.data import GENRES
from tests.backends.support import get, post, results

TITLE_KEYS = {
    "id", "slug", "name", "kind", "releaseYear", "runtimeMinutes", "maturityRating", "genreIds",
}  # fmt: skip


async def test_titles_batch_keeps_order_and_nulls_unknown() -> None:
    answers = await results(create_app(), "/titles/batch", {"ids": ["t3", "t999999", "t1", "t0"]})
    assert [answer and answer["id"] for answer in answers] == ["t3", None, "t1", None]


async def test_titles_batch_answers_duplicates() -> None:
    answers = await results(create_app(), "/titles/batch", {"ids": ["t7", "t7", "t2", "t7"]})
    assert [answer["id"] for answer in answers] == ["t7", "t7", "t2", "t7"]
    assert answers[0] == answers[1] == answers[3]


async def test_titles_batch_record_shape() -> None:
    (title,) = await results(create_app(), "/titles/batch", {"ids": ["t42"]})
    assert set(title) == TITLE_KEYS
    assert title["kind"] in {"MOVIE", "SHOW"}
    assert title["maturityRating"] in {"G", "PG", "PG-13", "R", "TV-MA"}
    assert 1950 <= title["releaseYear"] <= 2025
    assert 20 <= title["runtimeMinutes"] <= 180
    assert 1 <= len(title["genreIds"]) <= 3
    assert title["slug"].endswith("-42")


async def test_titles_batch_same_seed_same_data_across_apps() -> None:
    ids = {"ids": [f"t{n}" for n in range(1, 60)]}
    assert await results(create_app(seed=7), "/titles/batch", ids) == await results(
        create_app(seed=7), "/titles/batch", ids
    )
    assert await results(create_app(seed=7), "/titles/batch", ids) != await results(
        create_app(seed=8), "/titles/batch", ids
    )


async def test_titles_batch_over_many_chunks() -> None:
    ids = [f"t{n}" for n in range(1, 1301)]
    answers = await results(create_app(batch_limit=2000), "/titles/batch", {"ids": ids})
    assert [answer["id"] for answer in answers] == ids


async def test_titles_by_slug_round_trips() -> None:
    app = create_app()
    titles = await results(app, "/titles/batch", {"ids": ["t5", "t6"]})
    slugs = [title["slug"] for title in titles]
    by_slug = await results(
        app, "/titles/by-slug/batch", {"ids": [slugs[1], "no-such-1", slugs[0]]}
    )
    assert by_slug == [titles[1], None, titles[0]]


@pytest.mark.parametrize("bad", ["", "Upper-Case", "has space", "t_1", 12])
async def test_titles_by_slug_rejects_malformed(bad: object) -> None:
    response = await post(create_app(), "/titles/by-slug/batch", {"ids": ["ok-1", bad]})
    assert response.status_code == 400
    assert "invalid slug" in response.json()["error"]


async def test_genres_batch_has_real_names() -> None:
    answers = await results(create_app(), "/genres/batch", {"ids": ["g2", "g25", "g1"]})
    assert answers == [{"id": "g2", "name": GENRES[1]}, None, {"id": "g1", "name": "Drama"}]


async def test_genres_lists_all_in_order() -> None:
    response = await get(create_app(), "/genres")
    assert response.json() == {"results": [f"g{n}" for n in range(1, 25)]}


async def collect_genre(app: Any, genre: str, first: int) -> list[str]:
    seen: list[str] = []
    after: str | None = None
    while True:
        (page,) = await results(
            app, "/genres/titles/batch", {"ids": [genre], "first": first, "after": after}
        )
        seen += page["titleIds"]
        if not page["hasNextPage"]:
            return seen
        assert len(page["titleIds"]) == first
        after = page["endCursor"]


async def test_genres_titles_pagination_round_trips() -> None:
    app = create_app(titles=300, members=20)
    paged = await collect_genre(app, "g3", first=7)
    (everything,) = await results(app, "/genres/titles/batch", {"ids": ["g3"], "first": 100})
    assert paged
    assert len(paged) == len(set(paged))
    assert paged == sorted(paged, key=lambda key: int(key[1:]))
    titles = await results(app, "/titles/batch", {"ids": paged})
    assert all("g3" in title["genreIds"] for title in titles)
    if not everything["hasNextPage"]:
        assert everything["titleIds"] == paged


async def test_genres_titles_batch_keeps_order_and_nulls_unknown() -> None:
    answers = await results(
        create_app(), "/genres/titles/batch", {"ids": ["g2", "g99", "g1"], "first": 2}
    )
    assert answers[1] is None
    assert all(
        len(answer["titleIds"]) == 2 and answer["hasNextPage"]
        for answer in (answers[0], answers[2])
    )
    assert answers[0]["titleIds"] != answers[2]["titleIds"]


async def test_genres_titles_past_the_end_is_empty() -> None:
    app = create_app(titles=50, members=5)
    (page,) = await results(app, "/genres/titles/batch", {"ids": ["g1"], "first": 100})
    assert page["hasNextPage"] is False
    (after,) = await results(
        app, "/genres/titles/batch", {"ids": ["g1"], "after": page["endCursor"]}
    )
    assert after == {"titleIds": [], "endCursor": None, "hasNextPage": False}


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        ({"first": 0}, "'first' must be an integer from 1 to 100"),
        ({"first": 101}, "'first'"),
        ({"first": "5"}, "'first'"),
        ({"first": True}, "'first'"),
        ({"after": "not-a-cursor"}, "invalid cursor"),
        ({"after": 5}, "'after' must be a string or null"),
    ],
)
async def test_genres_titles_rejects_bad_params(extra: dict[str, object], message: str) -> None:
    response = await post(create_app(), "/genres/titles/batch", {"ids": ["g1"], **extra})
    assert response.status_code == 400
    assert message in response.json()["error"]


async def test_titles_list_pages_through_everything() -> None:
    app = create_app(titles=95, members=5)
    seen: list[str] = []
    path = "/titles?first=20"
    while True:
        page = (await get(app, path)).json()
        seen += page["titleIds"]
        if not page["hasNextPage"]:
            break
        path = f"/titles?first=20&after={page['endCursor']}"
    assert seen == [f"t{n}" for n in range(1, 96)]


@pytest.mark.parametrize("query", ["first=0", "first=101", "first=abc", "after=bogus"])
async def test_titles_list_rejects_bad_params(query: str) -> None:
    response = await get(create_app(), f"/titles?{query}")
    assert response.status_code == 400
    assert response.json()["error"]


async def test_search_matches_titles_then_genres_case_insensitively() -> None:
    app = create_app()
    found = (await get(app, "/search?q=SCIENCE&first=50")).json()["results"]
    assert found == [{"type": "genre", "id": "g9"}]
    mixed = (await get(create_app(titles=30, members=5), "/search?q=r&first=50")).json()["results"]
    kinds = [hit["type"] for hit in mixed]
    assert "title" in kinds
    assert "genre" in kinds
    assert kinds == sorted(kinds, key=lambda kind: kind != "title")


async def test_search_stops_at_first() -> None:
    app = create_app()
    assert len((await get(app, "/search?q=e")).json()["results"]) == 10
    assert len((await get(app, "/search?q=e&first=50")).json()["results"]) == 50


async def test_search_hits_contain_the_text() -> None:
    app = create_app()
    hits = (await get(app, "/search?q=harbor")).json()["results"]
    assert len(hits) == 10
    titles = await results(app, "/titles/batch", {"ids": [hit["id"] for hit in hits]})
    assert all("harbor" in title["name"].lower() for title in titles)


async def test_search_returns_genres_when_titles_run_short() -> None:
    hits = (await get(create_app(), "/search?q=drama")).json()["results"]
    assert {"type": "genre", "id": "g1"} in hits


async def test_search_treats_wildcards_literally() -> None:
    assert (await get(create_app(), "/search?q=%25")).json() == {"results": []}


@pytest.mark.parametrize("query", ["", "?q=", "?first=5", "?q=x&first=0", "?q=x&first=51"])
async def test_search_rejects_bad_params(query: str) -> None:
    response = await get(create_app(), f"/search{query}")
    assert response.status_code == 400
    assert response.json()["error"]
