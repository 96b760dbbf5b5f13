"""Deterministic demo data for the four backend services, in one embedded SQLite database.

Every service calls `generate()` with the same seed and sizes and reads only the tables it
owns, so ids agree across services (ratings exist for catalog titles, my-list entries are real
titles, continue-watching carries the catalog name of its title).
"""

from __future__ import annotations

import functools
import random
import re
import sqlite3
from datetime import date, timedelta

__all__ = ["GENRES", "generate", "snapshot"]

GENRES: tuple[str, ...] = (
    "Drama", "Comedy", "Action", "Thriller", "Horror", "Romance", "Documentary",
    "Animation", "Science Fiction", "Fantasy", "Crime", "Mystery", "Adventure", "Family",
    "Musical", "War", "Western", "History", "Biography", "Sports", "Reality", "Anime",
    "Stand-Up", "Teen",
)  # fmt: skip

_ADJECTIVES = (
    "Silent", "Crimson", "Hidden", "Last", "Broken", "Golden", "Midnight", "Frozen", "Wild",
    "Lost", "Electric", "Distant", "Hollow", "Burning", "Quiet", "Iron", "Velvet", "Endless",
    "Secret", "Falling", "Northern", "Paper", "Glass", "Savage", "Lucky", "Restless",
)  # fmt: skip
_NOUNS = (
    "Harbor", "Kingdom", "Signal", "Garden", "Frontier", "Empire", "River", "Orchard", "Storm",
    "Compass", "Lantern", "Voyage", "Circuit", "Island", "Letters", "Horizon", "Machine",
    "Witness", "Season", "Shadow", "Crown", "Orbit", "Tide", "Protocol", "Summer", "Echo",
)  # fmt: skip
_PLACES = (
    "Brooklyn", "the North", "Lisbon", "Mars", "the Valley", "Tokyo", "the Deep", "Oslo",
    "the Desert", "Marseille", "the Coast", "Kyiv", "the City", "Lagos", "the Moon",
)  # fmt: skip
_FIRST_NAMES = (
    "Ada", "Ben", "Chloe", "Dev", "Elena", "Farid", "Grace", "Hiro", "Ines", "Jonas", "Kemi",
    "Liam", "Maya", "Noor", "Oscar", "Priya", "Quinn", "Rosa", "Sami", "Tara", "Umar", "Vera",
    "Wen", "Yusuf", "Zoe",
)  # fmt: skip
_LAST_NAMES = (
    "Okafor", "Lindqvist", "Moreau", "Tanaka", "Silva", "Novak", "Haddad", "Kim", "Rossi",
    "Walsh", "Mendes", "Kowalski", "Singh", "Berg", "Costa", "Ivanova", "Nguyen", "Adeyemi",
)  # fmt: skip
_OPENINGS = (
    "Loved it.", "Not for me.", "A slow start, but worth it.", "Stunning to look at.",
    "The cast carries it.", "Better than I expected.", "Fell asleep halfway.",
    "Rewatched it twice.", "Great soundtrack.", "The ending divided our household.",
)  # fmt: skip
_CLOSINGS = (
    "Would recommend.", "Skip the second act.", "Perfect for a rainy evening.",
    "The kids enjoyed it too.", "Needs a sequel.", "Too long by twenty minutes.",
    "I'll be thinking about it for days.", "Solid weekend watch.",
)  # fmt: skip
_MATURITY_RATINGS = ("G", "PG", "PG-13", "R", "TV-MA")
_MATURITY_LEVELS = ("KIDS", "TEEN", "ADULT")
_EPOCH = date(2015, 1, 1)
_DAYS = (date(2025, 6, 30) - _EPOCH).days

_SCHEMA = """
CREATE TABLE genres (num INTEGER PRIMARY KEY, id TEXT UNIQUE NOT NULL, name TEXT NOT NULL);
CREATE TABLE titles (
    num INTEGER PRIMARY KEY, id TEXT UNIQUE NOT NULL, slug TEXT UNIQUE NOT NULL,
    name TEXT NOT NULL, kind TEXT NOT NULL, release_year INTEGER NOT NULL,
    runtime_minutes INTEGER NOT NULL, maturity_rating TEXT NOT NULL);
CREATE TABLE title_genres (
    title_num INTEGER NOT NULL, genre_num INTEGER NOT NULL, position INTEGER NOT NULL,
    PRIMARY KEY (genre_num, title_num));
CREATE TABLE members (
    num INTEGER PRIMARY KEY, id TEXT UNIQUE NOT NULL, name TEXT NOT NULL,
    maturity_level TEXT NOT NULL);
CREATE TABLE ratings (
    title_num INTEGER PRIMARY KEY, average REAL, count INTEGER NOT NULL);
CREATE TABLE reviews (
    num INTEGER PRIMARY KEY, id TEXT UNIQUE NOT NULL, title_num INTEGER NOT NULL,
    member_id TEXT NOT NULL, stars INTEGER NOT NULL, body TEXT NOT NULL,
    created_at TEXT NOT NULL);
CREATE TABLE mylist (
    member_num INTEGER NOT NULL, title_num INTEGER NOT NULL, position INTEGER NOT NULL,
    PRIMARY KEY (member_num, title_num));
CREATE TABLE continue_watching (
    member_num INTEGER NOT NULL, position INTEGER NOT NULL, title_id TEXT NOT NULL,
    title_name TEXT NOT NULL, position_seconds INTEGER NOT NULL,
    PRIMARY KEY (member_num, position));
"""

# Built after the bulk inserts, which is faster than maintaining them row by row.
_INDEXES = """
CREATE INDEX title_genres_by_title ON title_genres (title_num, position);
CREATE INDEX reviews_by_title ON reviews (title_num, created_at DESC, num DESC);
"""

_Title = tuple[int, str, str, str, str, int, int, str]


def generate(seed: int = 7, titles: int = 5000, members: int = 500) -> sqlite3.Connection:
    """Return a fresh in-memory database holding the demo data for `seed` and the given sizes.

    The same arguments always give the same data. The caller owns (and closes) the connection;
    writes to it are private to that connection.
    """
    conn = sqlite3.connect(":memory:", check_same_thread=False)
    conn.deserialize(snapshot(seed, titles, members))
    return conn


@functools.lru_cache(maxsize=8)
def snapshot(seed: int, titles: int, members: int) -> bytes:
    """The serialized database for these arguments, built once per process (bytes are immutable,
    so every app gets its own writable copy cheaply)."""
    if titles < 1 or members < 1:
        raise ValueError(f"need at least one title and one member, got {titles=} {members=}")
    rng = random.Random(seed)
    conn = sqlite3.connect(":memory:")
    try:
        conn.executescript(_SCHEMA)
        conn.executemany(
            "INSERT INTO genres VALUES (?, ?, ?)",
            [(n, f"g{n}", name) for n, name in enumerate(GENRES, start=1)],
        )
        title_rows = _titles(rng, titles)
        conn.executemany("INSERT INTO titles VALUES (?, ?, ?, ?, ?, ?, ?, ?)", title_rows)
        conn.executemany("INSERT INTO title_genres VALUES (?, ?, ?)", _title_genres(rng, titles))
        conn.executemany("INSERT INTO members VALUES (?, ?, ?, ?)", _members(rng, members))
        reviews = _reviews(rng, titles, members)
        conn.executemany("INSERT INTO reviews VALUES (?, ?, ?, ?, ?, ?, ?)", reviews)
        conn.executemany("INSERT INTO ratings VALUES (?, ?, ?)", _ratings(rng, titles, reviews))
        conn.executemany("INSERT INTO mylist VALUES (?, ?, ?)", _mylists(rng, members, titles))
        conn.executemany(
            "INSERT INTO continue_watching VALUES (?, ?, ?, ?, ?)",
            _continue_watching(rng, members, title_rows),
        )
        conn.executescript(_INDEXES)
        conn.commit()
        return conn.serialize()
    finally:
        conn.close()


def _slugify(name: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")


def _title_name(rng: random.Random) -> str:
    adjective, noun = rng.choice(_ADJECTIVES), rng.choice(_NOUNS)
    pattern = rng.randrange(4)
    if pattern == 0:
        return f"The {adjective} {noun}"
    if pattern == 1:
        return f"{adjective} {noun}"
    if pattern == 2:
        return f"{noun} of {rng.choice(_PLACES)}"
    return f"{adjective} {noun} {rng.randint(2, 4)}"


def _titles(rng: random.Random, count: int) -> list[_Title]:
    rows: list[_Title] = []
    for num in range(1, count + 1):
        name = _title_name(rng)
        is_movie = rng.random() < 0.6
        runtime = rng.randint(80, 180) if is_movie else rng.randint(20, 60)
        rows.append((
            num, f"t{num}", f"{_slugify(name)}-{num}", name, "MOVIE" if is_movie else "SHOW",
            rng.randint(1950, 2025), runtime, rng.choice(_MATURITY_RATINGS),
        ))  # fmt: skip
    return rows


def _title_genres(rng: random.Random, titles: int) -> list[tuple[int, int, int]]:
    rows: list[tuple[int, int, int]] = []
    for num in range(1, titles + 1):
        genres = sorted(rng.sample(range(1, len(GENRES) + 1), rng.randint(1, 3)))
        rows.extend((num, genre, position) for position, genre in enumerate(genres))
    return rows


def _members(rng: random.Random, count: int) -> list[tuple[int, str, str, str]]:
    return [
        (
            num,
            f"m{num}",
            f"{rng.choice(_FIRST_NAMES)} {rng.choice(_LAST_NAMES)}",
            rng.choices(_MATURITY_LEVELS, weights=(2, 2, 6))[0],
        )
        for num in range(1, count + 1)
    ]


def _reviews(
    rng: random.Random, titles: int, members: int
) -> list[tuple[int, str, int, str, int, str, str]]:
    rows: list[tuple[int, str, int, str, int, str, str]] = []
    # rng.random() is the one fast call on Random (randint costs ~5x); reviews are the bulk.
    draw = rng.random
    for title_num in range(1, titles + 1):
        for _ in range(int(draw() * 9)):
            num = len(rows) + 1
            created = _EPOCH + timedelta(days=int(draw() * _DAYS))
            opening = _OPENINGS[int(draw() * len(_OPENINGS))]
            closing = _CLOSINGS[int(draw() * len(_CLOSINGS))]
            rows.append((
                num, f"r{num}", title_num, f"m{int(draw() * members) + 1}", int(draw() * 5) + 1,
                f"{opening} {closing}", created.isoformat(),
            ))  # fmt: skip
    return rows


def _ratings(
    rng: random.Random, titles: int, reviews: list[tuple[int, str, int, str, int, str, str]]
) -> list[tuple[int, float | None, int]]:
    stars: dict[int, list[int]] = {}
    for review in reviews:
        stars.setdefault(review[2], []).append(review[4])
    rows: list[tuple[int, float | None, int]] = []
    for num in range(1, titles + 1):
        written = stars.get(num, [])
        # Most ratings come without a review; a few titles have no ratings at all.
        silent = 0 if rng.random() < 0.05 else rng.randint(1, 2000)
        count = len(written) + silent
        # The silent ratings cluster around a per-title quality, as real audiences do.
        quality = rng.uniform(1.5, 4.8)
        average = None
        if count:
            average = round(min(5.0, max(1.0, (sum(written) + silent * quality) / count)), 2)
        rows.append((num, average, count))
    return rows


def _mylists(rng: random.Random, members: int, titles: int) -> list[tuple[int, int, int]]:
    rows: list[tuple[int, int, int]] = []
    for member_num in range(1, members + 1):
        picks = rng.sample(range(1, titles + 1), min(titles, rng.randint(0, 20)))
        rows.extend((member_num, title, position) for position, title in enumerate(picks))
    return rows


def _continue_watching(
    rng: random.Random, members: int, titles: list[_Title]
) -> list[tuple[int, int, str, str, int]]:
    rows: list[tuple[int, int, str, str, int]] = []
    for member_num in range(1, members + 1):
        picks = rng.sample(titles, min(len(titles), rng.randint(0, 10)))
        for position, title in enumerate(picks):
            runtime_seconds = title[6] * 60
            rows.append((
                member_num, position, title[1], title[3], rng.randint(60, runtime_seconds - 60),
            ))  # fmt: skip
    return rows
