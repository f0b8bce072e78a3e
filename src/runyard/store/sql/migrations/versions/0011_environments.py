"""Registered environments (Azure ML's ``Environment.register``), versioned by name.

A new table only: nothing that exists changes.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-10
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "environments",
        sa.Column("pk", sa.Integer(), autoincrement=True),
        sa.Column("name", sa.String(255), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("definition", sa.Text(), nullable=False),
        sa.Column("created_time", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint("pk", name=op.f("pk_environments")),
        sa.UniqueConstraint("name", "version", name=op.f("uq_environments_name_version")),
    )


def downgrade() -> None:
    op.drop_table("environments")
