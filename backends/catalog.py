"""The catalog backend: titles (by id and by slug), genres, titles by genre, search."""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence

from starlette.applications import Starlette
from starlette.requests import Request

from backends.common import (
    JSON,
    Backend,
    BadRequest,
    JSONObject,
    Page,
    chunks,
    decode_cursor,
    page,
    placeholders,
    query_int,
    serve,
    validate_slug,
)

__all__ = ["create_app", "main"]

_TITLE_COLUMNS = "num, id, slug, name, kind, release_year, runtime_minutes, maturity_rating"


def create_app(
    *,
    seed: int = 7,
    latency_ms: float = 0.0,
    batch_limit: int = 500,
    titles: int = 5000,
    members: int = 500,
) -> Starlette:
    """The catalog service over the demo data for `seed`."""
    backend = Backend(
        seed=seed, titles=titles, members=members, latency_ms=latency_ms, batch_limit=batch_limit
    )
    conn = backend.conn

    def titles_by_id(ids: list[str], body: JSONObject) -> list[JSON]:
        found = _titles_where(conn, "id", ids)
        return [found.get(key) for key in ids]

    def titles_by_slug(slugs: list[str], body: JSONObject) -> list[JSON]:
        found = _titles_where(conn, "slug", slugs)
        return [found.get(key) for key in slugs]

    def genres_by_id(ids: list[str], body: JSONObject) -> list[JSON]:
        found = {row[0]: {"id": row[0], "name": row[1]} for row in _genres(conn, ids)}
        return [found.get(key) for key in ids]

    def titles_by_genre(ids: list[str], body: JSONObject) -> list[JSON]:
        window = page(body, default_first=20, max_first=100)
        nums = {row[0]: row[2] for row in _genres(conn, ids)}
        connections = {gid: _genre_titles(conn, num, window) for gid, num in nums.items()}
        return [connections.get(key) for key in ids]

    async def all_genres(request: Request) -> JSON:
        return {"results": [row[0] for row in conn.execute("SELECT id FROM genres ORDER BY num")]}

    async def search(request: Request) -> JSON:
        text = request.query_params.get("q")
        if not text:
            raise BadRequest("query parameter 'q' is required and must not be empty")
        first = query_int(request, "first", default=10, low=1, high=50)
        needle = text.lower()
        # Names are ASCII, so SQLite's lower() agrees with Python's; instr avoids LIKE wildcards.
        found = conn.execute(
            "SELECT 'title', id FROM titles WHERE instr(lower(name), ?) > 0 ORDER BY num LIMIT ?",
            (needle, first),
        ).fetchall()
        found += conn.execute(
            "SELECT 'genre', id FROM genres WHERE instr(lower(name), ?) > 0 ORDER BY num LIMIT ?",
            (needle, first - len(found)),
        ).fetchall()
        return {"results": [{"type": kind, "id": key} for kind, key in found]}

    async def all_titles(request: Request) -> JSON:
        first = query_int(request, "first", default=20, low=1, high=100)
        window = Page(offset=decode_cursor(request.query_params.get("after")), first=first)
        ids = [
            row[0]
            for row in conn.execute(
                "SELECT id FROM titles ORDER BY num LIMIT ? OFFSET ?", (window.first, window.offset)
            )
        ]
        (total,) = conn.execute("SELECT count(*) FROM titles").fetchone()
        return {"titleIds": ids, **window.info(len(ids), total)}

    return backend.app(
        [
            backend.batch("/titles/batch", titles_by_id),
            backend.batch("/titles/by-slug/batch", titles_by_slug, validate=validate_slug),
            backend.batch("/genres/batch", genres_by_id),
            backend.batch("/genres/titles/batch", titles_by_genre),
            backend.route("/genres", all_genres, methods=["GET"]),
            backend.route("/search", search, methods=["GET"]),
            backend.route("/titles", all_titles, methods=["GET"]),
        ]
    )


def _genres(conn: sqlite3.Connection, ids: Sequence[str]) -> list[tuple[str, str, int]]:
    """`(id, name, num)` of the genres whose id is in `ids`."""
    rows: list[tuple[str, str, int]] = []
    for chunk in chunks(sorted(set(ids))):
        rows += conn.execute(
            f"SELECT id, name, num FROM genres WHERE id IN ({placeholders(len(chunk))})", chunk
        ).fetchall()
    return rows


def _titles_where(conn: sqlite3.Connection, column: str, keys: Sequence[str]) -> dict[str, JSON]:
    """Title records whose `column` (id or slug) is in `keys`, keyed by that column."""
    records: dict[int, JSONObject] = {}
    for chunk in chunks(sorted(set(keys))):
        where = f"{column} IN ({placeholders(len(chunk))})"
        query = f"SELECT {_TITLE_COLUMNS} FROM titles WHERE {where}"
        for num, key, slug, name, kind, year, runtime, rating in conn.execute(query, chunk):
            records[num] = {
                "id": key, "slug": slug, "name": name, "kind": kind, "releaseYear": year,
                "runtimeMinutes": runtime, "maturityRating": rating, "genreIds": [],
            }  # fmt: skip
    for nums in chunks(list(records)):
        for num, genre in conn.execute(
            f"SELECT title_num, 'g' || genre_num FROM title_genres"
            f" WHERE title_num IN ({placeholders(len(nums))}) ORDER BY title_num, position",
            nums,
        ):
            records[num]["genreIds"].append(genre)
    field = "id" if column == "id" else "slug"
    return {record[field]: record for record in records.values()}


def _genre_titles(conn: sqlite3.Connection, genre_num: int, window: Page) -> JSONObject:
    """One page of the title ids in a genre, in title id order."""
    ids = [
        f"t{row[0]}"
        for row in conn.execute(
            "SELECT title_num FROM title_genres WHERE genre_num = ? ORDER BY title_num"
            " LIMIT ? OFFSET ?",
            (genre_num, window.first, window.offset),
        )
    ]
    (total,) = conn.execute(
        "SELECT count(*) FROM title_genres WHERE genre_num = ?", (genre_num,)
    ).fetchone()
    return {"titleIds": ids, **window.info(len(ids), total)}


def main(argv: list[str] | None = None) -> None:
    """Run the catalog service: `python -m backends.catalog --port 4101`."""
    serve(create_app, name="catalog", port=4101, argv=argv)


if __name__ == "__main__":
    main()
