"""The ratings backend: average rating and count per title, and paged member reviews."""

from __future__ import annotations

from starlette.applications import Starlette

from backends.common import (
    JSON,
    Backend,
    JSONObject,
    chunks,
    known_ids,
    page,
    placeholders,
    serve,
)

__all__ = ["create_app", "main"]


def create_app(
    *,
    seed: int = 7,
    latency_ms: float = 0.0,
    batch_limit: int = 500,
    titles: int = 5000,
    members: int = 500,
) -> Starlette:
    """The ratings service over the demo data for `seed`."""
    backend = Backend(
        seed=seed, titles=titles, members=members, latency_ms=latency_ms, batch_limit=batch_limit
    )
    conn = backend.conn

    def ratings(ids: list[str], body: JSONObject) -> list[JSON]:
        found: dict[str, JSON] = {}
        for chunk in chunks(sorted(set(ids))):
            for key, average, count in conn.execute(
                "SELECT t.id, r.average, r.count"
                " FROM titles t JOIN ratings r ON r.title_num = t.num"
                f" WHERE t.id IN ({placeholders(len(chunk))})",
                chunk,
            ):
                found[key] = {"titleId": key, "average": average, "count": count}
        return [found.get(key) for key in ids]

    def reviews_by_title(ids: list[str], body: JSONObject) -> list[JSON]:
        window = page(body, default_first=10, max_first=50)
        found: dict[str, JSON] = {}
        for key, num in known_ids(conn, "titles", ids).items():
            # Newest first, as a title page shows them; num breaks ties so pages are stable.
            review_ids = [
                row[0]
                for row in conn.execute(
                    "SELECT id FROM reviews WHERE title_num = ?"
                    " ORDER BY created_at DESC, num DESC LIMIT ? OFFSET ?",
                    (num, window.first, window.offset),
                )
            ]
            (total,) = conn.execute(
                "SELECT count(*) FROM reviews WHERE title_num = ?", (num,)
            ).fetchone()
            found[key] = {
                "reviewIds": review_ids,
                **window.info(len(review_ids), total),
                "totalCount": total,
            }
        return [found.get(key) for key in ids]

    def reviews(ids: list[str], body: JSONObject) -> list[JSON]:
        found: dict[str, JSON] = {}
        for chunk in chunks(sorted(set(ids))):
            for key, title_id, member_id, stars, text, created_at in conn.execute(
                "SELECT r.id, t.id, r.member_id, r.stars, r.body, r.created_at"
                " FROM reviews r JOIN titles t ON t.num = r.title_num"
                f" WHERE r.id IN ({placeholders(len(chunk))})",
                chunk,
            ):
                found[key] = {
                    "id": key, "titleId": title_id, "memberId": member_id, "stars": stars,
                    "body": text, "createdAt": created_at,
                }  # fmt: skip
        return [found.get(key) for key in ids]

    return backend.app(
        [
            backend.batch("/ratings/batch", ratings),
            backend.batch("/reviews/by-title/batch", reviews_by_title),
            backend.batch("/reviews/batch", reviews),
        ]
    )


def main(argv: list[str] | None = None) -> None:
    """Run the ratings service: `python -m backends.ratings --port 4103`."""
    serve(create_app, name="ratings", port=4103, argv=argv)


if __name__ == "__main__":
    main()
