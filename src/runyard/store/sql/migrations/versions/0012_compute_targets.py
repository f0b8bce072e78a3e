"""Compute targets attached to a workspace (``ws.attach_compute``): a name, a kind, a config.

A new table only: nothing that exists changes.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-11
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "compute_targets",
        sa.Column("name", sa.String(64), nullable=False),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("config", sa.Text(), nullable=False),
        sa.Column("created_time", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_compute_targets")),
    )


def downgrade() -> None:
    op.drop_table("compute_targets")
