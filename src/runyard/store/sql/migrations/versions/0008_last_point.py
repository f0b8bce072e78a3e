"""The step and time of each metric series' last point, beside its last value: what MLflow's
``get_run`` and ``search_runs`` give with each metric's latest value.

Both columns are nullable and added without rewriting ``metric_series``, then filled in from
each series' last stored chunk (the one of the highest pk: chunks are appended in logging
order). Only the last 8 bytes of that chunk's packed times (and of its steps, when they are
packed int64) are read, so a store of long series upgrades as fast as one of short ones; steps
kept as JSON (some points had none) are read whole. The packings are those of
``runyard.store.codec`` (little-endian doubles, int64, compact JSON), decoded here so that this
revision keeps working whatever that module becomes.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-09
"""

from __future__ import annotations

import json
import struct
from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

_BATCH = 500
"""Series per round trip: bounds what one batch holds in memory (JSON steps are read whole)."""
_INT64 = (-(2**63), 2**63 - 1)


def _last_step(encoding: str | None, data: bytes | None) -> int | None:
    """The last step of a chunk: ``data`` is the last 8 bytes of packed int64, or the whole
    JSON list; None when the point had no step (or one no 64-bit column can hold)."""
    if encoding is None or data is None:
        return None
    if encoding == "i64":
        return int(struct.unpack("<q", data)[0]) if len(data) == 8 else None
    if encoding == "json":
        steps = json.loads(data)
        last = steps[-1] if isinstance(steps, list) and steps else None
        if type(last) is int and _INT64[0] <= last <= _INT64[1]:
            return last
    return None


def _last_time(data: bytes | None) -> float | None:
    return float(struct.unpack("<d", data)[0]) if data is not None and len(data) == 8 else None


def _tail(column: Any) -> Any:
    """The last 8 bytes of a blob column: ``substr`` and ``length`` count bytes of a BLOB on
    SQLite and of a ``bytea`` on PostgreSQL."""
    return sa.func.substr(column, sa.func.length(column) - 7, 8)


def _fill(conn: sa.Connection, series: Any, chunks: Any, pks: Sequence[int]) -> None:
    """Fill in ``last_step`` and ``last_time`` of the series ``pks``."""
    # max(pk) of one series: an index lookup on (series_pk, pk), on SQLite and PostgreSQL.
    last_chunk = (
        sa.select(sa.func.max(chunks.c.pk))
        .where(chunks.c.series_pk == series.c.pk)
        .scalar_subquery()
    )
    last_pks = [
        chunk_pk
        for (chunk_pk,) in conn.execute(
            sa.select(last_chunk).where(series.c.pk.in_(list(pks)))
        ).all()
        if chunk_pk is not None  # a series created without points has no chunk
    ]
    if not last_pks:
        return
    steps = sa.case(
        (chunks.c.steps_encoding == "json", chunks.c.steps_data),
        else_=_tail(chunks.c.steps_data),
    )
    rows = conn.execute(
        sa.select(
            chunks.c.series_pk, chunks.c.steps_encoding, steps, _tail(chunks.c.times_data)
        ).where(chunks.c.pk.in_(last_pks))
    ).all()
    conn.execute(
        series.update()
        .where(series.c.pk == sa.bindparam("b_pk"))
        .values(last_step=sa.bindparam("b_step"), last_time=sa.bindparam("b_time")),
        [
            {
                "b_pk": series_pk,
                "b_step": _last_step(encoding, None if data is None else bytes(data)),
                "b_time": _last_time(None if times is None else bytes(times)),
            }
            for series_pk, encoding, data, times in rows
        ],
    )


def upgrade() -> None:
    # Nullable, no default: added without rewriting the table.
    op.add_column("metric_series", sa.Column("last_step", sa.BigInteger(), nullable=True))
    op.add_column("metric_series", sa.Column("last_time", sa.Float(), nullable=True))
    series = sa.table(
        "metric_series",
        sa.column("pk", sa.Integer),
        sa.column("last_step", sa.BigInteger),
        sa.column("last_time", sa.Float),
    )
    chunks = sa.table(
        "metric_chunks",
        sa.column("pk", sa.Integer),
        sa.column("series_pk", sa.Integer),
        sa.column("steps_encoding", sa.String),
        sa.column("steps_data", sa.LargeBinary),
        sa.column("times_data", sa.LargeBinary),
    )
    conn = op.get_bind()
    after = 0
    while True:
        pks = list(
            conn.execute(
                sa.select(series.c.pk)
                .where(series.c.pk > after)
                .order_by(series.c.pk)
                .limit(_BATCH)
            ).scalars()
        )
        if not pks:
            return
        _fill(conn, series, chunks, pks)
        after = pks[-1]


def downgrade() -> None:
    with op.batch_alter_table("metric_series") as batch:
        batch.drop_column("last_time")
        batch.drop_column("last_step")
