"""Per-request loaders against the real demo backends: one call per batch, keyed answers."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

import httpx
import pytest

from resolvers.artwork import ArtworkKey, ArtworkLoaders
from resolvers.batching import PageKey
from resolvers.catalog import CatalogLoaders, SearchKey
from resolvers.http import BackendClient
from resolvers.members import MembersLoaders, change_my_list
from resolvers.ratings import RatingRecord, RatingsLoaders, rating_badge
from tests.schema.harness import backend_app


@contextlib.asynccontextmanager
async def backend(name: str) -> AsyncIterator[BackendClient]:
    transport = httpx.ASGITransport(app=backend_app(name))
    async with httpx.AsyncClient(transport=transport, base_url="http://b") as http:
        yield BackendClient(service=name, base_url="http://b", http=http)


async def requests(client: BackendClient) -> int:
    count: int = (await client.http.get("http://b/stats")).json()["requests"]
    return count


@pytest.mark.parametrize("count", [1, 10, 100])
async def test_loaders_title_by_id_makes_one_call_for_n_keys(count: int) -> None:
    async with backend("catalog") as client:
        loaders = CatalogLoaders.create(client)
        ids = [f"t{i}" for i in range(1, count + 1)]
        records = await asyncio.gather(*map(loaders.title_by_id.load, ids))
        again = await loaders.title_by_id.load("t1")
        assert await requests(client) == 1
    assert [r and r.id for r in records] == ids
    assert again is records[0]


async def test_loaders_catalog_lookups() -> None:
    async with backend("catalog") as client:
        loaders = CatalogLoaders.create(client)
        title = await loaders.title_by_id.load("t1")
        assert title is not None
        by_slug, missing = await asyncio.gather(
            loaders.title_by_slug.load(title.slug), loaders.title_by_slug.load("Not A Slug")
        )
        genres = await loaders.genre_ids_by_list.load("all")
        page_a, page_b = await asyncio.gather(
            loaders.title_page_by_genre.load(PageKey("g1", 3, None)),
            loaders.title_page_by_genre.load(PageKey("g2", 3, None)),
        )
        hits = await loaders.search_hits_by_term.load(SearchKey("comedy", 5))
        everything = await loaders.title_page_by_cursor.load((2, None))
    assert by_slug == title and missing is None
    assert genres[:2] == ["g1", "g2"] and len(genres) == 24
    assert page_a is not None and page_b is not None
    assert len(page_a.title_ids) == 3 and page_a.title_ids != page_b.title_ids
    assert any(hit.kind == "genre" and hit.id == "g2" for hit in hits)
    assert everything.title_ids == ("t1", "t2") and everything.has_next_page


async def test_loaders_artwork_groups_by_format_and_width() -> None:
    async with backend("artwork") as client:
        loader = ArtworkLoaders.create(client).artwork_by_title
        keys = [
            ArtworkKey(f"t{i}", image_format, width)
            for i in range(1, 21)
            for image_format, width in (("BOXART", 342), ("BILLBOARD", 1920))
        ]
        records = await loader.load_many(keys)
        assert await requests(client) == 2
    assert all(r is not None and (r.title_id, r.format, r.width) == (k.title_id, k.format, k.width)
               for r, k in zip(records, keys, strict=True))  # fmt: skip


async def test_loaders_ratings_reviews_and_badge() -> None:
    async with backend("ratings") as client:
        loaders = RatingsLoaders.create(client)
        rating, unknown = await loaders.rating_by_title.load_many(["t1", "t999999"])
        pages = await loaders.review_page_by_title.load_many(
            [PageKey("t1", 2, None), PageKey("t2", 2, None), PageKey("t1", 1, None)]
        )
        assert await requests(client) == 3  # ratings, then two page windows
        assert pages[0] is not None
        reviews = await loaders.review_by_id.load_many(pages[0].review_ids)
    assert rating is not None and unknown is None
    assert all(review is not None and review.title_id == "t1" for review in reviews)
    assert pages[2] is not None and pages[2].review_ids == pages[0].review_ids[:1]


def test_loaders_rating_badge_depends_on_maturity_rating() -> None:
    rated = RatingRecord(title_id="t1", average=4.25, count=10)
    assert rating_badge(rated, "PG-13") == "★ 4.2 · PG-13"
    assert rating_badge(rated, "G") == "★ 4.2 · family"
    assert rating_badge(None, "R") == "New · R"
    assert rating_badge(RatingRecord("t2", None, 0), "TV-MA") == "New · TV-MA"


async def test_loaders_my_list_change_refreshes_the_cached_list() -> None:
    async with backend("members") as client:
        loaders = MembersLoaders.create(client)
        before = await loaders.my_list_by_member.load("m1")
        after = await change_my_list(loaders, member_id="m1", title_id="t9", add=True)
        cached = await loaders.my_list_by_member.load("m1")
        calls = await requests(client)
    assert before is not None and after == (*[t for t in before if t != "t9"], "t9")
    assert cached == after
    assert calls == 2
