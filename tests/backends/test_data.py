from __future__ import annotations

import sqlite3

import pytest

from backends.data import GENRES, generate

TABLES = ("titles", "title_genres", "members", "ratings", "reviews", "mylist", "continue_watching")


def dump(conn: sqlite3.Connection) -> dict[str, list[tuple[object, ...]]]:
    return {
        table: conn.execute(f"SELECT * FROM {table} ORDER BY 1, 2").fetchall() for table in TABLES
    }


def test_generate_same_seed_gives_same_data() -> None:
    first, second = (
        generate(seed=11, titles=300, members=40),
        generate(seed=11, titles=300, members=40),
    )
    try:
        assert dump(first) == dump(second)
    finally:
        first.close()
        second.close()


def test_generate_different_seed_gives_different_data() -> None:
    first, second = (
        generate(seed=11, titles=300, members=40),
        generate(seed=12, titles=300, members=40),
    )
    try:
        one, two = dump(first), dump(second)
        assert one["titles"] != two["titles"]
        assert one["reviews"] != two["reviews"]
        assert one["mylist"] != two["mylist"]
    finally:
        first.close()
        second.close()


def test_generate_honours_sizes() -> None:
    conn = generate(seed=3, titles=120, members=15)
    try:
        assert conn.execute("SELECT count(*), min(id), max(num) FROM titles").fetchone() == (
            120,
            "t1",
            120,
        )
        assert conn.execute("SELECT count(*), max(num) FROM members").fetchone() == (15, 15)
        assert conn.execute("SELECT count(*) FROM genres").fetchone() == (len(GENRES),)
        assert conn.execute("SELECT count(*) FROM ratings").fetchone() == (120,)
    finally:
        conn.close()


def test_generate_connections_are_independent() -> None:
    first, second = (
        generate(seed=3, titles=120, members=15),
        generate(seed=3, titles=120, members=15),
    )
    try:
        first.execute("DELETE FROM mylist")
        assert second.execute("SELECT count(*) FROM mylist").fetchone()[0] > 0
    finally:
        first.close()
        second.close()


def test_generate_keeps_references_consistent() -> None:
    conn = generate(seed=5, titles=400, members=30)
    try:
        orphans = {
            "review author": "SELECT count(*) FROM reviews"
            " WHERE member_id NOT IN (SELECT id FROM members)",
            "review title": "SELECT count(*) FROM reviews"
            " WHERE title_num NOT IN (SELECT num FROM titles)",
            "my list": "SELECT count(*) FROM mylist"
            " WHERE title_num NOT IN (SELECT num FROM titles)",
            "continue name": "SELECT count(*) FROM continue_watching c"
            " LEFT JOIN titles t ON t.id = c.title_id WHERE t.name IS NOT c.title_name",
            "untagged title": "SELECT count(*) FROM titles"
            " WHERE num NOT IN (SELECT title_num FROM title_genres)",
        }
        for what, query in orphans.items():
            assert conn.execute(query).fetchone() == (0,), what
        (per_title,) = conn.execute(
            "SELECT max(n) FROM (SELECT count(*) AS n FROM reviews GROUP BY title_num)"
        ).fetchone()
        assert per_title <= 8
    finally:
        conn.close()


def test_generate_gives_unique_slugs() -> None:
    conn = generate()
    try:
        assert conn.execute("SELECT count(DISTINCT slug), count(*) FROM titles").fetchone() == (
            5000,
            5000,
        )
    finally:
        conn.close()


def test_generate_rejects_empty_sizes() -> None:
    with pytest.raises(ValueError, match="at least one title"):
        generate(titles=0)
