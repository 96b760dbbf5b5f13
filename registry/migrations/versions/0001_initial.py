"""The registry's first schema: tokens, subgraph versions, supergraphs, operations, checks,
the audit log, and the one `graph` row that publishes lock.

Revision ID: 0001
Revises:
Create Date: 2026-12-05
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def _at(name: str, *, nullable: bool = False) -> sa.Column[object]:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def upgrade() -> None:
    graph = op.create_table(
        "graph",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("version", sa.Integer, nullable=False),
    )
    op.bulk_insert(graph, [{"id": 1, "version": 0}])
    op.create_table(
        "tokens",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("name", sa.String(64), nullable=False),
        sa.Column("token_hash", sa.String(64), nullable=False, unique=True),
        sa.Column("admin", sa.Boolean, nullable=False),
        sa.Column("subgraphs", sa.Text, nullable=False),
        sa.Column("clients", sa.Text, nullable=False),
        _at("created_at"),
        _at("expires_at", nullable=True),
    )
    op.create_table(
        "subgraph_versions",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("subgraph", sa.String(64), nullable=False),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("url", sa.Text, nullable=False),
        sa.Column("sdl", sa.Text, nullable=False),
        _at("created_at"),
        sa.Column("created_by", sa.String(64), nullable=False),
        sa.UniqueConstraint("subgraph", "version", name="uq_subgraph_version"),
    )
    op.create_table(
        "supergraphs",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("sdl", sa.Text, nullable=False),
        sa.Column("api_sdl", sa.Text, nullable=False),
        sa.Column("etag", sa.String(64), nullable=False),
        sa.Column("subgraphs", sa.Text, nullable=False),
        _at("created_at"),
        sa.Column("created_by", sa.String(64), nullable=False),
    )
    op.create_table(
        "operations",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("client", sa.String(64), nullable=False),
        sa.Column("client_version", sa.String(64), nullable=False),
        sa.Column("name", sa.String(128), nullable=False),
        sa.Column("hash", sa.String(64), nullable=False),
        sa.Column("body", sa.Text, nullable=False),
        _at("created_at"),
        sa.UniqueConstraint("client", "hash", name="uq_operation_client_hash"),
    )
    op.create_table(
        "checks",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("subgraph", sa.String(64), nullable=False),
        sa.Column("ok", sa.Boolean, nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("report", sa.Text, nullable=False),
        _at("created_at"),
        sa.Column("created_by", sa.String(64), nullable=False),
    )
    op.create_table(
        "audit",
        sa.Column("id", sa.Integer, primary_key=True),
        _at("at"),
        sa.Column("actor", sa.String(64), nullable=False),
        sa.Column("action", sa.String(32), nullable=False),
        sa.Column("target", sa.String(128), nullable=False),
        sa.Column("reason", sa.Text),
        sa.Column("detail", sa.Text, nullable=False),
    )


def downgrade() -> None:
    for table in ("audit", "checks", "operations", "supergraphs", "subgraph_versions", "tokens"):
        op.drop_table(table)
    op.drop_table("graph")
