"""Soft-deleted runs: when a run was deleted (``Store.set_run_deleted``), NULL while it is not.

The indexes that listings and counts walk (by experiment and parent, parent, root, status)
end with ``deleted_time``, so that leaving deleted runs out is decided from the index alone:
a count stays an index-only scan, a page stays a walk in pk order.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

_INDEXES = (
    ("experiment_pk", "parent_pk", "pk"),
    ("parent_pk", "pk"),
    ("root_pk", "pk"),
    ("status", "pk"),
)
"""The columns of each index of ``runs`` before this revision; ``deleted_time`` is added."""


def _name(columns: tuple[str, ...]) -> str:
    return "ix_runs_" + "_".join(columns)


def upgrade() -> None:
    # Nullable, no default: added without rewriting the table; every run is not deleted.
    op.add_column("runs", sa.Column("deleted_time", sa.Float(), nullable=True))
    for columns in _INDEXES:
        op.drop_index(op.f(_name(columns)), table_name="runs")
        with_deleted = (*columns, "deleted_time")
        op.create_index(op.f(_name(with_deleted)), "runs", list(with_deleted))


def downgrade() -> None:
    for columns in _INDEXES:
        with_deleted = (*columns, "deleted_time")
        op.drop_index(op.f(_name(with_deleted)), table_name="runs")
        op.create_index(op.f(_name(columns)), "runs", list(columns))
    with op.batch_alter_table("runs") as batch:
        batch.drop_column("deleted_time")
