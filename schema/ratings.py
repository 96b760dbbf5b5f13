"""The ratings subgraph: average rating, count, a maturity-aware badge (`@requires` on the
catalog's `maturityRating`) and paged reviews on `Title`; a review's author is a `Member`."""

from __future__ import annotations

from typing import TypeAlias

import httpx
import strawberry
from graphql import GraphQLError
from starlette.applications import Starlette
from strawberry.federation.schema_directives import Key
from strawberry.federation.types import FieldSet
from strawberry.types import Info

from federation.telemetry.tracing import Telemetry
from resolvers.batching import PageKey, check_range
from resolvers.http import DEFAULT_TIMEOUT
from resolvers.ratings import RatingRecord, RatingsLoaders, ReviewRecord, rating_badge
from schema.common import (
    FEDERATION_VERSION,
    Context,
    create_subgraph_app,
    field,
    operation_caches,
    serve,
)

__all__ = ["create_app", "main", "schema"]

RatingsInfo: TypeAlias = Info[Context[RatingsLoaders], None]


@strawberry.federation.type(shareable=True, description="Where a page of a list ends.")
class PageInfo:
    end_cursor: str | None
    has_next_page: bool


# Ratings only points at members; the members subgraph resolves them.
@strawberry.federation.type(keys=[Key(fields=FieldSet("id"), resolvable=False)])
class Member:
    id: strawberry.ID


@strawberry.federation.type(keys=["id"], description="A member's review of a title.")
class Review:
    id: strawberry.ID
    stars: int = strawberry.field(description="From 1 to 5.")
    body: str
    created_at: str = strawberry.field(description="ISO 8601 date.")
    title_id: strawberry.Private[str]
    member_id: strawberry.Private[str]

    @classmethod
    def from_record(cls, record: ReviewRecord) -> Review:
        """The GraphQL object for a backend record."""
        return cls(
            id=strawberry.ID(record.id),
            stars=record.stars,
            body=record.body,
            created_at=record.created_at,
            title_id=record.title_id,
            member_id=record.member_id,
        )

    @classmethod
    async def resolve_reference(cls, info: RatingsInfo, id: str) -> Review | None:
        """A review by id; unknown ids give null."""
        record = await info.context.loaders.review_by_id.load(id)
        return None if record is None else cls.from_record(record)

    # Nullable, like every field one subgraph adds to another's type: the author's name comes
    # from members, and a members outage must blank the name, not drop the review.
    @field("Who wrote it; null if the members subgraph cannot say.")
    def author(self) -> Member | None:
        return Member(id=strawberry.ID(self.member_id))

    @field("The title it reviews.")
    async def title(self, info: RatingsInfo) -> Title:
        return await Title.load(info, self.title_id)


@strawberry.type(description="One page of a title's reviews, newest first.")
class ReviewConnection:
    nodes: list[Review]
    page_info: PageInfo
    total_count: int


@strawberry.federation.type(keys=["id"])
class Title:
    id: strawberry.ID
    # Owned by catalog; arrives in the representation only when `ratingBadge` is asked for.
    maturity_rating: str | None = strawberry.federation.field(
        external=True, graphql_type=str, default=None
    )
    # Loaded when the object is made (one batched load per entity), so the fields below are
    # plain reads: an async resolver per field and entity cost more than the load itself.
    rating: strawberry.Private[RatingRecord | None] = None

    @classmethod
    async def resolve_reference(
        cls, info: RatingsInfo, id: str, maturityRating: str | None = None
    ) -> Title | None:
        """A title with ratings; ids the ratings backend does not know give null."""
        rating = await info.context.loaders.rating_by_title.load(id)
        if rating is None:
            return None
        return cls(id=strawberry.ID(id), maturity_rating=maturityRating, rating=rating)

    @classmethod
    async def load(cls, info: RatingsInfo, id: str) -> Title:
        """The title with its rating (none yet for an unrated title)."""
        rating = await info.context.loaders.rating_by_title.load(id)
        return cls(id=strawberry.ID(id), rating=rating)

    @field("Average stars from 1 to 5; null before the first rating.")
    def average_rating(self) -> float | None:
        return None if self.rating is None else self.rating.average

    # The fields below are nullable on purpose: ratings adds them to catalog's Title, and a
    # non-null field would carry a ratings outage up to the title, the row and the page.
    @field("How many members rated the title; null if ratings are unavailable.")
    def rating_count(self) -> int | None:
        return 0 if self.rating is None else self.rating.count

    @field(
        'A tile badge such as "★ 4.2 · PG-13" (G and PG titles show "family"); null if '
        "ratings are unavailable.",
        requires=["maturityRating"],
    )
    def rating_badge(self) -> str | None:
        if self.maturity_rating is None:
            raise GraphQLError(
                "ratingBadge needs the title's maturityRating in the representation",
                extensions={"code": "MISSING_REQUIRED_FIELD"},
            )
        return rating_badge(self.rating, self.maturity_rating)

    @field(
        "A page of reviews, newest first (first: 1 to 50); null if the title "
        "has none to show or the reviews are unavailable."
    )
    async def reviews(
        self, info: RatingsInfo, first: int = 10, after: str | None = None
    ) -> ReviewConnection | None:
        check_range("first", first, 1, 50)
        loaders = info.context.loaders
        page = await loaders.review_page_by_title.load(PageKey(self.id, first, after))
        if page is None:
            return None
        records = await loaders.review_by_id.load_many(page.review_ids)
        return ReviewConnection(
            nodes=[Review.from_record(r) for r in records if r is not None],
            page_info=PageInfo(end_cursor=page.end_cursor, has_next_page=page.has_next_page),
            total_count=page.total_count,
        )


schema = strawberry.federation.Schema(
    types=[Title, Review, Member],
    federation_version=FEDERATION_VERSION,
    extensions=operation_caches(),
)


def create_app(
    *,
    backend_url: str,
    client: httpx.AsyncClient | None = None,
    timeout: float = DEFAULT_TIMEOUT,
    telemetry: Telemetry | None = None,
) -> Starlette:
    """The ratings subgraph over the ratings backend at `backend_url`."""
    return create_subgraph_app(
        service="ratings",
        schema=schema,
        loaders=RatingsLoaders.create,
        backend_url=backend_url,
        client=client,
        timeout=timeout,
        telemetry=telemetry,
    )


def main(argv: list[str] | None = None) -> None:
    """`python -m schema.ratings --port 4003 --backend http://127.0.0.1:4103`."""
    serve(create_app, name="ratings", port=4003, backend_port=4103, argv=argv)


if __name__ == "__main__":
    main()
