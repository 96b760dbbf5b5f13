"""Catalog behaviour: records and per-request loaders over the catalog backend."""

from __future__ import annotations

from dataclasses import dataclass

from resolvers.batching import (
    BackendLoader,
    PageKey,
    expect,
    is_slug,
    load_by_ids,
    load_grouped,
    parse_each,
)
from resolvers.http import JSON, BackendBadResponse, BackendClient

__all__ = [
    "CatalogLoaders",
    "GenreByIdLoader",
    "GenreIdsByListLoader",
    "GenreRecord",
    "SearchHit",
    "SearchHitsByTermLoader",
    "SearchKey",
    "TitleByIdLoader",
    "TitleBySlugLoader",
    "TitlePage",
    "TitlePageByCursorLoader",
    "TitlePageByGenreLoader",
    "TitleRecord",
]


#: The values of the `kind` field the catalog contract allows.
TITLE_KINDS = frozenset({"MOVIE", "SHOW"})


def _title_kind(kind: str) -> str:
    if kind not in TITLE_KINDS:
        raise ValueError(f"unknown title kind {kind!r}")
    return kind


@dataclass(frozen=True, slots=True)
class TitleRecord:
    """A title as the catalog backend describes it."""

    id: str
    slug: str
    name: str
    kind: str
    release_year: int
    runtime_minutes: int
    maturity_rating: str
    genre_ids: tuple[str, ...]

    @classmethod
    def from_json(cls, raw: JSON) -> TitleRecord:
        """Parse one `/titles/batch` result (TypeError/KeyError on a broken contract)."""
        return cls(
            id=expect(raw["id"], str),
            slug=expect(raw["slug"], str),
            name=expect(raw["name"], str),
            kind=_title_kind(expect(raw["kind"], str)),
            release_year=expect(raw["releaseYear"], int),
            runtime_minutes=expect(raw["runtimeMinutes"], int),
            maturity_rating=expect(raw["maturityRating"], str),
            genre_ids=tuple(expect(g, str) for g in expect(raw["genreIds"], list)),
        )


@dataclass(frozen=True, slots=True)
class GenreRecord:
    """A genre: id and display name."""

    id: str
    name: str

    @classmethod
    def from_json(cls, raw: JSON) -> GenreRecord:
        """Parse one `/genres/batch` result."""
        return cls(id=expect(raw["id"], str), name=expect(raw["name"], str))


@dataclass(frozen=True, slots=True)
class TitlePage:
    """One page of title ids with its cursor."""

    title_ids: tuple[str, ...]
    end_cursor: str | None
    has_next_page: bool

    @classmethod
    def from_json(cls, raw: JSON) -> TitlePage:
        """Parse a `{"titleIds", "endCursor", "hasNextPage"}` page."""
        cursor = raw["endCursor"]
        return cls(
            title_ids=tuple(expect(t, str) for t in expect(raw["titleIds"], list)),
            end_cursor=None if cursor is None else expect(cursor, str),
            has_next_page=expect(raw["hasNextPage"], bool),
        )


@dataclass(frozen=True, slots=True)
class SearchHit:
    """One search result: `kind` is "title" or "genre"."""

    kind: str
    id: str

    @classmethod
    def from_json(cls, raw: JSON) -> SearchHit:
        """Parse one `/search` result."""
        return cls(kind=expect(raw["type"], str), id=expect(raw["id"], str))


@dataclass(frozen=True, slots=True)
class SearchKey:
    """A search: the term and how many hits."""

    term: str
    first: int


class TitleByIdLoader(BackendLoader[str, TitleRecord | None]):
    """Titles by id: one `POST /titles/batch` per batch."""

    async def batch_load_fn(self, keys: list[str]) -> list[TitleRecord | None]:
        return await load_by_ids(self.backend, "/titles/batch", keys, TitleRecord.from_json)


class TitleBySlugLoader(BackendLoader[str, TitleRecord | None]):
    """Titles by slug: one `POST /titles/by-slug/batch` per batch."""

    async def batch_load_fn(self, keys: list[str]) -> list[TitleRecord | None]:
        return await load_by_ids(
            self.backend, "/titles/by-slug/batch", keys, TitleRecord.from_json, valid=is_slug
        )


class GenreByIdLoader(BackendLoader[str, GenreRecord | None]):
    """Genres by id: one `POST /genres/batch` per batch."""

    async def batch_load_fn(self, keys: list[str]) -> list[GenreRecord | None]:
        return await load_by_ids(self.backend, "/genres/batch", keys, GenreRecord.from_json)


class TitlePageByGenreLoader(BackendLoader[PageKey, TitlePage | None]):
    """A page of each genre's titles: one `POST /genres/titles/batch` per (first, after)."""

    async def batch_load_fn(self, keys: list[PageKey]) -> list[TitlePage | None]:
        async def fetch(
            window: tuple[int, str | None], group: list[PageKey]
        ) -> list[TitlePage | None]:
            first, after = window
            return await load_by_ids(
                self.backend,
                "/genres/titles/batch",
                [key.owner_id for key in group],
                TitlePage.from_json,
                params={"first": first, "after": after},
            )

        return await load_grouped(keys, lambda key: key.window, fetch)


class GenreIdsByListLoader(BackendLoader[str, list[str]]):
    """The ids of every genre (`GET /genres`); the only key is "all"."""

    async def batch_load_fn(self, keys: list[str]) -> list[list[str]]:
        body = await self.backend.request("GET", "/genres")
        results = body.get("results") if isinstance(body, dict) else None
        if not isinstance(results, list) or not all(isinstance(g, str) for g in results):
            raise BackendBadResponse(self.backend.service, "GET /genres: no list of genre ids")
        return [list(results) for _ in keys]


class SearchHitsByTermLoader(BackendLoader[SearchKey, list[SearchHit]]):
    """Search results: one `GET /search` per distinct (term, first), run concurrently."""

    async def batch_load_fn(self, keys: list[SearchKey]) -> list[list[SearchHit]]:
        return await load_grouped(keys, lambda key: key, self.search)

    async def search(self, key: SearchKey, group: list[SearchKey]) -> list[list[SearchHit]]:
        body = await self.backend.request(
            "GET", "/search", params={"q": key.term, "first": key.first}
        )
        results = body.get("results") if isinstance(body, dict) else None
        if not isinstance(results, list):
            raise BackendBadResponse(self.backend.service, "GET /search: no 'results' list")
        hits = parse_each(self.backend, "/search", results, SearchHit.from_json)
        return [[hit for hit in hits if hit is not None]]


class TitlePageByCursorLoader(BackendLoader[tuple[int, str | None], TitlePage]):
    """Pages of all titles (`GET /titles`), keyed by (first, after)."""

    async def batch_load_fn(self, keys: list[tuple[int, str | None]]) -> list[TitlePage]:
        async def fetch(
            window: tuple[int, str | None], group: list[tuple[int, str | None]]
        ) -> list[TitlePage]:
            first, after = window
            params: dict[str, str | int] = {"first": first}
            if after is not None:
                params["after"] = after
            body = await self.backend.request("GET", "/titles", params=params)
            (page,) = parse_each(self.backend, "/titles", [body], TitlePage.from_json)
            if page is None:
                raise BackendBadResponse(self.backend.service, "GET /titles: null page")
            return [page]

        return await load_grouped(keys, lambda key: key, fetch)


@dataclass(frozen=True, slots=True)
class CatalogLoaders:
    """Every catalog loader, built fresh for each GraphQL request."""

    title_by_id: TitleByIdLoader
    title_by_slug: TitleBySlugLoader
    genre_by_id: GenreByIdLoader
    title_page_by_genre: TitlePageByGenreLoader
    genre_ids_by_list: GenreIdsByListLoader
    search_hits_by_term: SearchHitsByTermLoader
    title_page_by_cursor: TitlePageByCursorLoader

    @classmethod
    def create(cls, backend: BackendClient) -> CatalogLoaders:
        """Fresh loaders (and so fresh caches) over `backend`."""
        return cls(
            title_by_id=TitleByIdLoader(backend),
            title_by_slug=TitleBySlugLoader(backend),
            genre_by_id=GenreByIdLoader(backend),
            title_page_by_genre=TitlePageByGenreLoader(backend),
            genre_ids_by_list=GenreIdsByListLoader(backend),
            search_hits_by_term=SearchHitsByTermLoader(backend),
            title_page_by_cursor=TitlePageByCursorLoader(backend),
        )
