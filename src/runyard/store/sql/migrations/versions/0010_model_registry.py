"""Registered models (Azure ML's model registry): names, versions, their tags, properties and
files (whose bytes are blobs).

New tables only: nothing that exists changes, so a store at 0009 upgrades without rewriting a
table.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-10
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def _key_value_table(name: str) -> None:
    op.create_table(
        name,
        sa.Column("version_pk", sa.Integer(), nullable=False),
        sa.Column("key", sa.String(255), nullable=False),
        sa.Column("value", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("version_pk", "key", name=op.f(f"pk_{name}")),
        sa.ForeignKeyConstraint(
            ["version_pk"],
            ["model_versions.pk"],
            name=op.f(f"fk_{name}_version_pk_model_versions"),
        ),
    )
    op.create_index(op.f(f"ix_{name}_key_value"), name, ["key", "value"])


def upgrade() -> None:
    op.create_table(
        "registered_models",
        sa.Column("pk", sa.Integer(), autoincrement=True),
        sa.Column("name", sa.String(255), nullable=False),
        sa.Column("version_counter", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("created_time", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint("pk", name=op.f("pk_registered_models")),
        sa.UniqueConstraint("name", name=op.f("uq_registered_models_name")),
    )
    op.create_table(
        "model_versions",
        sa.Column("pk", sa.Integer(), autoincrement=True),
        sa.Column("model_pk", sa.Integer(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("created_time", sa.Float(), nullable=False),
        sa.Column("root", sa.String(1024), nullable=False),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("run_pk", sa.Integer(), nullable=True),
        sa.Column("request_id", sa.String(128), nullable=True),
        sa.PrimaryKeyConstraint("pk", name=op.f("pk_model_versions")),
        sa.ForeignKeyConstraint(
            ["model_pk"],
            ["registered_models.pk"],
            name=op.f("fk_model_versions_model_pk_registered_models"),
        ),
        sa.ForeignKeyConstraint(
            ["run_pk"], ["runs.pk"], name=op.f("fk_model_versions_run_pk_runs")
        ),
        sa.UniqueConstraint("model_pk", "version", name=op.f("uq_model_versions_model_pk_version")),
        sa.UniqueConstraint("request_id", name=op.f("uq_model_versions_request_id")),
    )
    op.create_index(op.f("ix_model_versions_run_pk"), "model_versions", ["run_pk"])
    _key_value_table("model_version_tags")
    _key_value_table("model_version_properties")
    op.create_table(
        "model_version_files",
        sa.Column("version_pk", sa.Integer(), nullable=False),
        sa.Column("path", sa.String(1024), nullable=False),
        sa.Column("digest", sa.String(64), nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("version_pk", "path", name=op.f("pk_model_version_files")),
        sa.ForeignKeyConstraint(
            ["version_pk"],
            ["model_versions.pk"],
            name=op.f("fk_model_version_files_version_pk_model_versions"),
        ),
    )
    op.create_index(op.f("ix_model_version_files_digest"), "model_version_files", ["digest"])


def downgrade() -> None:
    for name in ("model_version_files", "model_version_properties", "model_version_tags"):
        op.drop_table(name)
    op.drop_table("model_versions")
    op.drop_table("registered_models")
