"""Logged models (MLflow 3's), and what runs use and make: datasets and models.

New tables only: ``logged_models`` with their tags, params and metric values, ``run_inputs``
(the datasets a run used) and ``run_models`` (the models a run used or made). Nothing that
exists changes, so a store at 0006 upgrades without rewriting a table.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-08
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

MODEL_STATUSES = "'pending', 'ready', 'failed'"
ROLES = "'input', 'output'"


def _key_value_table(name: str) -> None:
    op.create_table(
        name,
        sa.Column("model_pk", sa.Integer(), nullable=False),
        sa.Column("key", sa.String(255), nullable=False),
        sa.Column("value", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("model_pk", "key", name=op.f(f"pk_{name}")),
        sa.ForeignKeyConstraint(
            ["model_pk"], ["logged_models.pk"], name=op.f(f"fk_{name}_model_pk_logged_models")
        ),
    )


def upgrade() -> None:
    op.create_table(
        "logged_models",
        sa.Column("pk", sa.Integer(), autoincrement=True),
        sa.Column("model_id", sa.String(64), nullable=False),
        sa.Column("run_pk", sa.Integer(), nullable=False),
        sa.Column("experiment_pk", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(500), nullable=False),
        sa.Column("model_type", sa.String(500), nullable=True),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("status_message", sa.Text(), nullable=True),
        sa.Column("created_time", sa.Float(), nullable=False),
        sa.Column("updated_time", sa.Float(), nullable=False),
        sa.Column("deleted_time", sa.Float(), nullable=True),
        sa.PrimaryKeyConstraint("pk", name=op.f("pk_logged_models")),
        sa.UniqueConstraint("model_id", name=op.f("uq_logged_models_model_id")),
        sa.ForeignKeyConstraint(["run_pk"], ["runs.pk"], name=op.f("fk_logged_models_run_pk_runs")),
        sa.ForeignKeyConstraint(
            ["experiment_pk"],
            ["experiments.pk"],
            name=op.f("fk_logged_models_experiment_pk_experiments"),
        ),
        sa.CheckConstraint(f"status IN ({MODEL_STATUSES})", name=op.f("ck_logged_models_status")),
    )
    op.create_index(
        op.f("ix_logged_models_experiment_pk_pk"), "logged_models", ["experiment_pk", "pk"]
    )
    op.create_index(op.f("ix_logged_models_run_pk_name"), "logged_models", ["run_pk", "name"])
    _key_value_table("logged_model_tags")
    _key_value_table("logged_model_params")
    op.create_table(
        "logged_model_metrics",
        sa.Column("pk", sa.Integer(), autoincrement=True),
        sa.Column("model_pk", sa.Integer(), nullable=False),
        sa.Column("key", sa.String(255), nullable=False),
        sa.Column("value", sa.Float(), nullable=True),
        sa.Column("time", sa.Float(), nullable=False),
        sa.Column("step", sa.BigInteger(), nullable=False),
        sa.Column("run_pk", sa.Integer(), nullable=True),
        sa.Column("dataset_name", sa.String(500), nullable=True),
        sa.Column("dataset_digest", sa.String(64), nullable=True),
        sa.PrimaryKeyConstraint("pk", name=op.f("pk_logged_model_metrics")),
        sa.ForeignKeyConstraint(
            ["model_pk"],
            ["logged_models.pk"],
            name=op.f("fk_logged_model_metrics_model_pk_logged_models"),
        ),
        sa.ForeignKeyConstraint(
            ["run_pk"], ["runs.pk"], name=op.f("fk_logged_model_metrics_run_pk_runs")
        ),
    )
    op.create_index(
        op.f("ix_logged_model_metrics_model_pk_key"), "logged_model_metrics", ["model_pk", "key"]
    )
    op.create_table(
        "run_inputs",
        sa.Column("pk", sa.Integer(), autoincrement=True),
        sa.Column("run_pk", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(500), nullable=False),
        sa.Column("digest", sa.String(64), nullable=False),
        sa.Column("source_type", sa.String(255), nullable=False),
        sa.Column("source", sa.Text(), nullable=False),
        sa.Column("schema", sa.Text(), nullable=True),
        sa.Column("profile", sa.Text(), nullable=True),
        sa.Column("tags_json", sa.Text(), nullable=False, server_default="{}"),
        sa.PrimaryKeyConstraint("pk", name=op.f("pk_run_inputs")),
        sa.ForeignKeyConstraint(["run_pk"], ["runs.pk"], name=op.f("fk_run_inputs_run_pk_runs")),
        sa.UniqueConstraint(
            "run_pk", "name", "digest", name=op.f("uq_run_inputs_run_pk_name_digest")
        ),
    )
    op.create_table(
        "run_models",
        sa.Column("run_pk", sa.Integer(), nullable=False),
        sa.Column("model_pk", sa.Integer(), nullable=False),
        sa.Column("role", sa.String(8), nullable=False),
        sa.Column("step", sa.BigInteger(), nullable=False, server_default="0"),
        sa.PrimaryKeyConstraint("run_pk", "model_pk", "role", name=op.f("pk_run_models")),
        sa.ForeignKeyConstraint(["run_pk"], ["runs.pk"], name=op.f("fk_run_models_run_pk_runs")),
        sa.ForeignKeyConstraint(
            ["model_pk"], ["logged_models.pk"], name=op.f("fk_run_models_model_pk_logged_models")
        ),
        sa.CheckConstraint(f"role IN ({ROLES})", name=op.f("ck_run_models_role")),
    )


def downgrade() -> None:
    for table in (
        "run_models",
        "run_inputs",
        "logged_model_metrics",
        "logged_model_params",
        "logged_model_tags",
        "logged_models",
    ):
        op.drop_table(table)
