from __future__ import annotations

from typing import Any

import pytest

from backends import members
from backends.ratings import create_app
from tests.backends.support import post, results


async def test_ratings_batch_covers_every_title() -> None:
    ids = [f"t{n}" for n in range(1, 501)]
    answers = await results(create_app(titles=500, members=30), "/ratings/batch", {"ids": ids})
    assert [answer["titleId"] for answer in answers] == ids
    for answer in answers:
        if answer["count"] == 0:
            assert answer["average"] is None
        else:
            assert 1 <= answer["average"] <= 5
            assert round(answer["average"], 2) == answer["average"]
    assert any(answer["count"] == 0 for answer in answers)


async def test_ratings_batch_keeps_order_nulls_unknown_and_answers_duplicates() -> None:
    answers = await results(create_app(), "/ratings/batch", {"ids": ["t4", "t9999", "t4", "t1"]})
    assert [answer and answer["titleId"] for answer in answers] == ["t4", None, "t4", "t1"]


async def test_ratings_count_includes_every_review() -> None:
    app = create_app(titles=200, members=20)
    ids = [f"t{n}" for n in range(1, 201)]
    counts = await results(app, "/ratings/batch", {"ids": ids})
    pages = await results(app, "/reviews/by-title/batch", {"ids": ids, "first": 1})
    assert all(
        rating["count"] >= page["totalCount"] for rating, page in zip(counts, pages, strict=True)
    )


async def collect_reviews(app: Any, title: str, first: int) -> tuple[list[str], int]:
    seen: list[str] = []
    after: str | None = None
    while True:
        body = {"ids": [title], "first": first, "after": after}
        (page,) = await results(app, "/reviews/by-title/batch", body)
        seen += page["reviewIds"]
        if not page["hasNextPage"]:
            return seen, page["totalCount"]
        after = page["endCursor"]


async def test_reviews_by_title_pagination_round_trips() -> None:
    app = create_app()
    for title in ("t1", "t2", "t3", "t4"):
        paged, total = await collect_reviews(app, title, first=2)
        (whole,) = await results(app, "/reviews/by-title/batch", {"ids": [title], "first": 50})
        assert paged == whole["reviewIds"]
        assert len(paged) == total == whole["totalCount"]
        reviews = await results(app, "/reviews/batch", {"ids": paged})
        assert all(review["titleId"] == title for review in reviews)
        dates = [review["createdAt"] for review in reviews]
        assert dates == sorted(dates, reverse=True)


async def test_reviews_by_title_defaults_and_unknown() -> None:
    answers = await results(create_app(), "/reviews/by-title/batch", {"ids": ["t0", "t1"]})
    assert answers[0] is None
    assert len(answers[1]["reviewIds"]) == min(10, answers[1]["totalCount"])


async def test_reviews_by_title_empty_title_has_no_cursor() -> None:
    app = create_app(titles=300, members=20)
    ids = [f"t{n}" for n in range(1, 301)]
    pages = await results(app, "/reviews/by-title/batch", {"ids": ids})
    empty = [page for page in pages if page["totalCount"] == 0]
    assert empty
    assert empty[0] == {"reviewIds": [], "endCursor": None, "hasNextPage": False, "totalCount": 0}


@pytest.mark.parametrize(
    "extra", [{"first": 0}, {"first": 51}, {"first": None, "after": "x"}, {"after": ["c"]}]
)
async def test_reviews_by_title_rejects_bad_params(extra: dict[str, object]) -> None:
    response = await post(create_app(), "/reviews/by-title/batch", {"ids": ["t1"], **extra})
    assert response.status_code == 400
    assert response.json()["error"]


async def test_reviews_batch_record_shape() -> None:
    answers = await results(create_app(), "/reviews/batch", {"ids": ["r3", "r0", "r999999", "r3"]})
    assert answers[1] is None
    assert answers[2] is None
    assert answers[0] == answers[3]
    review = answers[0]
    assert set(review) == {"id", "titleId", "memberId", "stars", "body", "createdAt"}
    assert review["id"] == "r3"
    assert 1 <= review["stars"] <= 5
    assert review["body"]
    assert len(review["createdAt"]) == 10


async def test_reviews_authors_exist_in_members() -> None:
    ratings_app = create_app(titles=100, members=25, batch_limit=1000)
    members_app = members.create_app(titles=100, members=25)
    ids = [f"t{n}" for n in range(1, 101)]
    pages = await results(ratings_app, "/reviews/by-title/batch", {"ids": ids, "first": 50})
    review_ids = [review for page in pages for review in page["reviewIds"]]
    reviews = await results(ratings_app, "/reviews/batch", {"ids": review_ids})
    authors = sorted({review["memberId"] for review in reviews})
    profiles = await results(members_app, "/members/batch", {"ids": authors})
    assert len(reviews) > 100
    assert all(profile is not None for profile in profiles)
