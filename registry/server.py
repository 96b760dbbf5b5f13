"""`edgegraph registry serve` and `edgegraph registry token`: the commands that open the
database themselves. Kept apart from `registry.cli` so that the client commands (and the
gateway, which registers them) never load SQLAlchemy."""

from __future__ import annotations

import argparse
import asyncio
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

import uvicorn

from .app import create_registry_app
from .db import DatabaseError, connect, migrate
from .service import RegistryError, check_name
from .store import Store

__all__ = ["create_token", "serve"]


async def _open(database: str) -> Store:
    """A migrated store; raises `DatabaseError` with one line when it cannot be had."""
    engine = connect(database)
    try:
        await migrate(engine)
    except BaseException:
        await engine.dispose()
        raise
    return Store(engine)


def _exit(error: Exception) -> SystemExit:
    return SystemExit(f"edgegraph registry: {error}")


async def _serve(args: argparse.Namespace) -> None:
    store = await _open(args.database)
    app = create_registry_app(
        store,
        max_body_bytes=args.max_body_bytes,
        migrate_at_start=False,
        usage_days=args.usage_days,
    )
    print(f"edgegraph registry on http://{args.host}:{args.port} ({args.database})", flush=True)
    config = uvicorn.Config(app, host=args.host, port=args.port, log_level="warning")
    await uvicorn.Server(config).serve()


def serve(args: argparse.Namespace) -> None:
    """Migrate the database, then serve; an unreachable database is one line, no traceback."""
    try:
        asyncio.run(_serve(args))
    except DatabaseError as error:
        raise _exit(error) from None


async def _create_token(
    database: str,
    name: str,
    *,
    admin: bool,
    subgraphs: Sequence[str],
    clients: Sequence[str],
    expires_days: float | None,
) -> str:
    store = await _open(database)
    try:
        expires = (
            datetime.now(UTC) + timedelta(days=expires_days) if expires_days is not None else None
        )
        return await store.create_token(
            name, admin=admin, subgraphs=subgraphs, clients=clients, expires_at=expires
        )
    finally:
        await store.engine.dispose()


def create_token(args: argparse.Namespace) -> None:
    """Print a new token for a team; only its hash is stored."""
    try:
        check_name("team", args.name)
        for subgraph in args.subgraph:
            check_name("subgraph", subgraph)
        for client in args.client:
            check_name("client", client)
        token = asyncio.run(
            _create_token(
                args.database,
                args.name,
                admin=args.admin,
                subgraphs=args.subgraph,
                clients=args.client,
                expires_days=args.expires_days,
            )
        )
    except RegistryError as error:
        raise _exit(ValueError(error.message)) from None
    except DatabaseError as error:
        raise _exit(error) from None
    print(token)
