"""The members backend: member profiles, my list (with add and remove) and continue watching."""

from __future__ import annotations

import sqlite3

from starlette.applications import Starlette
from starlette.requests import Request

from backends.common import (
    JSON,
    Backend,
    BadRequest,
    JSONObject,
    chunks,
    known_ids,
    placeholders,
    read_object,
    serve,
    validate_id,
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
    """The members service over the demo data for `seed`; my-list changes live in this app."""
    backend = Backend(
        seed=seed, titles=titles, members=members, latency_ms=latency_ms, batch_limit=batch_limit
    )
    conn = backend.conn

    def members_by_id(ids: list[str], body: JSONObject) -> list[JSON]:
        found: dict[str, JSON] = {}
        for chunk in chunks(sorted(set(ids))):
            for key, name, level in conn.execute(
                "SELECT id, name, maturity_level FROM members"
                f" WHERE id IN ({placeholders(len(chunk))})",
                chunk,
            ):
                found[key] = {"id": key, "name": name, "maturityLevel": level}
        return [found.get(key) for key in ids]

    def my_lists(ids: list[str], body: JSONObject) -> list[JSON]:
        found = {
            key: {"titleIds": _my_list(conn, num)}
            for key, num in known_ids(conn, "members", ids).items()
        }
        return [found.get(key) for key in ids]

    def continue_watching(ids: list[str], body: JSONObject) -> list[JSON]:
        found: dict[str, JSON] = {}
        for key, num in known_ids(conn, "members", ids).items():
            found[key] = [
                {"titleId": title_id, "titleName": name, "positionSeconds": seconds}
                for title_id, name, seconds in conn.execute(
                    "SELECT title_id, title_name, position_seconds FROM continue_watching"
                    " WHERE member_num = ? ORDER BY position",
                    (num,),
                )
            ]
        return [found.get(key) for key in ids]

    async def add(request: Request) -> JSON:
        member_num, title_num = await _member_and_title(conn, request)
        with conn:
            # INSERT OR IGNORE keeps one entry when a title is added twice.
            conn.execute(
                "INSERT OR IGNORE INTO mylist (member_num, title_num, position)"
                " SELECT ?, ?, coalesce(max(position), -1) + 1 FROM mylist WHERE member_num = ?",
                (member_num, title_num, member_num),
            )
        return {"titleIds": _my_list(conn, member_num)}

    async def remove(request: Request) -> JSON:
        member_num, title_num = await _member_and_title(conn, request)
        with conn:
            conn.execute(
                "DELETE FROM mylist WHERE member_num = ? AND title_num = ?",
                (member_num, title_num),
            )
        return {"titleIds": _my_list(conn, member_num)}

    return backend.app(
        [
            backend.batch("/members/batch", members_by_id),
            backend.batch("/mylist/batch", my_lists),
            backend.batch("/continue-watching/batch", continue_watching),
            backend.route("/mylist/add", add, methods=["POST"]),
            backend.route("/mylist/remove", remove, methods=["POST"]),
        ]
    )


def _my_list(conn: sqlite3.Connection, member_num: int) -> list[str]:
    return [
        row[0]
        for row in conn.execute(
            "SELECT 't' || title_num FROM mylist WHERE member_num = ? ORDER BY position",
            (member_num,),
        )
    ]


async def _member_and_title(conn: sqlite3.Connection, request: Request) -> tuple[int, int]:
    """Row numbers of the body's `memberId` and `titleId`: 400 if malformed, 404 if unknown."""
    body = await read_object(request)
    for field in ("memberId", "titleId"):
        if field not in body:
            raise BadRequest(f"'{field}' is required")
    member_id = validate_id(body.get("memberId"))
    title_id = validate_id(body.get("titleId"))
    member = known_ids(conn, "members", [member_id]).get(member_id)
    if member is None:
        raise BadRequest(f"unknown member {member_id!r}", 404)
    title = known_ids(conn, "titles", [title_id]).get(title_id)
    if title is None:
        raise BadRequest(f"unknown title {title_id!r}", 404)
    return member, title


def main(argv: list[str] | None = None) -> None:
    """Run the members service: `python -m backends.members --port 4104`."""
    serve(create_app, name="members", port=4104, argv=argv)


if __name__ == "__main__":
    main()
