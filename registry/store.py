"""The registry's reads and writes over `registry.db`'s tables.

Every write that makes a new supergraph goes through `commit_supergraph`, which locks the one
`graph` row and checks that no other write landed since the caller composed: publishes of one
subgraph (or of two) from several replicas serialize, and none is lost.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
from collections.abc import AsyncIterator, Mapping, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import func, insert, select, update
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from .db import (
    audit,
    checks,
    field_usage,
    graph,
    operations,
    subgraph_versions,
    supergraphs,
    tokens,
)

__all__ = [
    "AuditEntry",
    "Conflict",
    "Operation",
    "Principal",
    "Snapshot",
    "Store",
    "SubgraphVersion",
    "SupergraphVersion",
    "TokenError",
    "hash_token",
]


class Conflict(Exception):
    """Another write made a supergraph since the caller's snapshot."""


class TokenError(Exception):
    """A token that is unknown or expired."""


@dataclass(frozen=True, slots=True)
class Principal:
    """Who a token belongs to, and what it may write."""

    name: str
    admin: bool
    subgraphs: frozenset[str]
    clients: frozenset[str]

    def may_publish(self, subgraph: str) -> bool:
        return self.admin or subgraph in self.subgraphs

    def may_register(self, client: str) -> bool:
        return self.admin or client in self.clients


@dataclass(frozen=True, slots=True)
class SubgraphVersion:
    subgraph: str
    version: int
    url: str
    sdl: str
    created_at: datetime
    created_by: str


@dataclass(frozen=True, slots=True)
class SupergraphVersion:
    version: int
    sdl: str
    api_sdl: str
    etag: str
    subgraphs: Mapping[str, int]
    created_at: datetime
    created_by: str


@dataclass(frozen=True, slots=True)
class Operation:
    """A device team's registered operation."""

    client: str
    client_version: str
    name: str
    hash: str
    body: str


@dataclass(frozen=True, slots=True)
class Snapshot:
    """What a publish composes against: the latest version of each subgraph."""

    graph_version: int
    latest: Mapping[str, SubgraphVersion]
    supergraph: SupergraphVersion | None


@dataclass(frozen=True, slots=True)
class AuditEntry:
    at: datetime
    actor: str
    action: str
    target: str
    reason: str | None
    detail: Any


def hash_token(token: str) -> str:
    """What is stored of a token: its SHA-256 (the token has 256 random bits, so no salt)."""
    return hashlib.sha256(token.encode()).hexdigest()


def _utc(value: datetime) -> datetime:
    # SQLite hands back naive datetimes; everything written here is UTC.
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


def _now() -> datetime:
    return datetime.now(UTC)


def _subgraph_version(row: Any) -> SubgraphVersion:
    return SubgraphVersion(
        subgraph=row.subgraph,
        version=row.version,
        url=row.url,
        sdl=row.sdl,
        created_at=_utc(row.created_at),
        created_by=row.created_by,
    )


def _supergraph_version(row: Any) -> SupergraphVersion:
    return SupergraphVersion(
        version=row.id,
        sdl=row.sdl,
        api_sdl=row.api_sdl,
        etag=row.etag,
        subgraphs=json.loads(row.subgraphs),
        created_at=_utc(row.created_at),
        created_by=row.created_by,
    )


class Store:
    """The registry's database, through one SQLAlchemy async engine."""

    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine

    @asynccontextmanager
    async def _write(self) -> AsyncIterator[AsyncConnection]:
        async with self.engine.connect() as connection:
            # `write` makes SQLite begin IMMEDIATE (see registry.db); PostgreSQL ignores it.
            await connection.execution_options(write=True)
            async with connection.begin():
                yield connection

    async def ping(self) -> None:
        async with self.engine.connect() as connection:
            await connection.execute(select(1))

    # -- tokens ------------------------------------------------------------------------------

    async def create_token(
        self,
        name: str,
        *,
        admin: bool = False,
        subgraphs: Sequence[str] = (),
        clients: Sequence[str] = (),
        expires_at: datetime | None = None,
    ) -> str:
        """A new token for team `name`; only its hash is stored, so print it now."""
        token = "egr_" + secrets.token_urlsafe(32)
        async with self._write() as connection:
            await connection.execute(
                insert(tokens).values(
                    name=name,
                    token_hash=hash_token(token),
                    admin=admin,
                    subgraphs=json.dumps(sorted(set(subgraphs))),
                    clients=json.dumps(sorted(set(clients))),
                    created_at=_now(),
                    expires_at=expires_at,
                )
            )
            await self._audit(
                connection,
                actor="registry token",
                action="token",
                target=name,
                reason=None,
                detail={"admin": admin, "subgraphs": sorted(subgraphs), "clients": sorted(clients)},
            )
        return token

    async def authenticate(self, token: str) -> Principal:
        """The token's principal; raises `TokenError` for an unknown or expired token."""
        digest = hash_token(token)
        async with self.engine.connect() as connection:
            row = (
                await connection.execute(select(tokens).where(tokens.c.token_hash == digest))
            ).first()
        # The lookup is by hash, so timing reveals nothing of the token; compare anyway.
        if row is None or not hmac.compare_digest(row.token_hash, digest):
            raise TokenError("unknown token")
        if row.expires_at is not None and _utc(row.expires_at) <= _now():
            raise TokenError(f"the token of {row.name!r} expired at {_utc(row.expires_at)}")
        return Principal(
            name=row.name,
            admin=row.admin,
            subgraphs=frozenset(json.loads(row.subgraphs)),
            clients=frozenset(json.loads(row.clients)),
        )

    # -- subgraphs and supergraphs -----------------------------------------------------------

    async def snapshot(self) -> Snapshot:
        async with self.engine.connect() as connection:
            version = (
                await connection.execute(select(graph.c.version).where(graph.c.id == 1))
            ).scalar_one()
            latest = (
                select(
                    subgraph_versions.c.subgraph,
                    func.max(subgraph_versions.c.version).label("version"),
                )
                .group_by(subgraph_versions.c.subgraph)
                .subquery()
            )
            rows = await connection.execute(
                select(subgraph_versions).join(
                    latest,
                    (subgraph_versions.c.subgraph == latest.c.subgraph)
                    & (subgraph_versions.c.version == latest.c.version),
                )
            )
            current = {row.subgraph: _subgraph_version(row) for row in rows}
            supergraph = await self._supergraph(connection, version) if version else None
        return Snapshot(graph_version=version, latest=current, supergraph=supergraph)

    async def commit_supergraph(
        self,
        *,
        expected: int,
        subgraph: str,
        url: str,
        sdl: str,
        supergraph_sdl: str,
        api_sdl: str,
        versions: Mapping[str, int],
        actor: str,
        action: str,
        reason: str | None,
        report: Any,
    ) -> tuple[int, int]:
        """Store a subgraph version and the supergraph composed with it, in one transaction.

        `expected` is the graph version the caller composed against; when another write has
        moved it, nothing is stored and `Conflict` is raised (the caller composes again).
        `versions` holds the other subgraphs' versions. Returns (subgraph version, supergraph
        version).
        """
        async with self._write() as connection:
            current = (
                await connection.execute(
                    select(graph.c.version).where(graph.c.id == 1).with_for_update()
                )
            ).scalar_one()
            if current != expected:
                raise Conflict(f"the graph moved from version {expected} to {current}")
            previous = (
                await connection.execute(
                    select(func.max(subgraph_versions.c.version)).where(
                        subgraph_versions.c.subgraph == subgraph
                    )
                )
            ).scalar_one()
            version = (previous or 0) + 1
            now = _now()
            await connection.execute(
                insert(subgraph_versions).values(
                    subgraph=subgraph,
                    version=version,
                    url=url,
                    sdl=sdl,
                    created_at=now,
                    created_by=actor,
                )
            )
            composed = {**versions, subgraph: version}
            supergraph_version = (
                await connection.execute(
                    insert(supergraphs)
                    .values(
                        sdl=supergraph_sdl,
                        api_sdl=api_sdl,
                        etag=hashlib.sha256(supergraph_sdl.encode()).hexdigest(),
                        subgraphs=json.dumps(composed, sort_keys=True),
                        created_at=now,
                        created_by=actor,
                    )
                    .returning(supergraphs.c.id)
                )
            ).scalar_one()
            await connection.execute(
                update(graph).where(graph.c.id == 1).values(version=supergraph_version)
            )
            await self._record_check(connection, subgraph, True, action, report, actor)
            await self._audit(
                connection,
                actor=actor,
                action=action,
                target=f"{subgraph}@{version}",
                reason=reason,
                detail={"supergraph": supergraph_version, "url": url, "check": report},
            )
        return version, supergraph_version

    async def versions(self, subgraph: str) -> list[SubgraphVersion]:
        async with self.engine.connect() as connection:
            rows = await connection.execute(
                select(subgraph_versions)
                .where(subgraph_versions.c.subgraph == subgraph)
                .order_by(subgraph_versions.c.version)
            )
            return [_subgraph_version(row) for row in rows]

    async def supergraph(self, version: int | None = None) -> SupergraphVersion | None:
        """A supergraph by version; without one, the one served now."""
        async with self.engine.connect() as connection:
            if version is None:
                version = (
                    await connection.execute(select(graph.c.version).where(graph.c.id == 1))
                ).scalar_one()
            return await self._supergraph(connection, version) if version else None

    async def supergraph_etag(self) -> tuple[int, str | None]:
        """The served supergraph's version and ETag, for a gateway's cheap poll."""
        async with self.engine.connect() as connection:
            row = (
                await connection.execute(
                    select(graph.c.version, supergraphs.c.etag)
                    .select_from(graph)
                    .outerjoin(supergraphs, supergraphs.c.id == graph.c.version)
                    .where(graph.c.id == 1)
                )
            ).one()
        return row.version, row.etag

    async def supergraph_versions(self) -> list[tuple[int, Mapping[str, int], datetime, str]]:
        async with self.engine.connect() as connection:
            rows = await connection.execute(
                select(
                    supergraphs.c.id,
                    supergraphs.c.subgraphs,
                    supergraphs.c.created_at,
                    supergraphs.c.created_by,
                ).order_by(supergraphs.c.id)
            )
            return [
                (row.id, json.loads(row.subgraphs), _utc(row.created_at), row.created_by)
                for row in rows
            ]

    async def _supergraph(
        self, connection: AsyncConnection, version: int
    ) -> SupergraphVersion | None:
        row = (
            await connection.execute(select(supergraphs).where(supergraphs.c.id == version))
        ).first()
        return _supergraph_version(row) if row is not None else None

    # -- operations --------------------------------------------------------------------------

    async def operations(self, client: str | None = None) -> list[Operation]:
        query = select(operations).order_by(operations.c.client, operations.c.name)
        if client is not None:
            query = query.where(operations.c.client == client)
        async with self.engine.connect() as connection:
            rows = await connection.execute(query)
            return [
                Operation(
                    client=row.client,
                    client_version=row.client_version,
                    name=row.name,
                    hash=row.hash,
                    body=row.body,
                )
                for row in rows
            ]

    async def add_operations(
        self, client: str, client_version: str, found: Sequence[tuple[str, str]], *, actor: str
    ) -> list[str]:
        """Store `(name, body)` operations of `client`; returns the names that were new (an
        operation already registered, by content hash, is kept once)."""
        added: list[str] = []
        async with self._write() as connection:
            for name, body in found:
                digest = hashlib.sha256(body.encode()).hexdigest()
                exists = (
                    await connection.execute(
                        select(operations.c.id).where(
                            (operations.c.client == client) & (operations.c.hash == digest)
                        )
                    )
                ).first()
                if exists is not None:
                    continue
                await connection.execute(
                    insert(operations).values(
                        client=client,
                        client_version=client_version,
                        name=name,
                        hash=digest,
                        body=body,
                        created_at=_now(),
                    )
                )
                added.append(name)
            await self._audit(
                connection,
                actor=actor,
                action="register",
                target=f"{client}@{client_version}",
                reason=None,
                detail={"added": added, "operations": [name for name, _ in found]},
            )
        return added

    # -- field usage -------------------------------------------------------------------------

    async def add_usage(self, counts: Mapping[str, Mapping[str, int]], *, day: date) -> None:
        """Add a gateway's report, client → coordinate → requests, to the day's counts."""
        rows = [
            {"client": client, "coordinate": coordinate, "day": day, "count": count}
            for client, fields in counts.items()
            for coordinate, count in fields.items()
            if count > 0
        ]
        if not rows:
            return
        dialect = self.engine.dialect.name
        upsert = (postgresql_insert if dialect == "postgresql" else sqlite_insert)(field_usage)
        # One statement per report: concurrent gateways add to one row instead of racing.
        statement = upsert.on_conflict_do_update(
            index_elements=["client", "coordinate", "day"],
            set_={"count": field_usage.c.count + upsert.excluded.count},
        )
        async with self._write() as connection:
            await connection.execute(statement, rows)

    async def usage_since(self, since: date) -> dict[str, dict[str, int]]:
        """coordinate → client → requests, from `since` on."""
        async with self.engine.connect() as connection:
            rows = await connection.execute(
                select(
                    field_usage.c.coordinate,
                    field_usage.c.client,
                    func.sum(field_usage.c.count).label("requests"),
                )
                .where(field_usage.c.day >= since)
                .group_by(field_usage.c.coordinate, field_usage.c.client)
            )
            used: dict[str, dict[str, int]] = {}
            for row in rows:
                used.setdefault(row.coordinate, {})[row.client] = int(row.requests)
            return used

    # -- checks and the audit log ------------------------------------------------------------

    async def record_check(
        self, subgraph: str, ok: bool, kind: str, report: Any, actor: str
    ) -> None:
        async with self._write() as connection:
            await self._record_check(connection, subgraph, ok, kind, report, actor)
            if kind != "check":  # a refused write is a write attempt: audited
                await self._audit(
                    connection,
                    actor=actor,
                    action=f"{kind}-refused",
                    target=subgraph,
                    reason=None,
                    detail={"check": report},
                )

    async def check_history(self, limit: int = 50) -> list[dict[str, Any]]:
        async with self.engine.connect() as connection:
            rows = await connection.execute(
                select(checks).order_by(checks.c.id.desc()).limit(limit)
            )
            return [
                {
                    "id": row.id,
                    "subgraph": row.subgraph,
                    "ok": row.ok,
                    "kind": row.kind,
                    "report": json.loads(row.report),
                    "at": _utc(row.created_at).isoformat(),
                    "by": row.created_by,
                }
                for row in rows
            ]

    async def audit_log(self, limit: int = 100) -> list[AuditEntry]:
        async with self.engine.connect() as connection:
            rows = await connection.execute(select(audit).order_by(audit.c.id.desc()).limit(limit))
            return [
                AuditEntry(
                    at=_utc(row.at),
                    actor=row.actor,
                    action=row.action,
                    target=row.target,
                    reason=row.reason,
                    detail=json.loads(row.detail),
                )
                for row in rows
            ]

    async def _record_check(
        self,
        connection: AsyncConnection,
        subgraph: str,
        ok: bool,
        kind: str,
        report: Any,
        actor: str,
    ) -> None:
        await connection.execute(
            insert(checks).values(
                subgraph=subgraph,
                ok=ok,
                kind=kind,
                report=json.dumps(report),
                created_at=_now(),
                created_by=actor,
            )
        )

    async def _audit(
        self,
        connection: AsyncConnection,
        *,
        actor: str,
        action: str,
        target: str,
        reason: str | None,
        detail: Any,
    ) -> None:
        await connection.execute(
            insert(audit).values(
                at=_now(),
                actor=actor,
                action=action,
                target=target,
                reason=reason,
                detail=json.dumps(detail),
            )
        )
