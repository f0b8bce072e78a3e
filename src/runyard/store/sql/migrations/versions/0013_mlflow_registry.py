"""MLflow's registered models on runyard's registry: a model name's own description, update
time, tags and aliases.

Two nullable columns added to ``registered_models`` (nothing rewritten: the names there keep
no description and their creation time as update time) and two new tables.

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-11
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("registered_models", sa.Column("description", sa.Text(), nullable=True))
    op.add_column("registered_models", sa.Column("updated_time", sa.Float(), nullable=True))
    op.create_table(
        "registered_model_tags",
        sa.Column("model_pk", sa.Integer(), nullable=False),
        sa.Column("key", sa.String(255), nullable=False),
        sa.Column("value", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("model_pk", "key", name=op.f("pk_registered_model_tags")),
        sa.ForeignKeyConstraint(
            ["model_pk"],
            ["registered_models.pk"],
            name=op.f("fk_registered_model_tags_model_pk_registered_models"),
        ),
    )
    op.create_table(
        "registered_model_aliases",
        sa.Column("model_pk", sa.Integer(), nullable=False),
        sa.Column("alias", sa.String(255), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("model_pk", "alias", name=op.f("pk_registered_model_aliases")),
        sa.ForeignKeyConstraint(
            ["model_pk"],
            ["registered_models.pk"],
            name=op.f("fk_registered_model_aliases_model_pk_registered_models"),
        ),
    )


def downgrade() -> None:
    op.drop_table("registered_model_aliases")
    op.drop_table("registered_model_tags")
    with op.batch_alter_table("registered_models") as batch:
        batch.drop_column("updated_time")
        batch.drop_column("description")
