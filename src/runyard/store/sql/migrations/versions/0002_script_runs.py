"""Script runs: the status a stop request ends in, and the runs' streamed logs.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-27
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("runs") as batch:
        batch.add_column(sa.Column("stop_status", sa.String(32), nullable=True))
        batch.create_check_constraint(
            op.f("ck_runs_stop_status"), "stop_status IN ('Canceled', 'Failed')"
        )
    op.create_table(
        "run_logs",
        sa.Column("pk", sa.Integer(), autoincrement=True),
        sa.Column("run_pk", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(255), nullable=False),
        sa.Column("start", sa.BigInteger(), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("data", sa.LargeBinary(), nullable=False),
        sa.PrimaryKeyConstraint("pk", name=op.f("pk_run_logs")),
        sa.ForeignKeyConstraint(["run_pk"], ["runs.pk"], name=op.f("fk_run_logs_run_pk_runs")),
    )
    op.create_index(op.f("ix_run_logs_run_pk_name_start"), "run_logs", ["run_pk", "name", "start"])


def downgrade() -> None:
    op.drop_table("run_logs")
    with op.batch_alter_table("runs") as batch:
        batch.drop_constraint(op.f("ck_runs_stop_status"), type_="check")
        batch.drop_column("stop_status")
