"""Artifact uploads that die never wedge their path: who holds a pending upload, and since when.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-30
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("artifacts") as batch:
        batch.add_column(sa.Column("upload_id", sa.String(32), nullable=True))
        batch.add_column(sa.Column("writer", sa.Text(), nullable=True))
        batch.add_column(sa.Column("heartbeat_time", sa.Float(), nullable=True))
    op.create_index(op.f("ix_artifacts_complete"), "artifacts", ["complete"])


def downgrade() -> None:
    op.drop_index(op.f("ix_artifacts_complete"), table_name="artifacts")
    with op.batch_alter_table("artifacts") as batch:
        batch.drop_column("heartbeat_time")
        batch.drop_column("writer")
        batch.drop_column("upload_id")
