"""The registry's tables, its database engine and its Alembic migrations.

One SQLAlchemy async engine serves both databases: `sqlite+aiosqlite` (a file, no setup) and
`postgresql+asyncpg` (a fleet of replicas over one database). `migrate` runs Alembic's
`upgrade head` at start, so a new registry version brings its schema changes with it.
"""

from __future__ import annotations

import asyncio
import re
import weakref
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from sqlalchemy import (
    Boolean,
    Column,
    Date,
    DateTime,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
    event,
    text,
)
from sqlalchemy.engine import Connection
from sqlalchemy.exc import ArgumentError, DBAPIError
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

__all__ = [
    "DatabaseError",
    "audit",
    "checks",
    "connect",
    "database_url",
    "field_usage",
    "graph",
    "metadata",
    "migrate",
    "operations",
    "subgraph_versions",
    "supergraphs",
    "tokens",
]

MIGRATIONS = Path(__file__).parent / "migrations"

metadata = MetaData()

#: One row (id 1): the version of the latest supergraph. Every write that makes a supergraph
#: locks it (FOR UPDATE on PostgreSQL, BEGIN IMMEDIATE on SQLite) and checks it did not move.
graph = Table(
    "graph",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("version", Integer, nullable=False),
)

tokens = Table(
    "tokens",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("name", String(64), nullable=False),
    Column("token_hash", String(64), nullable=False, unique=True),
    Column("admin", Boolean, nullable=False),
    Column("subgraphs", Text, nullable=False),  # a JSON list of names
    Column("clients", Text, nullable=False),  # a JSON list of names
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("expires_at", DateTime(timezone=True)),
)

subgraph_versions = Table(
    "subgraph_versions",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("subgraph", String(64), nullable=False),
    Column("version", Integer, nullable=False),
    Column("url", Text, nullable=False),
    Column("sdl", Text, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("created_by", String(64), nullable=False),
    UniqueConstraint("subgraph", "version", name="uq_subgraph_version"),
)

supergraphs = Table(
    "supergraphs",
    metadata,
    Column("id", Integer, primary_key=True),  # the supergraph version
    Column("sdl", Text, nullable=False),
    Column("api_sdl", Text, nullable=False),
    Column("etag", String(64), nullable=False),
    Column("subgraphs", Text, nullable=False),  # a JSON object: subgraph name → version
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("created_by", String(64), nullable=False),
)

operations = Table(
    "operations",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("client", String(64), nullable=False),
    Column("client_version", String(64), nullable=False),
    Column("name", String(128), nullable=False),
    Column("hash", String(64), nullable=False),
    Column("body", Text, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    UniqueConstraint("client", "hash", name="uq_operation_client_hash"),
)

checks = Table(
    "checks",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("subgraph", String(64), nullable=False),
    Column("ok", Boolean, nullable=False),
    Column("kind", String(16), nullable=False),  # check, publish, rollback
    Column("report", Text, nullable=False),  # JSON
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("created_by", String(64), nullable=False),
)

audit = Table(
    "audit",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("at", DateTime(timezone=True), nullable=False),
    Column("actor", String(64), nullable=False),
    Column("action", String(32), nullable=False),
    Column("target", String(128), nullable=False),
    Column("reason", Text),
    Column("detail", Text, nullable=False),  # JSON
)


#: How often each client's requests read each field (`Type.field`), per day (gateways report).
field_usage = Table(
    "field_usage",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("client", String(64), nullable=False),
    Column("coordinate", String(256), nullable=False),
    Column("day", Date, nullable=False),
    Column("count", Integer, nullable=False),
    UniqueConstraint("client", "coordinate", "day", name="uq_field_usage_day"),
)


class DatabaseError(Exception):
    """The database URL is wrong or the database cannot be reached: one line for the operator."""


def database_url(url: str) -> str:
    """`url` with its async driver: `sqlite:///x.db` → `sqlite+aiosqlite:///x.db`, and
    `postgresql://…` → `postgresql+asyncpg://…`."""
    scheme, sep, rest = url.partition("://")
    if not sep:
        raise DatabaseError(f"not a database URL: {url!r} (sqlite:///file.db or postgresql://…)")
    base = scheme.split("+")[0]
    if base == "sqlite":
        return f"sqlite+aiosqlite://{rest}"
    if base in ("postgresql", "postgres"):
        return f"postgresql+asyncpg://{rest}"
    raise DatabaseError(f"unsupported database {scheme!r}: use sqlite:/// or postgresql://")


def redact(url: str) -> str:
    """The URL without its password, for messages."""
    return re.sub(r"://([^:/@]+):[^@]*@", r"://\1:***@", url)


def connect(url: str) -> AsyncEngine:
    """An async engine for `url` (see `database_url`)."""
    full = database_url(url)
    # asyncpg waits 60 s for a host that drops packets; a registry should say so sooner.
    options: dict[str, Any] = (
        {"connect_args": {"timeout": 10}} if full.startswith("postgresql") else {}
    )
    try:
        engine = create_async_engine(full, **options)
    except ArgumentError as error:
        raise DatabaseError(f"bad database URL {redact(url)}: {error}") from error
    if engine.dialect.name == "sqlite":
        _sqlite_transactions(engine)
    return engine


def _sqlite_transactions(engine: AsyncEngine) -> None:
    # pysqlite's own transaction handling begins lazily, at the first write, so two publishes
    # could both read the graph version before either writes. SQLAlchemy's recipe: take over
    # BEGIN, and make a write transaction BEGIN IMMEDIATE, which takes SQLite's write lock at
    # once; the other writer waits for it (busy_timeout) and then reads the committed state.
    @event.listens_for(engine.sync_engine, "connect")
    def _connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")  # readers (gateways polling) never wait
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.close()

    @event.listens_for(engine.sync_engine, "begin")
    def _begin(connection: Connection) -> None:
        immediate = connection.get_execution_options().get("write", False)
        connection.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")


def _alembic_config(connection: Connection) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["connection"] = connection
    return config


def _upgrade(connection: Connection) -> None:
    if connection.dialect.name == "postgresql":
        # Replicas starting together: one migrates, the others wait and find nothing to do.
        connection.execute(text("SELECT pg_advisory_xact_lock(7316016)"))
    command.upgrade(_alembic_config(connection), "head")


_migrating: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, asyncio.Lock] = (
    weakref.WeakKeyDictionary()
)


async def migrate(engine: AsyncEngine) -> None:
    """Bring the database to the latest schema (Alembic `upgrade head`); raises
    `DatabaseError` with one clear line when the database cannot be reached."""
    # Alembic's command API keeps its context in module globals: two migrations in one process
    # (one per loop) must take turns. Across processes the database serializes them.
    lock = _migrating.setdefault(asyncio.get_running_loop(), asyncio.Lock())
    try:
        async with lock, engine.connect() as connection:
            # SQLite: BEGIN IMMEDIATE, so a second process waits and then finds it done.
            await connection.execution_options(write=True)
            async with connection.begin():
                await connection.run_sync(_upgrade)
    except (OSError, DBAPIError) as error:
        reason = getattr(error, "orig", None) or error
        raise DatabaseError(
            f"cannot reach the database {redact(str(engine.url))}: {reason}"
        ) from error
