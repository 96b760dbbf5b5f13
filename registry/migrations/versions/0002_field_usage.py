"""Field usage: how often each client's requests read each field, per day, as gateways report.

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-05
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "field_usage",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("client", sa.String(64), nullable=False),
        sa.Column("coordinate", sa.String(256), nullable=False),
        sa.Column("day", sa.Date, nullable=False),
        sa.Column("count", sa.Integer, nullable=False),
        sa.UniqueConstraint("client", "coordinate", "day", name="uq_field_usage_day"),
    )


def downgrade() -> None:
    op.drop_table("field_usage")
