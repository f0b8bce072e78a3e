"""Searching and sorting runs by metric: the last value as a number, and indexes on summaries.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-30
"""

from __future__ import annotations

import json
import math

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

_SUMMARIES = ("last_number", "min_value", "max_value")


def _number(text: str | None) -> float | None:
    if not text:
        return None
    value = json.loads(text)
    if type(value) not in (int, float) or (type(value) is float and math.isnan(value)):
        return None
    try:
        return float(value)
    except OverflowError:  # an int beyond a double's range (kept as JSON): no number, as
        return None  # ``store.sql.metrics`` writes it


def upgrade() -> None:
    with op.batch_alter_table("metric_series") as batch:
        batch.add_column(sa.Column("last_number", sa.Float(), nullable=True))
    series = sa.table(
        "metric_series",
        sa.column("pk", sa.Integer),
        sa.column("last_value_json", sa.Text),
        sa.column("last_number", sa.Float),
    )
    conn = op.get_bind()
    rows = conn.execute(sa.select(series.c.pk, series.c.last_value_json)).all()
    numbers = [
        {"b_pk": pk, "b_number": number}
        for pk, text in rows
        if (number := _number(text)) is not None
    ]
    if numbers:
        conn.execute(
            series.update()
            .where(series.c.pk == sa.bindparam("b_pk"))
            .values(last_number=sa.bindparam("b_number")),
            numbers,
        )
    for column in _SUMMARIES:
        op.create_index(
            op.f(f"ix_metric_series_name_{column}_run_pk"),
            "metric_series",
            ["name", column, "run_pk"],
        )


def downgrade() -> None:
    for column in _SUMMARIES:
        op.drop_index(op.f(f"ix_metric_series_name_{column}_run_pk"), table_name="metric_series")
    with op.batch_alter_table("metric_series") as batch:
        batch.drop_column("last_number")
