"""The catalog subgraph: titles (keyed by id and by slug), genres, paging and search."""

from __future__ import annotations

import asyncio
from enum import Enum
from typing import Annotated, TypeAlias

import httpx
import strawberry
from starlette.applications import Starlette
from strawberry.types import Info

from federation.telemetry.tracing import Telemetry
from resolvers.batching import PageKey, check_range
from resolvers.catalog import (
    CatalogLoaders,
    GenreRecord,
    SearchKey,
    TitlePage,
    TitleRecord,
)
from resolvers.http import DEFAULT_TIMEOUT
from schema.common import (
    FEDERATION_VERSION,
    Context,
    create_subgraph_app,
    field,
    operation_caches,
    serve,
)

__all__ = ["create_app", "main", "schema"]

CatalogInfo: TypeAlias = Info[Context[CatalogLoaders], None]


@strawberry.enum(description="Whether a title is a film or a series.")
class TitleKind(Enum):
    MOVIE = "MOVIE"
    SHOW = "SHOW"


@strawberry.federation.type(shareable=True, description="Where a page of a list ends.")
class PageInfo:
    end_cursor: str | None
    has_next_page: bool


@strawberry.type(description="One page of titles.")
class TitleConnection:
    nodes: list[Title]
    page_info: PageInfo

    @classmethod
    async def load(cls, info: CatalogInfo, page: TitlePage | None) -> TitleConnection:
        """The page's titles, fetched in one batch with every other page in the request."""
        if page is None:
            return cls(nodes=[], page_info=PageInfo(end_cursor=None, has_next_page=False))
        records = await info.context.loaders.title_by_id.load_many(page.title_ids)
        return cls(
            nodes=[Title.from_record(r) for r in records if r is not None],
            page_info=PageInfo(end_cursor=page.end_cursor, has_next_page=page.has_next_page),
        )


@strawberry.federation.type(keys=["id", "slug"], description="A film or series.")
class Title:
    id: strawberry.ID
    slug: str
    # Shareable because members @provides it (from its continue-watching records).
    name: str = strawberry.federation.field(shareable=True)
    kind: TitleKind
    release_year: int
    runtime_minutes: int
    maturity_rating: str = strawberry.field(
        description='The certificate: "G", "PG", "PG-13", "R" or "TV-MA".'
    )
    # Raw backend ids: clients get `genres`; kept in the subgraph for other subgraphs'
    # @requires, hidden from the public API.
    genre_ids: list[strawberry.ID] = strawberry.federation.field(inaccessible=True)

    @classmethod
    def from_record(cls, record: TitleRecord) -> Title:
        """The GraphQL object for a backend record."""
        return cls(
            id=strawberry.ID(record.id),
            slug=record.slug,
            name=record.name,
            kind=TitleKind(record.kind),
            release_year=record.release_year,
            runtime_minutes=record.runtime_minutes,
            maturity_rating=record.maturity_rating,
            genre_ids=[strawberry.ID(g) for g in record.genre_ids],
        )

    @classmethod
    async def resolve_reference(
        cls, info: CatalogInfo, id: str | None = None, slug: str | None = None
    ) -> Title | None:
        """Either key resolves a title; unknown keys give null."""
        loaders = info.context.loaders
        if id is not None:
            record = await loaders.title_by_id.load(id)
        elif slug is not None:
            record = await loaders.title_by_slug.load(slug)
        else:
            return None
        return None if record is None else cls.from_record(record)

    @field("The title's genres, most relevant first.")
    async def genres(self, info: CatalogInfo) -> list[Genre]:
        records = await info.context.loaders.genre_by_id.load_many(self.genre_ids)
        return [Genre.from_record(r) for r in records if r is not None]


@strawberry.federation.type(keys=["id"], description="A genre, with its titles in pages.")
class Genre:
    id: strawberry.ID
    name: str

    @classmethod
    def from_record(cls, record: GenreRecord) -> Genre:
        """The GraphQL object for a backend record."""
        return cls(id=strawberry.ID(record.id), name=record.name)

    @classmethod
    async def resolve_reference(cls, info: CatalogInfo, id: str) -> Genre | None:
        """A genre by id; unknown ids give null."""
        record = await info.context.loaders.genre_by_id.load(id)
        return None if record is None else cls.from_record(record)

    @field("A page of this genre's titles (first: 1 to 100).")
    async def titles(
        self, info: CatalogInfo, first: int = 20, after: str | None = None
    ) -> TitleConnection:
        check_range("first", first, 1, 100)
        key = PageKey(owner_id=self.id, first=first, after=after)
        page = await info.context.loaders.title_page_by_genre.load(key)
        return await TitleConnection.load(info, page)


SearchResult: TypeAlias = Annotated[Title | Genre, strawberry.union("SearchResult")]


@strawberry.type
class Query:
    @field("A title by id.")
    async def title(self, info: CatalogInfo, id: strawberry.ID) -> Title | None:
        return await Title.resolve_reference(info, id=id)

    @field("A title by its URL slug.")
    async def title_by_slug(self, info: CatalogInfo, slug: str) -> Title | None:
        return await Title.resolve_reference(info, slug=slug)

    @field("Titles by id, in order; null for unknown ids.")
    async def titles(self, info: CatalogInfo, ids: list[strawberry.ID]) -> list[Title | None]:
        records = await info.context.loaders.title_by_id.load_many(ids)
        return [None if r is None else Title.from_record(r) for r in records]

    @field("A page of every title (first: 1 to 100).")
    async def all_titles(
        self, info: CatalogInfo, first: int = 20, after: str | None = None
    ) -> TitleConnection:
        check_range("first", first, 1, 100)
        page = await info.context.loaders.title_page_by_cursor.load((first, after))
        return await TitleConnection.load(info, page)

    @field("Genres in catalog order: all of them, or the first `first` (home-screen rows).")
    async def genres(self, info: CatalogInfo, first: int | None = None) -> list[Genre]:
        loaders = info.context.loaders
        ids = await loaders.genre_ids_by_list.load("all")
        if first is not None:
            ids = ids[: check_range("first", first, 1, 100)]
        records = await loaders.genre_by_id.load_many(ids)
        return [Genre.from_record(r) for r in records if r is not None]

    @field("A genre by id.")
    async def genre(self, info: CatalogInfo, id: strawberry.ID) -> Genre | None:
        return await Genre.resolve_reference(info, id=id)

    @field("Titles, then genres, whose name contains `term`.")
    async def search(self, info: CatalogInfo, term: str, first: int = 10) -> list[SearchResult]:
        check_range("first", first, 1, 50)
        if not term.strip():
            return []
        loaders = info.context.loaders
        hits = await loaders.search_hits_by_term.load(SearchKey(term=term, first=first))
        titles, genres = await asyncio.gather(
            loaders.title_by_id.load_many([h.id for h in hits if h.kind == "title"]),
            loaders.genre_by_id.load_many([h.id for h in hits if h.kind == "genre"]),
        )
        results: list[SearchResult] = [Title.from_record(r) for r in titles if r is not None]
        results += [Genre.from_record(r) for r in genres if r is not None]
        return results


schema = strawberry.federation.Schema(
    query=Query, federation_version=FEDERATION_VERSION, extensions=operation_caches()
)


def create_app(
    *,
    backend_url: str,
    client: httpx.AsyncClient | None = None,
    timeout: float = DEFAULT_TIMEOUT,
    telemetry: Telemetry | None = None,
) -> Starlette:
    """The catalog subgraph over the catalog backend at `backend_url`."""
    return create_subgraph_app(
        service="catalog",
        schema=schema,
        loaders=CatalogLoaders.create,
        backend_url=backend_url,
        client=client,
        timeout=timeout,
        telemetry=telemetry,
    )


def main(argv: list[str] | None = None) -> None:
    """`python -m schema.catalog --port 4001 --backend http://127.0.0.1:4101`."""
    serve(create_app, name="catalog", port=4001, backend_port=4101, argv=argv)


if __name__ == "__main__":
    main()
