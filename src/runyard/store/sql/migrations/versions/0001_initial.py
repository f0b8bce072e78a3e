"""The initial schema: experiments, runs, tags, properties, metrics, artifacts, snapshots.

Revision ID: 0001
Revises:
Create Date: 2026-11-27
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

STATUSES = (
    "'NotStarted', 'Queued', 'Preparing', 'Provisioning', 'Starting', 'Running', "
    "'CancelRequested', 'Canceled', 'Finalizing', 'Completed', 'Failed', 'Unapproved', "
    "'NotResponding', 'Pausing', 'Paused'"
)
KINDS = (
    "'vector', 'table', 'image', 'confusion_matrix', 'accuracy_table', 'residuals', 'predictions'"
)
VALUE_TYPES = "'number', 'bool', 'string', 'none', 'row', 'artifact'"


def upgrade() -> None:
    op.create_table(
        "experiments",
        sa.Column("pk", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("experiment_id", sa.String(36), nullable=False),
        sa.Column("name", sa.String(255), nullable=False),
        sa.Column("created_time", sa.Float(), nullable=False),
        sa.Column("archived_time", sa.Float(), nullable=True),
        sa.Column("run_counter", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("tags_json", sa.Text(), nullable=False, server_default="{}"),
        sa.PrimaryKeyConstraint("pk", name="pk_experiments"),
        sa.UniqueConstraint("experiment_id", name="uq_experiments_experiment_id"),
        sa.UniqueConstraint("name", name="uq_experiments_name"),
    )
    op.create_table(
        "runs",
        sa.Column("pk", sa.Integer(), autoincrement=True),
        sa.Column("run_id", sa.String(256), nullable=False),
        sa.Column("experiment_pk", sa.Integer(), nullable=False),
        sa.Column("parent_pk", sa.Integer(), nullable=True),
        sa.Column("root_pk", sa.Integer(), nullable=True),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(32), nullable=False),
        sa.Column("run_type", sa.String(64), nullable=True),
        sa.Column("display_name", sa.String(256), nullable=True),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("target", sa.String(64), nullable=False),
        sa.Column("created_time", sa.Float(), nullable=False),
        sa.Column("start_time", sa.Float(), nullable=True),
        sa.Column("end_time", sa.Float(), nullable=True),
        sa.Column("heartbeat_time", sa.Float(), nullable=True),
        sa.Column("error_json", sa.Text(), nullable=True),
        sa.Column("run_definition_json", sa.Text(), nullable=True),
        sa.Column("submitted_by", sa.String(256), nullable=True),
        sa.PrimaryKeyConstraint("pk", name="pk_runs"),
        sa.UniqueConstraint("run_id", name="uq_runs_run_id"),
        sa.ForeignKeyConstraint(
            ["experiment_pk"], ["experiments.pk"], name="fk_runs_experiment_pk_experiments"
        ),
        sa.ForeignKeyConstraint(["parent_pk"], ["runs.pk"], name="fk_runs_parent_pk_runs"),
        # op.f marks a name as final: the naming convention of the target metadata would
        # otherwise prefix it again (ck_runs_ck_runs_status), unlike schema.py.
        sa.CheckConstraint(f"status IN ({STATUSES})", name=op.f("ck_runs_status")),
    )
    op.create_index(
        "ix_runs_experiment_pk_parent_pk_pk", "runs", ["experiment_pk", "parent_pk", "pk"]
    )
    op.create_index("ix_runs_parent_pk_pk", "runs", ["parent_pk", "pk"])
    op.create_index("ix_runs_root_pk_pk", "runs", ["root_pk", "pk"])
    op.create_index("ix_runs_status_pk", "runs", ["status", "pk"])
    for table, nullable in (("run_tags", True), ("run_properties", False)):
        op.create_table(
            table,
            sa.Column("run_pk", sa.Integer(), nullable=False),
            sa.Column("key", sa.String(255), nullable=False),
            sa.Column("value", sa.Text(), nullable=nullable),
            sa.PrimaryKeyConstraint("run_pk", "key", name=f"pk_{table}"),
            sa.ForeignKeyConstraint(["run_pk"], ["runs.pk"], name=f"fk_{table}_run_pk_runs"),
        )
        op.create_index(f"ix_{table}_key_value_run_pk", table, ["key", "value", "run_pk"])
    op.create_table(
        "metric_series",
        sa.Column("pk", sa.Integer(), autoincrement=True),
        sa.Column("run_pk", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(255), nullable=False),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("value_type", sa.String(16), nullable=False),
        sa.Column("description", sa.Text(), nullable=False, server_default=""),
        sa.Column("count", sa.BigInteger(), nullable=False, server_default="0"),
        sa.Column("last_value_json", sa.Text(), nullable=True),
        sa.Column("min_value", sa.Float(), nullable=True),
        sa.Column("max_value", sa.Float(), nullable=True),
        sa.Column("updated_time", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint("pk", name="pk_metric_series"),
        sa.ForeignKeyConstraint(["run_pk"], ["runs.pk"], name="fk_metric_series_run_pk_runs"),
        sa.UniqueConstraint("run_pk", "name", name="uq_metric_series_run_pk_name"),
        sa.CheckConstraint(f"kind IN ({KINDS})", name=op.f("ck_metric_series_kind")),
        sa.CheckConstraint(
            f"value_type IN ({VALUE_TYPES})", name=op.f("ck_metric_series_value_type")
        ),
    )
    op.create_table(
        "metric_chunks",
        sa.Column("pk", sa.Integer(), autoincrement=True),
        sa.Column("series_pk", sa.Integer(), nullable=False),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.Column("values_encoding", sa.String(8), nullable=False),
        sa.Column("values_data", sa.LargeBinary(), nullable=False),
        sa.Column("steps_encoding", sa.String(8), nullable=True),
        sa.Column("steps_data", sa.LargeBinary(), nullable=True),
        sa.Column("times_data", sa.LargeBinary(), nullable=False),
        sa.PrimaryKeyConstraint("pk", name="pk_metric_chunks"),
        sa.ForeignKeyConstraint(
            ["series_pk"], ["metric_series.pk"], name="fk_metric_chunks_series_pk_metric_series"
        ),
    )
    op.create_index("ix_metric_chunks_series_pk_pk", "metric_chunks", ["series_pk", "pk"])
    op.create_table(
        "artifacts",
        sa.Column("run_pk", sa.Integer(), nullable=False),
        sa.Column("path", sa.String(1024), nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("created_time", sa.Float(), nullable=False),
        sa.Column("complete", sa.Integer(), nullable=False, server_default="0"),
        sa.PrimaryKeyConstraint("run_pk", "path", name="pk_artifacts"),
        sa.ForeignKeyConstraint(["run_pk"], ["runs.pk"], name="fk_artifacts_run_pk_runs"),
    )
    op.create_table(
        "blobs",
        sa.Column("digest", sa.String(64), nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("created_time", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint("digest", name="pk_blobs"),
    )
    op.create_table(
        "snapshots",
        sa.Column("snapshot_id", sa.String(64), nullable=False),
        sa.Column("created_time", sa.Float(), nullable=False),
        sa.Column("manifest_json", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("snapshot_id", name="pk_snapshots"),
    )


def downgrade() -> None:
    for table in (
        "snapshots",
        "blobs",
        "artifacts",
        "metric_chunks",
        "metric_series",
        "run_properties",
        "run_tags",
        "runs",
        "experiments",
    ):
        op.drop_table(table)
