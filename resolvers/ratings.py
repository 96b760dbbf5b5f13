"""Ratings behaviour: ratings, review pages and reviews, and the maturity-aware rating badge."""

from __future__ import annotations

from dataclasses import dataclass

from resolvers.batching import BackendLoader, PageKey, expect, load_by_ids, load_grouped
from resolvers.http import JSON, BackendClient

__all__ = [
    "RatingByTitleLoader",
    "RatingRecord",
    "RatingsLoaders",
    "ReviewByIdLoader",
    "ReviewPage",
    "ReviewPageByTitleLoader",
    "ReviewRecord",
    "rating_badge",
]

#: Maturity ratings a family profile may watch; their badge says so.
_FAMILY_RATINGS = frozenset({"G", "PG"})


@dataclass(frozen=True, slots=True)
class RatingRecord:
    """A title's average stars (None before its first rating) and how many ratings."""

    title_id: str
    average: float | None
    count: int

    @classmethod
    def from_json(cls, raw: JSON) -> RatingRecord:
        """Parse one `/ratings/batch` result."""
        average = raw["average"]
        if average is not None and (
            isinstance(average, bool) or not isinstance(average, int | float)
        ):
            raise TypeError(f"average must be a number, got {type(average).__name__}")
        return cls(
            title_id=expect(raw["titleId"], str),
            average=None if average is None else float(average),
            count=expect(raw["count"], int),
        )


@dataclass(frozen=True, slots=True)
class ReviewPage:
    """One page of a title's reviews, newest first."""

    review_ids: tuple[str, ...]
    end_cursor: str | None
    has_next_page: bool
    total_count: int

    @classmethod
    def from_json(cls, raw: JSON) -> ReviewPage:
        """Parse one `/reviews/by-title/batch` result."""
        cursor = raw["endCursor"]
        return cls(
            review_ids=tuple(expect(r, str) for r in expect(raw["reviewIds"], list)),
            end_cursor=None if cursor is None else expect(cursor, str),
            has_next_page=expect(raw["hasNextPage"], bool),
            total_count=expect(raw["totalCount"], int),
        )


@dataclass(frozen=True, slots=True)
class ReviewRecord:
    """A member's review of a title."""

    id: str
    title_id: str
    member_id: str
    stars: int
    body: str
    created_at: str

    @classmethod
    def from_json(cls, raw: JSON) -> ReviewRecord:
        """Parse one `/reviews/batch` result."""
        return cls(
            id=expect(raw["id"], str),
            title_id=expect(raw["titleId"], str),
            member_id=expect(raw["memberId"], str),
            stars=expect(raw["stars"], int),
            body=expect(raw["body"], str),
            created_at=expect(raw["createdAt"], str),
        )


def rating_badge(rating: RatingRecord | None, maturity_rating: str) -> str:
    """The badge a tile shows: stars, then the catalog's maturity rating, e.g.
    "★ 4.2 · PG-13"; titles anyone may watch are marked as family titles."""
    average = None if rating is None else rating.average
    stars = "New" if average is None else f"★ {average:.1f}"
    audience = "family" if maturity_rating in _FAMILY_RATINGS else maturity_rating
    return f"{stars} · {audience}"


class RatingByTitleLoader(BackendLoader[str, RatingRecord | None]):
    """Ratings by title id: one `POST /ratings/batch` per batch."""

    async def batch_load_fn(self, keys: list[str]) -> list[RatingRecord | None]:
        return await load_by_ids(self.backend, "/ratings/batch", keys, RatingRecord.from_json)


class ReviewPageByTitleLoader(BackendLoader[PageKey, ReviewPage | None]):
    """Review pages: one `POST /reviews/by-title/batch` per distinct (first, after)."""

    async def batch_load_fn(self, keys: list[PageKey]) -> list[ReviewPage | None]:
        async def fetch(
            window: tuple[int, str | None], group: list[PageKey]
        ) -> list[ReviewPage | None]:
            first, after = window
            return await load_by_ids(
                self.backend,
                "/reviews/by-title/batch",
                [key.owner_id for key in group],
                ReviewPage.from_json,
                params={"first": first, "after": after},
            )

        return await load_grouped(keys, lambda key: key.window, fetch)


class ReviewByIdLoader(BackendLoader[str, ReviewRecord | None]):
    """Reviews by id: one `POST /reviews/batch` per batch."""

    async def batch_load_fn(self, keys: list[str]) -> list[ReviewRecord | None]:
        return await load_by_ids(self.backend, "/reviews/batch", keys, ReviewRecord.from_json)


@dataclass(frozen=True, slots=True)
class RatingsLoaders:
    """Every ratings loader, built fresh for each GraphQL request."""

    rating_by_title: RatingByTitleLoader
    review_page_by_title: ReviewPageByTitleLoader
    review_by_id: ReviewByIdLoader

    @classmethod
    def create(cls, backend: BackendClient) -> RatingsLoaders:
        """Fresh loaders over `backend`."""
        return cls(
            rating_by_title=RatingByTitleLoader(backend),
            review_page_by_title=ReviewPageByTitleLoader(backend),
            review_by_id=ReviewByIdLoader(backend),
        )
