"""The registry's tests run on SQLite (a file in tmp_path) and on the PostgreSQL at
127.0.0.1:5432, each test in a database of its own that is dropped afterwards."""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import create_async_engine
from starlette.applications import Starlette

from registry.app import create_registry_app
from registry.db import connect, database_url, migrate
from registry.store import Store

#: the server the project's machines run (trust auth); EDGEGRAPH_TEST_POSTGRES overrides it
POSTGRES = os.environ.get("EDGEGRAPH_TEST_POSTGRES", "postgresql://postgres@127.0.0.1:5432/test")


async def _create_or_drop(statement: str) -> None:
    # CREATE and DROP DATABASE run outside a transaction: AUTOCOMMIT.
    engine = create_async_engine(database_url(POSTGRES), isolation_level="AUTOCOMMIT")
    try:
        async with engine.connect() as connection:
            await connection.execute(text(statement))
    except (OSError, DBAPIError) as error:
        pytest.fail(f"PostgreSQL at {POSTGRES} fails ({error}); the registry tests need it")
    finally:
        await engine.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
async def database(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[str]:
    """A fresh, empty database URL."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'registry.db'}"
        return
    name = f"edgegraph_registry_{uuid.uuid4().hex[:16]}"
    await _create_or_drop(f'CREATE DATABASE "{name}"')
    try:
        yield POSTGRES.rsplit("/", 1)[0] + f"/{name}"
    finally:
        await _create_or_drop(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
async def store(database: str) -> AsyncIterator[Store]:
    """A migrated store over `database`."""
    engine = connect(database)
    await migrate(engine)
    try:
        yield Store(engine)
    finally:
        await engine.dispose()


@dataclass
class Registry:
    """A registry app over `store`, reached in-process, with an admin token."""

    store: Store
    app: Starlette
    http: httpx.AsyncClient
    admin: str

    async def token(self, name: str, **grants: list[str]) -> str:
        return await self.store.create_token(
            name, subgraphs=grants.get("subgraphs", ()), clients=grants.get("clients", ())
        )


@pytest.fixture
async def registry(store: Store) -> AsyncIterator[Registry]:
    app = create_registry_app(store, migrate_at_start=False)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://registry") as http:
        yield Registry(store, app, http, await store.create_token("platform", admin=True))
